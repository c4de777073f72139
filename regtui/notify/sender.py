"""The notifier: a listener that queues messages and one daemon thread that sends them.

Training never waits on a webhook: the listener only puts a message on a bounded queue.
The sender gives every attempt `timeout` seconds and retries what may pass later (no
answer, HTTP 5xx or 429) at most `retries` times, 1 s then 2 s apart; every message's
outcome per target becomes one `notification` event (ok or not, after its retries).
At the end of a run, close() waits, within a bound it states, for the last message.
"""

from __future__ import annotations

import os
import queue
import socket
import threading
import time
from typing import Callable, Mapping, Sequence

from regtui.config import ALERT_LEVELS, NotifyConfig
from regtui.events import Alert, Event, Notification, RunFinished
from regtui.notify.message import Message, for_alert, for_finish
from regtui.notify.targets import SendError, Target, Webhook, targets_for
from regtui.rundir.summary import SummaryBuilder

QUEUE_LIMIT = 64  # messages waiting; beyond that new ones are dropped (and counted)
BACKOFF_SECONDS = 1.0  # the wait before the first retry; doubled for each next one


class Notifier:
    """Listener: call it with every event of a run (it never blocks and never raises)."""

    def __init__(self, targets: Sequence[Target], min_level: str = "warning",
                 timeout: float = 5.0, retries: int = 2, host: str | None = None,
                 run_dir: str = "", backoff: float | None = None) -> None:
        """min_level: the lowest alert level sent (info, warning, critical; off: only the
        end of the run). timeout: seconds per attempt. retries: further attempts of a
        webhook that may answer later. backoff: seconds before the first retry (default
        BACKOFF_SECONDS), doubled for each next one."""
        self.targets = list(targets)
        self.min_rank = ALERT_LEVELS.index(min_level) if min_level in ALERT_LEVELS else None
        self.timeout, self.retries = timeout, retries
        self.backoff = BACKOFF_SECONDS if backoff is None else backoff
        self.host = socket.gethostname() if host is None else host
        self.run_dir = run_dir
        self.summary = SummaryBuilder()  # for the run id and the diagnosis at the end
        self._queue: queue.Queue[Message | None] = queue.Queue(maxsize=QUEUE_LIMIT)
        self._dropped = 0
        self._emit: Callable[[Event], None] | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def from_config(cls, notify: NotifyConfig, environ: Mapping[str, str] | None = None,
                    run_dir: str = "") -> Notifier | None:
        """The notifier of a run's [notify] settings and $REGTUI_NOTIFY; None when there is
        nowhere to send (or REGTUI_MODE=disabled). Raises ConfigError (REGTUI_NOTIFY)."""
        targets = targets_for(notify, os.environ if environ is None else environ)
        if not targets:
            return None
        return cls(targets, notify.min_level, notify.timeout, notify.retries, run_dir=run_dir)

    # ------------------------------------------------------------ the listener

    def __call__(self, event: Event) -> None:
        self.summary.add(event)
        message = self._message_for(event)
        if message is None:
            return
        try:
            self._queue.put_nowait(message)
        except queue.Full:
            self._dropped += 1

    def _message_for(self, event: Event) -> Message | None:
        started = self.summary.started
        run_id = started.run_id if started else ""
        if isinstance(event, Alert):
            if self.min_rank is None or event.level not in ALERT_LEVELS or \
                    ALERT_LEVELS.index(event.level) < self.min_rank:
                return None
            return for_alert(event, run_id, self.host, self.run_dir)
        if isinstance(event, RunFinished):
            return for_finish(event, self.summary.to_dict(), run_id, self.host, self.run_dir)
        return None

    # ------------------------------------------------------------ the sender

    def start(self, emit: Callable[[Event], None]) -> None:
        """Send on a daemon thread from now on; each outcome goes to emit(Notification),
        called on that thread (it must be safe there; one that raises is ignored)."""
        if self._thread is not None:
            return
        self._emit = emit
        self._thread = threading.Thread(target=self._loop, name="regtui-notify", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            message = self._queue.get()
            if message is None:
                return
            for target in self.targets:
                self._report(self._deliver(target, message))
            if self._dropped:
                dropped, self._dropped = self._dropped, 0
                self._report(Notification(event="dropped", ok=False, attempts=0,
                                          error=f"{dropped} messages dropped: more than "
                                          f"{QUEUE_LIMIT} were waiting"))

    def _deliver(self, target: Target, message: Message) -> Notification:
        attempts = 0
        while True:
            attempts += 1
            try:
                target.send(message, self.timeout)
                return Notification(target=target.label, event=message.event,
                                    attempts=attempts)
            except SendError as error:
                if error.retry and attempts <= self.retries:
                    time.sleep(self.backoff * 2 ** (attempts - 1))
                    continue
                reason = str(error)
            except Exception as error:  # noqa: BLE001 - a notifier never breaks a run
                reason = f"{type(error).__name__}: {error}"
            return Notification(target=target.label, event=message.event, ok=False,
                                error=reason, attempts=attempts)

    def _report(self, outcome: Notification) -> None:
        if self._emit is None:
            return
        try:
            self._emit(outcome)
        except Exception:  # noqa: BLE001 - the run store is closed or broken: nothing to add
            pass

    def worst_case_seconds(self) -> float:
        """The longest one message can take to every target, retries included."""
        total = 0.0
        for target in self.targets:
            if isinstance(target, Webhook):
                total += (self.retries + 1) * self.timeout + \
                    self.backoff * (2 ** self.retries - 1)
            else:
                total += self.timeout
        return total

    def close(self, wait: float | None = None) -> bool:
        """Send what is queued, then stop the thread: waits at most `wait` seconds (by
        default the worst case of what is queued). True when everything was sent."""
        if self._thread is None:
            return self._queue.empty()
        if wait is None:
            wait = self.worst_case_seconds() * (self._queue.qsize() + 1) + 1.0
        deadline = time.monotonic() + wait
        try:
            self._queue.put(None, timeout=max(wait, 0.0))
        except queue.Full:
            return False
        # Joined in slices: a second Ctrl-C still reaches the main thread.
        while self._thread.is_alive() and time.monotonic() < deadline:
            self._thread.join(timeout=min(0.2, max(deadline - time.monotonic(), 0.0)))
        done = not self._thread.is_alive()
        self._thread = None
        return done
