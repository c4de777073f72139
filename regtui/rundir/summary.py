"""The one fold of an event stream into a run's summary (summary.json), live or after the fact."""

from __future__ import annotations

import dataclasses
from typing import Any, Iterable

from regtui.config import RunConfig, from_recorded
from regtui.diagnose import verdict_from
from regtui.events import Alert, Epoch, Event, RunFinished, RunStarted, System
from regtui.rundir.curves import FIELDS as CURVE_KEYS
from regtui.rundir.curves import Curves


class SummaryBuilder:
    """Keeps what the summary needs; add() events in stream order, then to_dict()."""

    def __init__(self) -> None:
        self.started: RunStarted | None = None
        self.first_t: float | None = None
        self.curves = Curves()  # every epoch's numbers; the latest Epoch whole
        self.alerts: list[Alert] = []
        self.finished: RunFinished | None = None
        self.config: RunConfig = from_recorded({})  # typed, from the latest run_started
        # Lines of events.jsonl that were not readable events (wrong types, not JSON): a
        # reader skips them and says how many there were.
        self.unreadable_lines = 0
        self.peak_gpu_mem: int | None = None  # bytes: the highest torch peak of any sample

    def add(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self._start(event)
        elif isinstance(event, Epoch):
            self.curves.add(event)  # a re-run epoch after resume replaces the old
        elif isinstance(event, Alert):
            self.alerts.append(event)
        elif isinstance(event, RunFinished):
            self.finished = event
        elif isinstance(event, System):
            peak = event.torch_peak_allocated
            if isinstance(peak, int) and peak > (self.peak_gpu_mem or 0):
                self.peak_gpu_mem = peak

    def _start(self, event: RunStarted) -> None:
        if self.first_t is None:
            self.first_t = event.t
        self.started = event
        self.config = from_recorded(event.config)
        self.finished = None
        # Whatever was written after the checkpoint the resume starts from is redone.
        self.curves.truncate(event.resumed_from)
        self.alerts = [a for a in self.alerts if a.epoch <= event.resumed_from]

    def planned_epochs(self) -> int | None:
        """The epochs the run means to train; None when unknown (an API run that did not
        say how many)."""
        started = self.started
        if started is None:
            return None
        if started.source == "trainer":
            return self.config.train.epochs
        planned = (started.config.get("train") or {}).get("epochs")
        return planned if isinstance(planned, int) and not isinstance(planned, bool) else None

    def _described(self, what: str) -> str | None:
        """The dataset or model name: from the config for regtui's own runs; an API run has
        only the names its script gave (run_started's data.name / model.name)."""
        started = self.started
        if started is None:
            return None
        if started.source == "trainer":
            return self.config.data.dataset if what == "dataset" else self.config.model.name
        name = (started.data if what == "dataset" else started.model).get("name")
        return str(name) if name else None

    @property
    def last_epoch(self) -> Epoch | None:
        """The latest epoch event, whole (with its extras)."""
        return self.curves.last

    def to_dict(self) -> dict[str, Any]:
        started, finished, curves = self.started, self.finished, self.curves
        config = self.config
        best = curves.best()
        last = curves.row(len(curves) - 1) if len(curves) else None
        lowest = curves.lowest_val_loss()
        return {
            "run_id": started.run_id if started else "",
            "presets": list(started.presets) if started else [],
            "source": started.source if started else None,
            "dataset": self._described("dataset"),
            "model": self._described("model"),
            "device": started.env.get("device") if started else None,
            "params": started.model.get("params") if started else None,
            "status": finished.status if finished else "running",
            "reason": finished.reason if finished else "",
            "error": finished.error if finished else None,
            "epochs_completed": len(curves),
            "epochs_planned": self.planned_epochs(),
            "best_epoch": best["epoch"] if best else None,
            "best_val_acc": best["val_acc"] if best else None,
            "best_val_loss": best["val_loss"] if best else None,
            "test_acc": finished.test_acc if finished else None,
            "test_loss": finished.test_loss if finished else None,
            "train_seconds": round(sum(curves.columns["seconds"]), 3),
            "peak_gpu_mem": self.peak_gpu_mem,
            "final": {"epoch": last["epoch"], **{k: last[k] for k in CURVE_KEYS}} if last else None,
            "final_gap": (last["train_acc"] - last["val_acc"]) if last else None,
            "confusion_matrix": finished.confusion_matrix if finished else None,
            "classes": finished.classes if finished else [],
            "alerts": [_alert_dict(a) for a in self.alerts],
            "diagnosis": verdict_from(last, lowest, self.alerts,
                                      finished.status if finished else "running", config.alerts),
            "started": self.first_t,
            "finished": finished.t if finished else None,
            "unreadable_lines": self.unreadable_lines,
        }


def _alert_dict(alert: Alert) -> dict[str, Any]:
    return {f.name: getattr(alert, f.name) for f in dataclasses.fields(alert)}


def summarize(events: Iterable[Event]) -> dict[str, Any]:
    builder = SummaryBuilder()
    for event in events:
        builder.add(event)
    return builder.to_dict()
