"""A scripted event source: a realistic run with fixed times, for TUI tests and snapshots."""

from __future__ import annotations

import base64
import math

from regtui.events import Alert, Epoch, Event, RunFinished, RunStarted, Step
from regtui.sources import ReplaySource

T0 = 1_800_000_000.0


def _digit_pixels(value: int) -> str:
    """An 8x8 image with a bright diagonal stripe, distinct per class."""
    pixels = bytes((255 if (row + col + value) % 8 == 0 else 20) for row in range(8)
                   for col in range(8))
    return base64.b64encode(pixels).decode()


def scripted_run(epochs: int = 12, planned: int = 20, finished: bool = False) -> list[Event]:
    events: list[Event] = [RunStarted(
        t=T0, run_id="20260101-120000-dropout-beef", presets=["dropout"],
        config={"data": {"dataset": "digits"}, "model": {"name": "mlp"},
                "train": {"epochs": planned}},
        env={"device": "cpu", "device_name": "x86_64", "torch": "2.x"},
        model={"params": 50826, "trainable": 50826, "layers": []},
        data={"name": "digits", "shape": [1, 8, 8], "train": 200, "val": 288, "test": 359,
              "steps_per_epoch": 4, "warnings": []})]
    for n in range(1, epochs + 1):
        train_loss = 2.2 * math.exp(-n / 3) + 0.01
        val_loss = 0.5 + 0.3 * math.exp(-n / 2) + (0.03 * (n - 6) if n > 6 else 0)
        events.append(Step(t=T0 + n, epoch=n, step=4 * n, loss=train_loss, lr=1e-3,
                           grad_norm=0.5))
        events.append(Epoch(t=T0 + n, epoch=n, train_loss=train_loss,
                            train_acc=min(0.5 + 0.05 * n, 1.0), val_loss=val_loss,
                            val_acc=min(0.5 + 0.035 * n, 0.88), lr=1e-3, grad_norm=0.5,
                            seconds=0.5, samples_per_s=4000.0,
                            extras={"weight_norm": 12.0 + n, "sparsity": 0.01,
                                    "layer_grad_norms": {"1.weight": 0.2, "3.weight": 0.4}}))
        if n == 9:
            events.append(Alert(t=T0 + n, epoch=9, kind="overfitting", level="warning",
                                onset_epoch=7, suggest=["l2", "augment-light"],
                                message="overfitting since epoch 7: val loss 0.590 is 15% above "
                                        "its best 0.513 at epoch 6 while train loss fell 62%"))
    if finished:
        matrix = [[30 if i == j else (2 if j == (i + 1) % 10 else 0) for j in range(10)]
                  for i in range(10)]
        events.append(RunFinished(
            t=T0 + epochs + 1, status="completed", best_epoch=6, best_val_acc=0.71,
            test_acc=0.9375, test_loss=0.31, confusion_matrix=matrix,
            classes=[str(i) for i in range(10)],
            samples={"shape": [1, 8, 8], "pixels": [_digit_pixels(i) for i in range(6)],
                     "labels": list(range(6)), "predictions": [0, 1, 2, 4, 4, 5]}))
    return events


class ScriptedSource(ReplaySource):
    """A replay that a test can push more events into, as a live run would deliver them."""

    kind = "live"

    def push(self, event: Event) -> None:
        self._pending.append(event)

    def writer_gone(self) -> bool:
        return False  # it stands for a live run: never "interrupted"
