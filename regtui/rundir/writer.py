"""RunStore: the one writer of a run directory.

Only this class creates a run directory, appends events, rewrites summary.json and
config.toml, writes checkpoints and error.txt, and (delete_run) removes a run. Every file
is written atomically and never through a symbolic link (rundir.files).

A write that fails (a full disk, a read-only mount) raises RunWriteError: the trainer ends
the run `failed` with that one line; the store then stops writing except for a last,
best-effort run_finished and summary.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from pathlib import Path
from typing import IO

from regtui.events import Event, RunFinished, jsonable, read_events, to_json
from regtui.rundir.files import open_append, write_atomic
from regtui.rundir.layout import (CONFIG_NAME, ERROR_NAME, EVENTS_NAME, OWN_FILES, SUMMARY_NAME,
                                  LOCK_NAME, RunDirError, is_run_dir, new_run_id)
from regtui.rundir.lock import is_alive, take_lock
from regtui.rundir.summary import SummaryBuilder

# Events that change summary.json (steps change nothing in it).
_SUMMARY_TRIGGERS = ("run_started", "epoch", "alert", "run_finished")
# A changed summary is rewritten at the next event once this long has passed since the
# last rewrite (at once for the first and last event): rewriting it after every 0.2 s
# epoch cost about 1% of such a run, and events.jsonl, not summary.json, is the record.
SUMMARY_SECONDS = 1.0


class RunWriteError(RunDirError):
    """The run directory could not be written (full disk, read-only, ...): one line."""


class RunStore:
    """Writer side of one run directory. Use create() or reopen(); close() when done."""

    def __init__(self, path: Path, lock: IO[str], builder: SummaryBuilder) -> None:
        self.path = path
        self._lock = lock
        self._builder = builder
        self._events = open_append(path / EVENTS_NAME)
        self._summary_stale, self._summary_written = False, -math.inf
        self._torn = False  # a killed writer's half line: ours starts on a fresh one
        self.broken: str | None = None  # the first write error, once writing has failed

    @classmethod
    def create(cls, runs_dir: Path, label: str, config_toml: str) -> RunStore:
        """A new run directory under runs_dir, locked, with its config.toml written.

        Raises RunWriteError when runs_dir cannot hold it (a file, read-only, full)."""
        try:
            runs_dir.mkdir(parents=True, exist_ok=True)
            while True:
                path = runs_dir / new_run_id(label)
                try:
                    path.mkdir()
                    break
                except FileExistsError:
                    continue
            lock = take_lock(path / LOCK_NAME)
            assert lock is not None, "a directory we just made cannot be locked by anyone else"
            write_atomic(path / CONFIG_NAME, config_toml)
            return cls(path, lock, SummaryBuilder())
        except OSError as error:
            raise RunWriteError(f"cannot write runs in {runs_dir}: "
                                f"{error.strerror or error}") from None

    @classmethod
    def reopen(cls, run_dir: Path) -> RunStore:
        """Take over an existing run directory (to resume it): its lock first.

        Raises RunDirError when it is not a run directory or another process holds it."""
        if not is_run_dir(run_dir):
            raise RunDirError(f"{run_dir}: not a run directory (no {CONFIG_NAME})")
        try:
            lock = take_lock(run_dir / LOCK_NAME)
        except OSError as error:
            raise RunWriteError(f"{run_dir}: cannot take the run's lock: "
                                f"{error.strerror or error}") from None
        if lock is None:
            raise RunDirError(f"{run_dir}: the run is still going in another process")
        builder = SummaryBuilder()
        for event in read_events(run_dir / EVENTS_NAME):
            builder.add(event)
        store = cls(run_dir, lock, builder)
        store._torn = _ends_torn(run_dir / EVENTS_NAME)
        return store

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def summary(self) -> SummaryBuilder:
        return self._builder

    # ------------------------------------------------------------ writing

    def _guard(self, action, *args) -> None:
        """Run one write; turn an OSError into RunWriteError and remember it."""
        if self.broken:
            raise RunWriteError(self.broken)
        try:
            action(*args)
        except OSError as error:
            self.broken = f"cannot write {self.path}: {error.strerror or error}"
            raise RunWriteError(self.broken) from None

    def write(self, event: Event) -> None:
        """Append one event and flush it to the OS, so a killed process keeps it.

        Raises RunWriteError; after a failure only a run_finished is still tried."""
        if self.broken and isinstance(event, RunFinished):
            self._last_words(event)
            return
        self._guard(self._append, event)

    def _append(self, event: Event) -> None:
        # Nothing is written before the first event: reopening a run changes no byte of it.
        self._events.write(("\n" if self._torn else "") + to_json(event) + "\n")
        self._torn = False
        self._events.flush()
        self._builder.add(event)
        self._summary_stale |= event.type in _SUMMARY_TRIGGERS
        due = time.monotonic() - self._summary_written >= SUMMARY_SECONDS or \
            event.type in ("run_started", "run_finished")
        if self._summary_stale and due:
            self._write_summary()
        if isinstance(event, RunFinished):
            os.fsync(self._events.fileno())

    def _last_words(self, event: RunFinished) -> None:
        """After a write error: record the end where the disk still allows it."""
        try:
            self._events.write(to_json(event) + "\n")
            self._events.flush()
            self._builder.add(event)
            self._write_summary()
        except OSError:
            pass

    def write_summary(self) -> None:
        self._guard(self._write_summary)

    def _write_summary(self) -> None:
        summary = jsonable(self._builder.to_dict())
        write_atomic(self.path / SUMMARY_NAME, json.dumps(summary, indent=2) + "\n")
        self._summary_stale, self._summary_written = False, time.monotonic()

    def write_file(self, name: str, data: str | bytes | memoryview) -> None:
        """One of the run's own files (a checkpoint, ...), written atomically."""
        self._guard(write_atomic, self.path / name, data)

    def rewrite_config(self, config_toml: str) -> None:
        """The run's config.toml, replaced atomically (a resume that extends the run)."""
        self.write_file(CONFIG_NAME, config_toml)

    def record_error(self, text: str) -> None:
        """error.txt: the traceback of a failed run. Best effort: never raises."""
        try:
            write_atomic(self.path / ERROR_NAME, text)
        except OSError:
            pass

    def close(self) -> None:
        if self._summary_stale and not self.broken:  # a run that ends without run_finished
            try:
                self._write_summary()
            except OSError:
                pass
        try:
            self._events.close()
        except OSError:
            pass
        self._lock.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _ends_torn(events_path: Path) -> bool:
    """True when a killed writer left half a line at the end of events.jsonl."""
    if events_path.stat().st_size == 0:
        return False
    with open(events_path, "rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) != b"\n"


def delete_run(run_dir: Path) -> None:
    """Remove a run directory for good. Refuses a live run and anything not a run.

    Raises RunDirError (live, not a run) or OSError (permissions)."""
    if not is_run_dir(run_dir):
        raise RunDirError(f"{run_dir}: not a run directory")
    if is_alive(run_dir):
        raise RunDirError(f"{run_dir.name} is still training; stop it before deleting it")
    shutil.rmtree(run_dir)


def write_export(run_dir: Path, target: Path, data: str | bytes) -> Path:
    """Write an export of `run_dir` to `target` (atomically, never through a link).

    Refuses to replace the run's own files (events.jsonl, summary.json, checkpoints, ...):
    raises RunDirError naming the file. Other OSErrors propagate."""
    check_export_target(run_dir, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, data)
    return target


def check_export_target(run_dir: Path, target: Path) -> None:
    """RunDirError if writing `target` would replace one of the run's own files or a folder."""
    if target.is_dir():
        raise RunDirError(f"-o {target}: is a directory; give a file name")
    own_dir = target.parent.resolve() == run_dir.resolve() or is_run_dir(target.parent)
    if target.name in OWN_FILES and own_dir:
        raise RunDirError(f"-o {target}: that is the run's own {target.name}; "
                          "exports never replace a run's files")
