"""Control: pause, resume and stop a run from another thread (UI) or a signal handler."""

from __future__ import annotations

import threading


class Control:
    """Thread-safe flags the trainer checks between steps."""

    def __init__(self) -> None:
        self._running = threading.Event()
        self._running.set()
        self._stop = threading.Event()
        self.stop_status = "stopped"

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def toggle_pause(self) -> bool:
        """Pause if running, resume if paused; returns True when now paused."""
        if self.paused:
            self.resume()
        else:
            self.pause()
        return self.paused

    def stop(self, status: str = "stopped") -> None:
        """Ask the run to end at the next step; status is what run_finished will say."""
        self.stop_status = status
        self._stop.set()
        self._running.set()  # a paused run must wake up to stop

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def wait_while_paused(self) -> None:
        while not self._running.wait(0.1):
            pass
