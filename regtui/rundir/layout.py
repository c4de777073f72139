"""What a run directory is: its file names, its id, where runs are kept.

    runs/<YYYYmmdd-HHMMSS>-<label>-<4 hex>/
      config.toml   events.jsonl   summary.json   last.pt   best.pt   run.lock   error.txt
      stop.request

docs/run-directory.md is the contract; this module is its one spelling in code.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from pathlib import Path

CONFIG_NAME = "config.toml"
EVENTS_NAME = "events.jsonl"
SUMMARY_NAME = "summary.json"
LOCK_NAME = "run.lock"
LAST_CHECKPOINT = "last.pt"
BEST_CHECKPOINT = "best.pt"
ERROR_NAME = "error.txt"
STOP_NAME = "stop.request"  # a watching monitor's request that the run stop (rundir.stop)
# The files regtui writes as the run trains: nothing else (an export) may replace them.
OWN_FILES = frozenset({CONFIG_NAME, EVENTS_NAME, SUMMARY_NAME, LOCK_NAME, LAST_CHECKPOINT,
                       BEST_CHECKPOINT, ERROR_NAME, STOP_NAME})


class RunDirError(RuntimeError):
    """A run directory cannot be used as asked (missing, locked by a live run, ...)."""


def default_runs_dir() -> Path:
    """$REGTUI_RUNS_DIR, else ./runs (relative to the working directory)."""
    return Path(os.environ.get("REGTUI_RUNS_DIR", "runs"))


def new_run_id(label: str) -> str:
    """`<YYYYmmdd-HHMMSS>-<label>-<4 hex>`: sorts by start time; the label made file-safe."""
    safe = re.sub(r"[^A-Za-z0-9+._-]+", "-", label).strip("-") or "run"
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{safe}-{secrets.token_hex(2)}"


def is_run_dir(path: Path) -> bool:
    """A directory with a config.toml and an events.jsonl (not a symlink to one)."""
    try:
        return not path.is_symlink() and (path / CONFIG_NAME).is_file() and \
            (path / EVENTS_NAME).is_file()
    except OSError:  # a path that cannot even be looked at is no run we can use
        return False
