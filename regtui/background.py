"""What runs beside a run, off its thread: the system sampler and the notifier.

Both are set by the run's config (`[monitor]`, `[notify]`) and wrap the run's emit:

    background = RunBackground(config)        # may raise ConfigError (REGTUI_NOTIFY)
    emit = background.wrap(emit, run_dir)     # from now on, every event through this one
    ... emit(run_started) ... emit(epoch) ... emit(run_finished) ...
    background.close()                        # waits, within a bound, for the last message

run_started starts the sampler; run_finished is preceded by one last reading of the
machine, then goes to the notifier like every alert. The sampler's `system` events and
the notifier's `notification` events come from their own threads; the wrapped emit takes
a lock, so the run store and every listener still get one event at a time.
Torch- and textual-free: regtui.train uses it for every run, the API can do the same.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Callable, Mapping

from regtui.config import RunConfig
from regtui.events import Event, RunFinished, RunStarted
from regtui.notify import Notifier
from regtui.system import SystemSampler

Emit = Callable[[Event], None]


class RunBackground:
    """The sampler (None when monitor.system_interval is 0) and the notifier (None when
    there is nowhere to send) of one run."""

    def __init__(self, config: RunConfig, environ: Mapping[str, str] | None = None) -> None:
        """Raises ConfigError when $REGTUI_NOTIFY holds something that is not a URL: call
        it before the run directory is created, so bad input creates nothing."""
        interval = config.monitor.system_interval
        self.sampler = SystemSampler(interval) if interval > 0 else None
        self.notifier = Notifier.from_config(config.notify,
                                             os.environ if environ is None else environ)
        self._emit: Emit | None = None

    def wrap(self, emit: Emit, run_dir: Path | None = None) -> Emit:
        """The emit the run should use from now on. `emit` (the store's write, then the
        listeners) is then called from the run's thread and from the sampler's and the
        notifier's, under one lock: it need not be thread-safe itself."""
        self._emit = _serialized(emit)
        if self.notifier is not None:
            self.notifier.run_dir = str(run_dir.resolve()) if run_dir else ""
            self.notifier.start(self._emit)
        return self.emit

    def emit(self, event: Event) -> None:
        if isinstance(event, RunFinished) and self.sampler is not None:
            self.sampler.stop(final=True)  # the machine's figures at the end, then the end
        self._emit(event)
        if isinstance(event, RunStarted) and self.sampler is not None:
            self.sampler.start(self._emit)
        if self.notifier is not None:
            self.notifier(event)

    def close(self) -> None:
        """Stop sampling; give the notifier the time its settings allow for the last
        message (milliseconds for a webhook that answers)."""
        if self.sampler is not None:
            self.sampler.stop()
        if self.notifier is not None:
            self.notifier.close()


def _serialized(emit: Emit) -> Emit:
    """emit, one call at a time whichever thread makes it."""
    lock = threading.Lock()

    def serialized(event: Event) -> None:
        with lock:
            emit(event)
    return serialized
