"""EventSource: the one seam between a run and whatever shows it.

Every view (the TUI's monitor, the headless console) reads a run through one source, the
way a profiler's TUI reads one injected reader. A source is:

- live:   this process trains the run (LiveSource; the trainer runs in `run()`);
- replay: a finished run from disk, or a list of events (ReplaySource);
- follow: a run another process is writing, read as it grows (FollowSource);

and next: a run written through the Python API, a torchrun job (both are `follow`
sources of their run directory). Pollers call `poll()` on a timer and get the events
that arrived since the last call, in order; the live source also delivers synchronously
to subscribers (the console), on the training thread. Sources are torch- and
textual-free.
"""

from __future__ import annotations

import threading
from collections import deque
from pathlib import Path
from typing import Callable, Protocol, Sequence, runtime_checkable

from regtui.control import Control
from regtui.events import Event, RunFinished, RunStarted, Step
from regtui.rundir import EVENTS_NAME, EventFollower, is_alive


@runtime_checkable
class EventSource(Protocol):
    """What a view reads a run from."""

    kind: str  # "live", "replay" or "follow"

    @property
    def run_dir(self) -> Path | None:
        """Where the run is kept (None until a live run has created its directory)."""

    @property
    def control(self) -> Control | None:
        """Pause and stop for the run, when this source can act on it (live only)."""

    def poll(self) -> list[Event]:
        """The events that arrived since the last call, oldest first."""

    def failure(self) -> tuple[str, bool] | None:
        """(message, bad_input) when the run could not start or crashed outside the
        trainer's own handling; None otherwise."""

    def writer_gone(self) -> bool:
        """True when the run has no writer left although it never finished."""

    def pending(self) -> bool:
        """More events are waiting than the last poll handed over (poll again soon)."""

    def close(self) -> None:
        """The view is done with the run: stop any reading."""


class _WatchingSource:
    """What the sources that only read a run share: no control, no failure of their own."""

    _run_dir: Path | None = None

    @property
    def run_dir(self) -> Path | None:
        return self._run_dir

    @property
    def control(self) -> Control | None:
        return None  # pause and stop belong to the process that trains the run

    def failure(self) -> tuple[str, bool] | None:
        return None

    def close(self) -> None:
        pass


class ReplaySource(_WatchingSource):
    """A run that will not change, from a list of events: all of them at the first poll."""

    kind = "replay"

    def __init__(self, events: Sequence[Event], run_dir: Path | None = None,
                 failure: str | None = None) -> None:
        self._pending: list[Event] = list(events)
        self._run_dir = run_dir
        self._failure = failure
        self._started = any(isinstance(e, RunStarted) for e in events)
        self._finished = any(isinstance(e, RunFinished) for e in events)

    @classmethod
    def from_dir(cls, run_dir: Path) -> DiskSource:
        """A finished run on disk, read a chunk per poll (see DiskSource)."""
        return DiskSource(run_dir, follow=False)

    def poll(self) -> list[Event]:
        events, self._pending = self._pending, []
        return events

    def failure(self) -> tuple[str, bool] | None:
        return (self._failure, True) if self._failure else None

    def writer_gone(self) -> bool:
        """A replayed run that started and never finished was interrupted."""
        return self._started and not self._finished

    def pending(self) -> bool:
        return bool(self._pending)


