"""The run directory: its one writer (RunStore), its readers and the summary fold.

Nothing else in regtui creates, appends to, rewrites or deletes a run directory.
docs/run-directory.md describes the files for tools written by others.
"""

from __future__ import annotations

from regtui.rundir.follow import EventFollower
from regtui.rundir.layout import (BEST_CHECKPOINT, CONFIG_NAME, ERROR_NAME, EVENTS_NAME,
                                  LAST_CHECKPOINT, LOCK_NAME, OWN_FILES, STOP_NAME,
                                  SUMMARY_NAME, RunDirError, default_runs_dir, is_run_dir, new_run_id)
from regtui.rundir.lock import is_alive
from regtui.rundir.reader import (UNREADABLE, RunData, RunRecord, find_run, fold_summary,
                                  list_runs, load_summary, read_record)
from regtui.rundir.stop import request_stop, stop_requested
from regtui.rundir.summary import SummaryBuilder, summarize
from regtui.rundir.writer import (RunStore, RunWriteError, check_export_folder,
                                  check_export_target, delete_run, write_export,
                                  write_export_folder)

__all__ = [
    "BEST_CHECKPOINT", "CONFIG_NAME", "ERROR_NAME", "EVENTS_NAME", "LAST_CHECKPOINT",
    "LOCK_NAME", "OWN_FILES", "STOP_NAME", "SUMMARY_NAME", "EventFollower", "RunData",
    "RunDirError", "RunRecord", "RunStore", "RunWriteError", "SummaryBuilder",
    "check_export_folder", "check_export_target",
    "default_runs_dir", "delete_run", "find_run", "fold_summary", "is_alive", "is_run_dir",
    "list_runs", "load_summary", "new_run_id", "read_record", "request_stop",
    "stop_requested", "summarize", "write_export", "write_export_folder",
    "UNREADABLE",
]
