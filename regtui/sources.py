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
from regtui.events import Event, RunFinished, RunStarted, Step, read_events
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


class ReplaySource:
    """A run that will not change: every event at the first poll, then nothing."""

    kind = "replay"

    def __init__(self, events: Sequence[Event], run_dir: Path | None = None,
                 failure: str | None = None) -> None:
        self._pending: list[Event] = list(events)
        self._run_dir = run_dir
        self._failure = failure
        self._started = any(isinstance(e, RunStarted) for e in events)
        self._finished = any(isinstance(e, RunFinished) for e in events)

    @classmethod
    def from_dir(cls, run_dir: Path) -> ReplaySource:
        """Every readable event of the run (bad lines skipped); a file that cannot be
        read at all is reported through failure(), not raised."""
        try:
            return cls(read_events(run_dir / EVENTS_NAME), run_dir)
        except OSError as error:
            return cls([], run_dir, f"cannot read {run_dir / EVENTS_NAME}: "
                                    f"{error.strerror or error}")

    @property
    def run_dir(self) -> Path | None:
        return self._run_dir

    @property
    def control(self) -> Control | None:
        return None

    def poll(self) -> list[Event]:
        events, self._pending = self._pending, []
        return events

    def failure(self) -> tuple[str, bool] | None:
        return (self._failure, True) if self._failure else None

    def writer_gone(self) -> bool:
        """A replayed run that started and never finished was interrupted."""
        return self._started and not self._finished


class FollowSource:
    """A run directory another process writes (never written to); torn lines held back."""

    kind = "follow"

    def __init__(self, run_dir: Path) -> None:
        self._run_dir = run_dir
        self._follower = EventFollower(run_dir / EVENTS_NAME)
        self._started = self._finished = False

    @property
    def run_dir(self) -> Path | None:
        return self._run_dir

    @property
    def control(self) -> Control | None:
        return None

    def poll(self) -> list[Event]:
        events = self._follower.poll()
        self._started |= any(isinstance(e, RunStarted) for e in events)
        self._finished |= any(isinstance(e, RunFinished) for e in events)
        return events

    def failure(self) -> tuple[str, bool] | None:
        return None

    def writer_gone(self) -> bool:
        return self._started and not self._finished and not is_alive(self._run_dir)


def source_for(run_dir: Path) -> EventSource:
    """A run on disk: followed while its writer lives, else replayed."""
    return FollowSource(run_dir) if is_alive(run_dir) else ReplaySource.from_dir(run_dir)


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
