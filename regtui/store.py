"""The run directory: runs/<YYYYmmdd-HHMMSS>-<label>-<4 hex>/ with config, events, summary.

A live run holds an flock on run.lock for as long as its process lives; the kernel drops
it when the process dies, however it dies. A reader that finds no run_finished event and
can take the lock knows the writer is gone: the run was interrupted.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from regtui.events import Event, RunFinished, jsonable, read_events, to_json
from regtui.summary import SummaryBuilder

CONFIG_NAME = "config.toml"
EVENTS_NAME = "events.jsonl"
SUMMARY_NAME = "summary.json"
LOCK_NAME = "run.lock"
LAST_CHECKPOINT = "last.pt"
BEST_CHECKPOINT = "best.pt"
# Events that change summary.json (steps change nothing in it).
_SUMMARY_TRIGGERS = ("run_started", "epoch", "alert", "run_finished")
# A changed summary is rewritten at the next event once this long has passed since the
# last rewrite (at once for the first and last event): rewriting it after every 0.2 s
# epoch cost about 1% of such a run, and events.jsonl, not summary.json, is the record.
SUMMARY_SECONDS = 1.0


class RunDirError(RuntimeError):
    """A run directory cannot be used as asked (missing, locked by a live run, ...)."""


def default_runs_dir() -> Path:
    return Path(os.environ.get("REGTUI_RUNS_DIR", "runs"))


def new_run_id(label: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9+._-]+", "-", label).strip("-") or "run"
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{safe}-{secrets.token_hex(2)}"


def write_atomic(path: Path, data: str | bytes | memoryview) -> None:
    """Write to a temporary file, then rename: readers see the old file or the new one.
    Text is written as UTF-8."""
    temporary = path.with_name(f".{path.name}.tmp")
    if isinstance(data, str):
        temporary.write_text(data, encoding="utf-8")
    else:
        temporary.write_bytes(data)
    os.replace(temporary, path)


def _take_lock(path: Path) -> IO[str] | None:
    handle = open(path, "a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def is_alive(run_dir: Path) -> bool:
    """True while some process holds the run's lock."""
    lock_path = run_dir / LOCK_NAME
    if not lock_path.exists():
        return False
    handle = _take_lock(lock_path)
    if handle is None:
        return True
    handle.close()  # closing drops the lock we just took
    return False


class RunStore:
    """Writer side of one run directory. Use create() or reopen(); close() when done."""

    def __init__(self, path: Path, lock: IO[str], builder: SummaryBuilder) -> None:
        self.path = path
        self._lock = lock
        self._builder = builder
        self._events = open(path / EVENTS_NAME, "a", encoding="utf-8")
        self._summary_stale, self._summary_written = False, -math.inf

    @classmethod
    def create(cls, runs_dir: Path, label: str, config_toml: str) -> RunStore:
        runs_dir.mkdir(parents=True, exist_ok=True)
        while True:
            path = runs_dir / new_run_id(label)
            try:
                path.mkdir()
                break
            except FileExistsError:
                continue
        lock = _take_lock(path / LOCK_NAME)
        assert lock is not None, "a directory we just made cannot be locked by anyone else"
        write_atomic(path / CONFIG_NAME, config_toml)
        return cls(path, lock, SummaryBuilder())

    @classmethod
    def reopen(cls, run_dir: Path) -> RunStore:
        """Take over an existing run directory to resume it."""
        if not (run_dir / CONFIG_NAME).is_file():
            raise RunDirError(f"{run_dir}: not a run directory (no {CONFIG_NAME})")
        lock = _take_lock(run_dir / LOCK_NAME)
        if lock is None:
            raise RunDirError(f"{run_dir}: the run is still going in another process")
        builder = SummaryBuilder()
        for event in read_events(run_dir / EVENTS_NAME):
            builder.add(event)
        store = cls(run_dir, lock, builder)
        store._end_torn_line()
        return store

    def _end_torn_line(self) -> None:
        """A killed writer may have left half a line: start ours on a fresh one."""
        events_path = self.path / EVENTS_NAME
        if events_path.stat().st_size == 0:
            return
        with open(events_path, "rb") as handle:
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":
                self._events.write("\n")

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def summary(self) -> SummaryBuilder:
        return self._builder

    def write(self, event: Event) -> None:
        """Append one event and flush it to the OS, so a killed process keeps it."""
        self._events.write(to_json(event) + "\n")
        self._events.flush()
        self._builder.add(event)
        self._summary_stale |= event.type in _SUMMARY_TRIGGERS
        due = time.monotonic() - self._summary_written >= SUMMARY_SECONDS or \
            event.type in ("run_started", "run_finished")
        if self._summary_stale and due:
            self.write_summary()
        if isinstance(event, RunFinished):
            os.fsync(self._events.fileno())

    def write_summary(self) -> None:
        summary = jsonable(self._builder.to_dict())
        write_atomic(self.path / SUMMARY_NAME, json.dumps(summary, indent=2) + "\n")
        self._summary_stale, self._summary_written = False, time.monotonic()

    def close(self) -> None:
        if self._summary_stale:  # a run that ends without run_finished (an error)
            self.write_summary()
        self._events.close()
        self._lock.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------- reading runs

@dataclass(frozen=True)
class RunRecord:
    path: Path
    summary: dict[str, Any]

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def status(self) -> str:
        return self.summary["status"]


def load_summary(run_dir: Path) -> dict[str, Any]:
    """The run's summary with its live status (running / interrupted) resolved."""
    summary = SummaryBuilder()
    for event in read_events(run_dir / EVENTS_NAME):
        summary.add(event)
    result = summary.to_dict()
    result["run_id"] = result["run_id"] or run_dir.name
    if result["status"] == "running" and not is_alive(run_dir):
        result["status"] = "interrupted"
    return result


def is_run_dir(path: Path) -> bool:
    return (path / CONFIG_NAME).is_file() and (path / EVENTS_NAME).is_file()


def list_runs(runs_dir: Path) -> list[RunRecord]:
    """Every run under runs_dir, oldest first (ids start with their start time)."""
    if not runs_dir.is_dir():
        return []
    paths = sorted(p for p in runs_dir.iterdir() if p.is_dir() and is_run_dir(p))
    return [RunRecord(p, load_summary(p)) for p in paths]


def find_run(runs_dir: Path, name: str) -> Path:
    """A run by path, by id, or by a unique part of its id."""
    as_path = Path(name)
    if is_run_dir(as_path):
        return as_path
    candidates = [p for p in sorted(runs_dir.glob("*")) if is_run_dir(p)] \
        if runs_dir.is_dir() else []
    exact = [p for p in candidates if p.name == name]
    matches = exact or [p for p in candidates if name in p.name]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise RunDirError(f"no run {name!r} in {runs_dir}; `regtui runs` lists them")
    raise RunDirError(f"{name!r} matches {len(matches)} runs in {runs_dir}: "
                      f"{', '.join(p.name for p in matches[:5])}; give more of the id")
