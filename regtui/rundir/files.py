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


def open_append(path: Path):
    """A text handle appending to `path`, refusing to follow a symbolic link there."""
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT |
                         getattr(os, "O_NOFOLLOW", 0), 0o644)
    return os.fdopen(descriptor, "a", encoding="utf-8")
