"""Follow an events.jsonl that another process is writing (read-only, torn lines held back)."""

from __future__ import annotations

from pathlib import Path

from regtui.events import Event, parse_lines


class EventFollower:
    """poll() returns the events completed since the last poll; the file may not exist yet."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.partial = ""  # an unfinished last line, kept until its newline arrives

    def poll(self) -> list[Event]:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                data = handle.read()
        except OSError:  # not there yet (or not readable now): try again at the next poll
            return []
        self.offset += len(data)
        lines = (self.partial + data.decode("utf-8", errors="replace")).split("\n")
        self.partial = lines.pop()
        return list(parse_lines(lines))
