"""Writing files in a run directory: atomically, and never through a symbolic link.

A reader sees the old file or the new one, never half of one. The temporary file is
created exclusively (O_EXCL | O_NOFOLLOW), so a link planted at its name is not followed,
and os.replace swaps the name itself: a link at the target is replaced, not written through.
"""

from __future__ import annotations

import os
from pathlib import Path

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


def temporary_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp")


def write_atomic(path: Path, data: str | bytes | memoryview) -> None:
    """Write `data` (text as UTF-8) to `path` via a temporary file and a rename.

    Raises OSError (ENOSPC, EROFS, ...) with no temporary file left behind.
    """
    temporary = temporary_name(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        temporary.unlink()  # a stale one from a killed writer (or a planted link)
    except FileNotFoundError:
        pass
    descriptor = os.open(temporary, _FLAGS, 0o644)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(payload)
        os.replace(temporary, path)
    except BaseException:
        try:
            temporary.unlink()
        except OSError:
            pass
        raise


class AppendFile:
    """Appends whole records to a file (events.jsonl), never through a symbolic link.

    A record is written with unbuffered writes; when one fails part-way (a full disk),
    the file is cut back to where the record began, so no half record is left to look
    like a whole one, and the space it took is free again."""

    def __init__(self, path: Path) -> None:
        """Raises OSError (ELOOP for a symbolic link at `path`, ...)."""
        self.path = path
        self._descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT |
                                   getattr(os, "O_NOFOLLOW", 0), 0o644)
        # True when a record may have been left unfinished (a failed cut): the next
        # record then starts on a fresh line.
        self.torn = False

    def append(self, record: str) -> None:
        """Write `record` (text, UTF-8) at the end, whole or not at all. Raises OSError."""
        data = memoryview((("\n" if self.torn else "") + record).encode("utf-8"))
        start = os.fstat(self._descriptor).st_size
        try:
            while data:
                written = os.write(self._descriptor, data)
                data = data[written:]
        except OSError:
            try:
                os.ftruncate(self._descriptor, start)
            except OSError:
                self.torn = True
            raise
        self.torn = False

    def size(self) -> int:
        """The file's length in bytes now."""
        return os.fstat(self._descriptor).st_size

    def sync(self) -> None:
        os.fsync(self._descriptor)

    def close(self) -> None:
        if self._descriptor >= 0:
            descriptor, self._descriptor = self._descriptor, -1
            os.close(descriptor)
