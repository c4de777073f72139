"""Messages posted from the training thread to the UI."""

from __future__ import annotations

from textual.message import Message

from regtui.events import Event


class EventArrived(Message):
    """One event from the run (posted from the training thread; never blocks it)."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event

    def can_replace(self, message: Message) -> bool:
        # A burst of step events collapses to the newest: only the latest step matters.
        return (isinstance(message, EventArrived) and message.event.type == "step"
                and self.event.type == "step")


class RunFailed(Message):
    """The run could not start or crashed outside the trainer's own handling."""

    def __init__(self, error: str, bad_input: bool) -> None:
        super().__init__()
        self.error = error
        self.bad_input = bad_input
