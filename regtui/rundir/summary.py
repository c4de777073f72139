"""The one fold of an event stream into a run's summary (summary.json), live or after the fact."""

from __future__ import annotations

import dataclasses
import math
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
            "dataset": config.data.dataset if started else None,
            "model": config.model.name if started else None,
            "device": started.env.get("device") if started else None,
            "params": started.model.get("params") if started else None,
            "status": finished.status if finished else "running",
            "reason": finished.reason if finished else "",
            "error": finished.error if finished else None,
            "epochs_completed": len(curves),
            "epochs_planned": config.train.epochs if started else None,
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
        }


def _alert_dict(alert: Alert) -> dict[str, Any]:
    return {f.name: getattr(alert, f.name) for f in dataclasses.fields(alert)}


def summarize(events: Iterable[Event]) -> dict[str, Any]:
    builder = SummaryBuilder()
    for event in events:
        builder.add(event)
    return builder.to_dict()
