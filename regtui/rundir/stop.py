"""Asking a run in another process to stop: a `stop.request` file in its directory.

A monitor that watches a run it does not train (`regtui watch`) cannot reach into that
process; it can leave a request. An API run (run_started's source `api`) reads it when its
loop checks `run.stop_requested`; regtui's own trainer in another process does not look
(Ctrl-C where it runs stops it). docs/run-directory.md has the contract.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from regtui.rundir.files import write_atomic
from regtui.rundir.layout import STOP_NAME, RunDirError, is_run_dir
from regtui.rundir.lock import is_alive


def request_stop(run_dir: Path, by: str = "regtui") -> Path:
    """Write `run_dir`/stop.request (atomically). Returns its path.

    Raises RunDirError when run_dir is not a run or its writer is gone (nothing to stop),
    OSError when the file cannot be written (a read-only runs dir)."""
    if not is_run_dir(run_dir):
        raise RunDirError(f"{run_dir}: not a run directory")
    if not is_alive(run_dir):
        raise RunDirError(f"{run_dir.name} is not running: nothing to stop")
    path = run_dir / STOP_NAME
    write_atomic(path, json.dumps({"t": time.time(), "by": by}) + "\n")
    return path


def stop_requested(run_dir: Path) -> bool:
    """True once a stop.request is in `run_dir` (one stat: cheap, never raises)."""
    try:
        return (run_dir / STOP_NAME).is_file()
    except OSError:
        return False
