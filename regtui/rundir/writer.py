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
import tempfile
import time
from pathlib import Path
from typing import IO, Callable

from regtui.events import Event, RunFinished, jsonable, read_log, to_json
from regtui.rundir.files import AppendFile, temporary_name, write_atomic
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
        """Raises OSError when events.jsonl cannot be opened for appending (a symbolic
        link there, a read-only mount)."""
        self.path = path
        self._lock = lock
        self._builder = builder
        self._events = AppendFile(path / EVENTS_NAME)
        self._summary_stale, self._summary_written = False, -math.inf
        self._summary_bytes = -1  # events.jsonl's size when summary.json was last written
        self._written = False  # nothing is changed in a reopened run before its first event
        self.broken: str | None = None  # the first write error, once writing has failed

    @classmethod
    def create(cls, runs_dir: Path, label: str, config_toml: str) -> RunStore:
        """A new run directory under runs_dir, locked, with its config.toml written.

        Raises RunWriteError when runs_dir cannot hold it (a file, read-only, full)."""
        path: Path | None = None
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
            try:
                write_atomic(path / CONFIG_NAME, config_toml)
                return cls(path, lock, SummaryBuilder())
            except BaseException:
                lock.close()
                raise
        except OSError as error:
            if path is not None:  # a run that could not be begun is not left half made
                shutil.rmtree(path, ignore_errors=True)
            raise RunWriteError(f"cannot write runs in {runs_dir}: "
                                f"{error.strerror or error}") from None

    @classmethod
    def reopen(cls, run_dir: Path) -> RunStore:
        """Take over an existing run directory (to resume it): its lock first.

        Nothing in the directory changes until the first event is written (the lock file
        is created only if it is missing). Raises RunDirError when it is not a run
        directory or another process holds it, RunWriteError when it cannot be written."""
        if not is_run_dir(run_dir):
            raise RunDirError(f"{run_dir}: not a run directory (no {CONFIG_NAME})")
        try:
            lock = take_lock(run_dir / LOCK_NAME)
        except OSError as error:
            raise RunWriteError(f"{run_dir}: cannot take the run's lock: "
                                f"{error.strerror or error}") from None
        if lock is None:
            raise RunDirError(f"{run_dir.name} is being written by another process (it "
                              "holds the run's lock); wait for it to end, or stop it first")
        try:
            log = read_log(run_dir / EVENTS_NAME)
            builder = SummaryBuilder()
            for event in log.events:
                builder.add(event)
            builder.unreadable_lines = log.unreadable
            store = cls(run_dir, lock, builder)
            store._events.torn = _ends_torn(run_dir / EVENTS_NAME)
        except OSError as error:
            lock.close()
            raise RunWriteError(f"{run_dir}: cannot append to {EVENTS_NAME}: "
                                f"{error.strerror or error}") from None
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

        Raises RunWriteError (the trainer then ends the run `failed`). A failed run's
        run_finished never raises: after a write error it is recorded where the disk
        still allows (see _last_words)."""
        if isinstance(event, RunFinished) and (self.broken or event.status == "failed"):
            if not self.broken:
                try:
                    self._append(event)
                    return
                except OSError as error:
                    self.broken = f"cannot write {self.path}: {error.strerror or error}"
            self._last_words(event)
            return
        self._guard(self._append, event)

    def _append(self, event: Event) -> None:
        # Nothing is written before the first event: reopening a run changes no byte of it.
        self._events.append(to_json(event) + "\n")
        self._written = True
        self._builder.add(event)
        self._summary_stale |= event.type in _SUMMARY_TRIGGERS
        due = time.monotonic() - self._summary_written >= SUMMARY_SECONDS or \
            event.type in ("run_started", "run_finished")
        if self._summary_stale and due:
            if isinstance(event, RunFinished):
                self._try_summary()  # the end is in events.jsonl: readers fold it from there
            else:
                self._write_summary()
        if isinstance(event, RunFinished):
            self._events.sync()

    def _last_words(self, event: RunFinished) -> None:
        """After a write error: record the end where the disk still allows it. The
        run_finished line goes first (a small append often still fits where a checkpoint
        did not), then summary.json; a summary that does not fit leaves the old one, which
        readers see is stale (`running` with no live writer) and fold events.jsonl instead."""
        self._builder.add(event)
        try:
            self._events.append(to_json(event) + "\n")
            self._events.sync()
        except OSError:
            pass
        self._try_summary()

    def _try_summary(self) -> None:
        """Rewrite summary.json if the disk allows. A summary that cannot be written keeps
        the old one, which says `running`: readers that find no live writer behind a
        `running` summary fold events.jsonl instead, so the run is still shown right."""
        try:
            self._write_summary()
        except OSError:
            pass

    def _write_summary(self) -> None:
        summary = jsonable(self._builder.to_dict())
        # What events.jsonl held when this summary was made: a reader trusts summary.json
        # only while the file is still that size (events.jsonl is the record).
        summary["events_bytes"] = self._summary_bytes = self._events.size()
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
        # A run that ends without run_finished, or with events after it (notifications):
        # the summary must describe the whole file, or readers will not trust it.
        try:
            changed = self._summary_bytes != self._events.size()
        except OSError:  # closed already (a second close): nothing more to write
            changed = False
        if (self._summary_stale or changed) and not self.broken:
            self._try_summary()
        try:
            self._events.close()
        except OSError:
            pass
        self._lock.close()
        if self._written:
            self._remove_stale_temporaries()

    def _remove_stale_temporaries(self) -> None:
        """Temporary files of a killed writer (`.summary.json.tmp`, ...): never whole."""
        for name in OWN_FILES:
            try:
                temporary_name(self.path / name).unlink()
            except OSError:
                pass

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
    """Write an export of `run_dir` to `target` (atomically, never through a link: a
    symbolic link at `target` is replaced, not followed).

    Refuses to replace the run's own files (events.jsonl, summary.json, checkpoints, ...)
    or any other run's: raises RunDirError naming the file. OSError for a failed write
    (no temporary file and no empty target are left behind)."""
    check_export_target(run_dir, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, data)
    return target


def _in_a_run(path: Path, run_dir: Path) -> bool:
    """True when `path` (resolved, links followed) is in `run_dir` or any run directory."""
    parent = path.parent.resolve()
    return parent == run_dir.resolve() or is_run_dir(parent)


def check_export_target(run_dir: Path, target: Path) -> None:
    """RunDirError if writing the file `target` would replace one of a run's own files
    (this run's or another's, however the path is spelled: relative, through a linked
    folder, with `.` or `..`) or a folder."""
    if target.is_dir():
        raise RunDirError(f"-o {target}: is a directory; give a file name")
    if target.name in OWN_FILES and _in_a_run(target, run_dir):
        raise RunDirError(f"-o {target}: that is a run's own {target.name}; "
                          "exports never replace a run's files")


def check_export_folder(run_dir: Path, folder: Path) -> None:
    """RunDirError if `folder` cannot take an export of files (TensorBoard's): a run
    directory itself, a run's own file name, or a file."""
    if is_run_dir(folder.resolve()) or folder.resolve() == run_dir.resolve():
        raise RunDirError(f"-o {folder}: is a run directory; give a folder of its own for "
                          "the TensorBoard files")
    if folder.name in OWN_FILES and _in_a_run(folder, run_dir):
        raise RunDirError(f"-o {folder}: that is a run's own {folder.name}; "
                          "exports never replace a run's files")
    if folder.exists() and not folder.is_dir():
        raise RunDirError(f"-o {folder}: is a file; TensorBoard writes a folder")


def write_export_folder(run_dir: Path, folder: Path, fill: Callable[[Path], None],
                        replaces: str) -> Path:
    """An export made of files in a folder (TensorBoard's event files): `fill(staging)`
    writes them into a fresh temporary folder beside `folder`; only when it has
    succeeded are the files of the earlier export (names matching `replaces`, anywhere
    below `folder`) removed and the new ones moved in. A re-export therefore replaces the
    earlier one instead of adding to it, and a failed one leaves it as it was.

    A symbolic link at the default place inside a run directory is replaced by a real
    folder, not followed. Raises RunDirError (see check_export_folder) or OSError."""
    check_export_folder(run_dir, folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    try:
        fill(staging)
        if folder.is_symlink() and _in_a_run(folder, run_dir):
            folder.unlink()
        folder.mkdir(exist_ok=True)
        for old in sorted(folder.rglob(replaces)):
            if old.is_file() or old.is_symlink():
                old.unlink()
        for new in sorted(staging.rglob("*")):
            destination = folder / new.relative_to(staging)
            if new.is_dir():
                destination.mkdir(exist_ok=True)
            else:
                os.replace(new, destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder
