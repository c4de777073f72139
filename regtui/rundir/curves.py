"""A run's per-epoch curves, kept as columns of numbers: bounded memory for long runs.

A run of 100,000 epochs keeps 100,000 floats per curve (about 10 MB in all), not 100,000
event objects with their extras; the latest Epoch event is kept whole. Views draw
`downsampled()` columns, so a plot costs the same whatever the run's length.
"""

from __future__ import annotations

import bisect
import math
from array import array
from typing import Any, Sequence

from regtui.events import Epoch

# The per-epoch numbers kept for every epoch (exports and plots read these).
FIELDS = ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "grad_norm", "seconds",
          "samples_per_s")
EXTRAS = ("weight_norm", "sparsity", "clipped")
COLUMNS = FIELDS + EXTRAS


def _number(value: Any) -> float:
    kind = type(value)
    return value if kind is float else float(value) if kind is int else math.nan


class Curves:
    """Columns of per-epoch numbers, in epoch order; NaN where an epoch had no value."""

    def __init__(self) -> None:
        self.epochs: array = array("q")
        self.columns: dict[str, array] = {key: array("d") for key in COLUMNS}
        self.last: Epoch | None = None  # the latest epoch, whole (extras and all)
        self._best_acc: int | None = None  # index of the highest val_acc (earliest of ties)
        self._lowest_loss: int | None = None  # index of the lowest val_loss

    def __len__(self) -> int:
        return len(self.epochs)

    def add(self, event: Epoch) -> None:
        """Append an epoch; one at or before the last replaces from there (a re-run)."""
        if self.epochs and event.epoch <= self.epochs[-1]:
            self.truncate(event.epoch - 1)
        self.epochs.append(event.epoch)
        extras = event.extras if isinstance(event.extras, dict) else {}
        columns = self.columns
        for key in FIELDS:
            columns[key].append(_number(getattr(event, key)))
        for key in EXTRAS:
            columns[key].append(_number(extras.get(key)))
        self.last = event
        self._track(len(self.epochs) - 1)

    def _track(self, index: int) -> None:
        acc, loss = self.columns["val_acc"][index], self.columns["val_loss"][index]
        best = self._best_acc
        if math.isfinite(acc) and (best is None or acc > self.columns["val_acc"][best]):
            self._best_acc = index
        lowest = self._lowest_loss
        if math.isfinite(loss) and (lowest is None or loss < self.columns["val_loss"][lowest]):
            self._lowest_loss = index

    def truncate(self, last_epoch: int) -> None:
        """Drop every epoch after `last_epoch` (a resume redoes them)."""
        keep = bisect.bisect_right(self.epochs, last_epoch)
        if keep == len(self.epochs):
            return
        del self.epochs[keep:]
        for column in self.columns.values():
            del column[keep:]
        self._best_acc = self._lowest_loss = None
        for index in range(keep):
            self._track(index)
        if self.last is not None and self.last.epoch > last_epoch:
            self.last = None  # its whole event is gone; rows() still has the numbers

    def row(self, index: int) -> dict[str, float]:
        """One epoch's numbers: {"epoch": n, "train_loss": ..., ...}."""
        return {"epoch": self.epochs[index],
                **{key: column[index] for key, column in self.columns.items()}}

    def best(self) -> dict[str, float] | None:
        """The epoch with the highest val accuracy (the earliest of ties)."""
        return None if self._best_acc is None else self.row(self._best_acc)

    def lowest_val_loss(self) -> dict[str, float] | None:
        return None if self._lowest_loss is None else self.row(self._lowest_loss)

    def tail(self, count: int) -> list[dict[str, float]]:
        """The last `count` epochs' rows, oldest first."""
        return [self.row(index) for index in range(max(len(self) - count, 0), len(self))]

    def downsampled(self, key: str, max_points: int = 600) -> tuple[list[float], list[float]]:
        """(epochs, values) of one curve with at most about `max_points` points: each
        bucket of epochs keeps its lowest and highest value, so spikes stay visible, and
        the first bucket's first and the last bucket's last point are kept, so the curve
        spans the run."""
        xs, ys = self.epochs, self.columns[key]
        if len(xs) <= max_points:
            return list(xs), list(ys)
        size = math.ceil(len(xs) / (max_points // 2))
        out_x: list[float] = []
        out_y: list[float] = []
        for start in range(0, len(xs), size):
            bucket = [(ys[i], i) for i in range(start, min(start + size, len(xs)))
                      if math.isfinite(ys[i])]
            if not bucket:
                continue
            keep = {min(bucket), max(bucket)}
            if start == 0 or start + size >= len(xs):
                keep |= {bucket[0], bucket[-1]}
            for value, index in sorted(keep, key=lambda pair: pair[1]):
                out_x.append(xs[index])
                out_y.append(value)
        return out_x, out_y


def series(curves: Curves, keys: Sequence[str], max_points: int = 600
           ) -> dict[str, tuple[list[float], list[float]]]:
    """{key: (epochs, values)} for a plot, each downsampled."""
    return {key: curves.downsampled(key, max_points) for key in keys}
