"""The liveness lock: a live run holds an flock on run.lock for as long as its process lives.

The kernel drops the lock when the process dies, however it dies. A reader that finds no
run_finished event and can take the lock knows the writer is gone: the run was interrupted.
Readers open the lock file read-only (flock needs no write access), so a read-only runs
dir (an archive mount) can still be listed.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from regtui.rundir.layout import LOCK_NAME


def take_lock(path: Path) -> IO[str] | None:
    """Hold an exclusive lock on `path` (created if missing); None if another process has it."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    handle = os.fdopen(descriptor, "r+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def is_alive(run_dir: Path) -> bool:
    """True while some process holds the run's lock (read-only check: writes nothing)."""
    try:
        handle = open(run_dir / LOCK_NAME, "rb")
    except OSError:  # no lock file: no live writer
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        except OSError:
            return False
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False
