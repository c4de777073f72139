"""Gathering an epoch's metrics from the log calls that carry them, and knowing when it is done.

Scripts log an epoch's numbers in one call or in several (train metrics after the training
loop, val metrics after validation; Lightning logs each hook's metrics apart). An epoch is
written once it is complete:

1. at once, when it holds every field that any earlier epoch held (from the second epoch
   on, a script that logs train and val separately is written after its val call);
2. when the script moves on: a log for another epoch, or a step of the next epoch;
3. when the run ends.

Metrics that arrive for an epoch already written (rule 2 fired early) update it: the
epoch is written again, merged. Readers treat an epoch event at or before the latest one
as a re-run that replaces it and drops the epochs after it, so an update of an older
epoch is followed by the epochs after it, written again as they were.
Torch-free and clock-free: callers pass the time.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Record:
    """One epoch as gathered so far."""
    epoch: int
    first_t: float  # when its first metrics arrived (time.monotonic)
    values: dict[str, float] = field(default_factory=dict)  # Epoch field -> value
    extras: dict[str, float] = field(default_factory=dict)  # the script's other keys
    seconds: float = 0.0  # since the epoch before it began (or the run did)

    def merge(self, values: dict[str, float], extras: dict[str, float]) -> None:
        self.values.update(values)
        self.extras.update(extras)


@dataclass(frozen=True)
class Ready:
    """An epoch to write: `update` when it was written before and now holds more."""
    record: Record
    update: bool = False


class EpochGatherer:
    def __init__(self, started: float) -> None:
        self.pending: Record | None = None
        self.done: dict[int, Record] = {}
        self.latest: int | None = None  # the epoch written last
        self.fields_seen: set[str] = set()  # fields of the epochs written so far
        self._last_first_t = started

    def current_epoch(self) -> int:
        """The epoch a step belongs to when the script does not say: the one after the
        last epoch logged (1 before any)."""
        if self.pending is not None:
            return self.pending.epoch + 1
        return (self.latest if self.latest is not None else 0) + 1

    def add(self, epoch: int, values: dict[str, float], extras: dict[str, float],
            now: float) -> list[Ready]:
        """Metrics for `epoch`; returns the epochs now ready to write, oldest first."""
        ready: list[Ready] = []
        if self.pending is not None and self.pending.epoch != epoch:
            ready.append(self._close_pending())
        if self.pending is None and epoch in self.done:
            record = self.done[epoch]
            record.merge(values, extras)
            self.fields_seen |= set(values)
            later = [self.done[n] for n in sorted(self.done) if n > epoch]
            return ready + [Ready(record, update=True)] + [Ready(r, update=True) for r in later]
        if self.pending is None:
            self.pending = Record(epoch, now, seconds=max(now - self._last_first_t, 0.0))
            self._last_first_t = now
        self.pending.merge(values, extras)
        if self.fields_seen and self.fields_seen <= set(self.pending.values):
            ready.append(self._close_pending())
        return ready

    def step(self, epoch: int | None) -> list[Ready]:
        """A step was logged (in `epoch`, or the next one when None): an epoch still being
        gathered is done if the step is past it."""
        if self.pending is None or (epoch is not None and epoch == self.pending.epoch):
            return []
        return [self._close_pending()]

    def close(self) -> list[Ready]:
        return [self._close_pending()] if self.pending is not None else []

    def _close_pending(self) -> Ready:
        record, self.pending = self.pending, None
        assert record is not None
        self.done[record.epoch] = record
        self.latest = record.epoch
        self.fields_seen |= set(record.values)
        return Ready(record)
