"""Reading runs: one run in full (RunData), the list of runs (RunRecord), a run by name.

Every reader is read-only: it never writes, locks or creates anything, so a read-only
runs dir (an archive mount) can be listed and exported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from regtui.config import RunConfig, from_recorded
from regtui.events import Epoch, Event, RunStarted, read_events
from regtui.rundir.layout import CONFIG_NAME, EVENTS_NAME, SUMMARY_NAME, RunDirError, is_run_dir
from regtui.rundir.lock import is_alive
from regtui.rundir.summary import SummaryBuilder


@dataclass(frozen=True)
class RunRecord:
    """One run as a list needs it: its directory and its summary (status resolved)."""
    path: Path
    summary: dict[str, Any]

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def status(self) -> str:
        return self.summary["status"]


def _resolve_status(summary: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    summary["run_id"] = summary.get("run_id") or run_dir.name
    if summary.get("status") == "running" and not is_alive(run_dir):
        summary["status"] = "interrupted"
    return summary


def fold_summary(run_dir: Path) -> dict[str, Any]:
    """The summary folded from events.jsonl (exact), with running / interrupted resolved."""
    builder = SummaryBuilder()
    for event in read_events(run_dir / EVENTS_NAME):
        builder.add(event)
    return _resolve_status(builder.to_dict(), run_dir)


def load_summary(run_dir: Path) -> dict[str, Any]:
    """The run's summary, read from summary.json where that is current.

    summary.json is rewritten with the run's last event (run_finished) and at most a
    second behind a live run, so it serves finished and live runs; a run whose writer
    died (or a missing / unreadable summary.json) is folded from events.jsonl instead.
    Reading summary.json instead of every event is what lets 1,000 runs list in well
    under a second (`regtui bench -w L1000`)."""
    try:
        summary = json.loads((run_dir / SUMMARY_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return fold_summary(run_dir)
    if not isinstance(summary, dict) or "status" not in summary:
        return fold_summary(run_dir)
    if summary["status"] == "running" and not is_alive(run_dir):
        return fold_summary(run_dir)  # its last second is only in events.jsonl
    return _resolve_status(summary, run_dir)


def list_runs(runs_dir: Path) -> list[RunRecord]:
    """Every run under runs_dir, oldest first (ids start with their start time)."""
    if not runs_dir.is_dir():
        return []
    paths = sorted(p for p in runs_dir.iterdir() if p.is_dir() and is_run_dir(p))
    return [RunRecord(p, load_summary(p)) for p in paths]


def find_run(runs_dir: Path, name: str) -> Path:
    """A run by path, by id, or by a unique part of its id. Raises RunDirError."""
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


def epoch_events(events: list[Event]) -> list[Epoch]:
    """The run's epochs in order, as the summary counts them: a resume (run_started with
    resumed_from) drops what was written after its checkpoint; a re-run epoch replaces."""
    epochs: dict[int, Epoch] = {}
    for event in events:
        if isinstance(event, RunStarted):
            epochs = {n: e for n, e in epochs.items() if n <= event.resumed_from}
        elif isinstance(event, Epoch):
            epochs = {n: e for n, e in epochs.items() if n < event.epoch} \
                if epochs and max(epochs) >= event.epoch else epochs
            epochs[event.epoch] = event
    return [epochs[n] for n in sorted(epochs)]


@dataclass
class RunData:
    """One run read in full: every event, the epochs, the summary and the config."""
    path: Path
    summary: dict[str, Any]
    epochs: list[Epoch]
    events: list[Event]
    config_toml: str

    @classmethod
    def load(cls, run_dir: Path) -> RunData:
        events = read_events(run_dir / EVENTS_NAME)
        builder = SummaryBuilder()
        for event in events:
            builder.add(event)
        try:
            config = (run_dir / CONFIG_NAME).read_text(encoding="utf-8")
        except OSError:
            config = ""
        summary = _resolve_status(builder.to_dict(), run_dir)
        return cls(run_dir, summary, epoch_events(events), events, config)

    @property
    def started(self) -> RunStarted | None:
        """The run's latest run_started (a resume writes another)."""
        return next((e for e in reversed(self.events) if isinstance(e, RunStarted)), None)

    @cached_property
    def config(self) -> RunConfig:
        """The run's config, typed (settings this regtui does not know are left out)."""
        return from_recorded(self.started.config if self.started else {})
