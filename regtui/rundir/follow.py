"""Read an events.jsonl as it grows (read-only; torn lines held back until complete).

Each poll reads at most `chunk_bytes`; of the step events in a chunk only the last is
parsed (a view needs the latest step, not a million of them), and lines are filtered as
bytes before any decoding, so a run of a million steps reads in about the time of its
epochs alone.
"""

from __future__ import annotations

import json
from pathlib import Path

from regtui.events import STEP_MARK, BadEvent, Event, from_dict

CHUNK_BYTES = 8 * 1024 * 1024
_STEP_BYTES = STEP_MARK.encode()


class EventFollower:
    """poll() returns the events completed since the last poll; the file may not exist yet."""

    def __init__(self, path: Path, chunk_bytes: int = CHUNK_BYTES,
                 all_steps: bool = True) -> None:
        self.path = path
        self.chunk_bytes = chunk_bytes
        self.all_steps = all_steps
        self.offset = 0
        self.partial = b""  # an unfinished last line, kept until its newline arrives
        self.at_end = False  # the last poll reached the end of the file
        self.error: str | None = None  # why the file cannot be read (None: it can, or is absent)

    def poll(self) -> list[Event]:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                data = handle.read(self.chunk_bytes)
        except FileNotFoundError:  # not there yet: try again at the next poll
            return []
        except OSError as error:  # not readable now: say so, and try again at the next poll
            self.error = error.strerror or str(error)
            return []
        self.error = None
        self.at_end = len(data) < self.chunk_bytes
        self.offset += len(data)
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        if not self.all_steps:
            lines = _latest_step_only(lines)
        return [event for event in map(_parse, lines) if event is not None]


def _latest_step_only(lines: list[bytes]) -> list[bytes]:
    """`lines` with every step event but the last left out (never parsed)."""
    last_step = next((index for index in range(len(lines) - 1, -1, -1)
                      if _STEP_BYTES in lines[index]), None)
    return [line for index, line in enumerate(lines)
            if index == last_step or _STEP_BYTES not in line]


def _parse(line: bytes) -> Event | None:
    """The event on one line; None for a blank, torn, unparsable or unknown one."""
    if not line.strip():
        return None
    try:
        data = json.loads(line)
    except (ValueError, RecursionError):  # JSONDecodeError, UnicodeDecodeError
        return None
    if not isinstance(data, dict):
        return None
    try:
        return from_dict(data)
    except BadEvent:  # valid JSON with fields of the wrong types: skipped
        return None