class DiskSource(_WatchingSource):
    """A run directory read as its events.jsonl grows (never written to).

    follow=True: another process is writing it (`watch`); follow=False: a replay of a
    run whose writer is gone. A reader thread parses the file (only the latest of each
    chunk's step events, see rundir.follow), so the UI thread never waits on the disk;
    each poll hands over at most `batch` events, so folding them stays a few tens of
    milliseconds however long the run. `regtui bench -w S100k` times a long run."""

    def __init__(self, run_dir: Path, follow: bool = True, batch: int = 5_000,
                 interval: float = 0.25) -> None:
        self.kind = "follow" if follow else "replay"
        self._run_dir = run_dir
        self._follower = EventFollower(run_dir / EVENTS_NAME, all_steps=False)
        self._batch = batch
        self._interval = interval
        self._queue: deque[Event] = deque()
        self._started = self._finished = False
        self._read_all = threading.Event()  # the reader reached the end (of a replay)
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True,
                                        name=f"regtui-read-{run_dir.name}")
        self._thread.start()

    def _read(self) -> None:
        while not self._closed.is_set():
            if len(self._queue) > 2 * self._batch:  # the view is behind: memory stays bounded
                self._closed.wait(0.02)
                continue
            events = self._follower.poll()
            self._queue.extend(events)  # deque appends are atomic: no lock needed
            self._started |= any(isinstance(e, RunStarted) for e in events)
            self._finished |= any(isinstance(e, RunFinished) for e in events)
            if self._follower.at_end and (self.kind == "replay" or self._finished):
                break
            if self._follower.at_end:
                self._closed.wait(self._interval)
        self._read_all.set()

    def poll(self) -> list[Event]:
        queue = self._queue
        return [queue.popleft() for _ in range(min(len(queue), self._batch))]

    def pending(self) -> bool:
        """More events are waiting than the last poll handed over."""
        return bool(self._queue)

    def wait_until_read(self, timeout: float | None = None) -> bool:
        """For tests and scripts: block until the reader has read what it will."""
        return self._read_all.wait(timeout)

    def close(self) -> None:
        """Stop the reader thread (a view that no longer shows the run)."""
        self._closed.set()

    def failure(self) -> tuple[str, bool] | None:
        error = self._follower.error
        return (f"cannot read {self._follower.path}: {error}", True) if error else None

    def writer_gone(self) -> bool:
        if self._finished:
            return False
        if self.kind == "replay":  # read to the end without run_finished: interrupted,
            return self._read_all.is_set()  # started or not (killed while loading data)
        return self._started and not is_alive(self._run_dir)


class FollowSource(DiskSource):
    """A run another process is writing, followed as it grows (`regtui watch`)."""

    def __init__(self, run_dir: Path) -> None:
        super().__init__(run_dir, follow=True)


def source_for(run_dir: Path) -> EventSource:
    """A run on disk: followed while its writer lives, else replayed."""
    return DiskSource(run_dir, follow=is_alive(run_dir))


# launch(listeners=..., control=..., on_created=...) -> (run_dir, RunFinished)
Launch = Callable[..., tuple[Path, RunFinished]]


class LiveSource:
    """A run this process trains: `run()` trains it (on whatever thread calls it) while
    pollers drain a queue and subscribers are called with each event.

    Under a flood of step events only the newest queued step is kept: a view needs the
    latest one, and the queue stays small whatever the step rate."""

    kind = "live"

    def __init__(self, launch: Launch, bad_input: tuple[type[BaseException], ...] = (),
                 buffered: bool = True) -> None:
        """buffered=False: no queue for pollers (a headless run has only subscribers)."""
        self._launch = launch
        self._buffered = buffered
        self._bad_input = bad_input
        self._control = Control()
        self._queue: deque[Event] = deque()
        self._lock = threading.Lock()
        self._subscribers: list[Callable[[Event], None]] = []
        self._run_dir: Path | None = None
        self._failure: tuple[str, bool] | None = None
        self.finished: RunFinished | None = None

    @property
    def run_dir(self) -> Path | None:
        return self._run_dir

    @property
    def control(self) -> Control | None:
        return self._control

    def subscribe(self, listener: Callable[[Event], None]) -> None:
        """Call `listener(event)` on the training thread for every event (must not block)."""
        self._subscribers.append(listener)

    def _arrived(self, event: Event) -> None:
        with self._lock:
            if isinstance(event, Step) and self._queue and isinstance(self._queue[-1], Step):
                self._queue[-1] = event
            else:
                self._queue.append(event)

    def _created(self, run_dir: Path) -> None:
        self._run_dir = run_dir

    def run(self) -> RunFinished | None:
        """Train the run to its end; None when it could not start (see failure()).

        Errors listed as bad input (bad settings, a missing dataset) are recorded, not
        raised; any other exception is recorded and raised."""
        try:
            listeners = [self._arrived] if self._buffered else []
            _, self.finished = self._launch(listeners=[*listeners, *self._subscribers],
                                            control=self._control, on_created=self._created)
        except self._bad_input as error:
            self._failure = (str(error), True)
            return None
        except Exception as error:
            self._failure = (f"{type(error).__name__}: {error}", False)
            raise
        return self.finished

    def poll(self) -> list[Event]:
        with self._lock:
            events = list(self._queue)
            self._queue.clear()
        return events

    def failure(self) -> tuple[str, bool] | None:
        return self._failure

    def writer_gone(self) -> bool:
        return False

    def pending(self) -> bool:
        return False  # a poll takes the whole queue

    def close(self) -> None:
        pass  # the run goes on: closing a view never stops training
