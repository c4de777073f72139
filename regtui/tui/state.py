"""What the monitor shows, folded from events: the same for a live run and a replay."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Collection

from regtui.events import (Alert, Epoch, Event, Notification, RunFinished, RunStarted, Step,
                           System)
from regtui.rundir.curves import Curves
from regtui.rundir.summary import SummaryBuilder

SYSTEM_HISTORY = 120  # system readings kept for the sparklines (10 minutes at 5 s)


# The alerts behind each diagnosis (diagnose.verdict): `n` suggests what they suggest.
DIAGNOSIS_ALERTS = {"overfitting": ("overfitting",), "underfitting": ("underfitting",),
                    "diverged": ("divergence",),
                    "unstable_gradients": ("exploding_gradients", "vanishing_gradients")}
# Presets that only stand for "no remedy": a remedy replaces them.
REFERENCE_PRESETS = ("baseline",)


@dataclass
class RunState:
    """Mutable fold of the event stream; widgets read it on the UI thread."""

    summary: SummaryBuilder = field(default_factory=SummaryBuilder)
    last_step: Step | None = None
    system: System | None = None  # the latest reading of the machine
    system_history: deque[System] = field(
        default_factory=lambda: deque(maxlen=SYSTEM_HISTORY))
    notification: Notification | None = None  # the latest notification's outcome
    version: int = 0  # bumped on every event, so a redraw timer knows what is new
    curves_version: int = 0  # bumped by epochs, alerts, ...: plots need rebuilding
    system_version: int = 0  # bumped by system and notification events

    def add(self, event: Event) -> None:
        self.summary.add(event)
        if isinstance(event, Step):
            self.last_step = event
        elif isinstance(event, System):
            self.system = event
            self.system_history.append(event)
            self.system_version += 1
        elif isinstance(event, Notification):
            self.notification = event
            self.system_version += 1
        else:
            self.curves_version += 1
        self.version += 1

    @property
    def started(self) -> RunStarted | None:
        return self.summary.started

    @property
    def finished(self) -> RunFinished | None:
        return self.summary.finished

    @property
    def epochs(self) -> Curves:
        """Every epoch's numbers, as columns (len() is the number of epochs)."""
        return self.summary.curves

    @property
    def last_epoch(self) -> Epoch | None:
        return self.summary.last_epoch

    @property
    def alerts(self) -> list[Alert]:
        return self.summary.alerts

    @property
    def planned_epochs(self) -> int:
        return self.summary.planned_epochs() or 0

    def eta_seconds(self) -> float | None:
        """Mean epoch time so far times the epochs left."""
        curves = self.epochs
        if not len(curves) or self.finished or not self.planned_epochs:
            return None
        mean = sum(curves.columns["seconds"]) / len(curves)
        return mean * max(self.planned_epochs - curves.epochs[-1], 0)

    def epoch_fraction(self) -> float:
        """Finished epochs plus the share of the current one done, from the last step."""
        done = self.epochs.epochs[-1] if len(self.epochs) else 0
        step, started = self.last_step, self.started
        per_epoch = started.data.get("steps_per_epoch", 0) if started else 0
        if step and per_epoch and step.epoch > done:
            done += min((step.step - 1) % per_epoch + 1, per_epoch) / per_epoch
        return done

    def diagnosis(self) -> dict[str, Any] | None:
        """The run's diagnosis so far (verdict, kind and the numbers behind it)."""
        return self.summary.to_dict()["diagnosis"] if self.started else None

    def suggestion(self, known: Collection[str]) -> str | None:
        """The first preset, not yet in use, that the alerts behind the diagnosis suggest
        (none for a good fit: a plateau's advice does not cure overfitting)."""
        diagnosis = self.diagnosis()
        kinds = DIAGNOSIS_ALERTS.get(diagnosis["kind"], ()) if diagnosis else ()
        in_use = set(self.started.presets) if self.started else set()
        for alert in reversed(self.alerts):
            if alert.kind in kinds:
                for name in alert.suggest:
                    if name in known and name not in in_use:
                        return name
        return None

    def presets_to_try(self, known: Collection[str]) -> list[str]:
        """This run's presets with the suggested remedy, which replaces `baseline`."""
        presets = list(self.started.presets) if self.started else []
        remedy = self.suggestion(known)
        if remedy is None:
            return presets
        return [name for name in presets if name not in REFERENCE_PRESETS] + [remedy]
