"""Reading runs: one run in full (RunData), the list of runs (RunRecord), a run by name.

Every reader is read-only: it never writes, locks or creates anything, so a read-only
runs dir (an archive mount) can be listed and exported.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from regtui.config import RunConfig, from_recorded
from regtui.events import BadEvent, Epoch, Event, EventLog, RunStarted, coerce, read_log
from regtui.rundir.layout import CONFIG_NAME, EVENTS_NAME, SUMMARY_NAME, RunDirError, is_run_dir
from regtui.rundir.lock import is_alive
from regtui.rundir.summary import SummaryBuilder

UNREADABLE = "unreadable"  # the status of a run whose events cannot be read at all


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


def _fill_from_config(summary: dict[str, Any], config_toml: str) -> None:
    """The dataset, model and planned epochs of a run with no run_started event, from its
    config.toml (nothing if that cannot be read)."""
    try:
        config = from_recorded(tomllib.loads(config_toml))
    except (tomllib.TOMLDecodeError, ValueError):
        return
    summary.update(dataset=config.data.dataset, model=config.model.name,
                   epochs_planned=config.train.epochs)


def _read(run_dir: Path) -> tuple[EventLog, SummaryBuilder]:
    """The run's events and their fold; raises RunDirError when events.jsonl cannot be
    read or holds lines but not one readable event."""
    try:
        log = read_log(run_dir / EVENTS_NAME)
    except OSError as error:
        raise RunDirError(f"cannot read {EVENTS_NAME}: {error.strerror or error}") from None
    if log.unreadable and not log.events:
        raise RunDirError(f"none of the {log.unreadable} lines of {EVENTS_NAME} is a "
                          "readable event")
    builder = SummaryBuilder()
    for event in log.events:
        builder.add(event)
    builder.unreadable_lines = log.unreadable
    return log, builder


def unreadable_summary(run_dir: Path, reason: str) -> dict[str, Any]:
    """The summary of a run that cannot be read: every field empty, status `unreadable`,
    the reason in `reason`, so that lists show it beside the others."""
    summary = SummaryBuilder().to_dict()
    summary.update(run_id=run_dir.name, status=UNREADABLE, reason=reason)
    return summary


def fold_summary(run_dir: Path) -> dict[str, Any]:
    """The summary folded from events.jsonl (exact), with running / interrupted resolved.

    Lines that are not readable events are skipped and counted (`unreadable_lines`);
    raises RunDirError when the file cannot be read at all."""
    _, builder = _read(run_dir)
    summary = _resolve_status(builder.to_dict(), run_dir)
    if builder.started is None:  # killed while loading data: config.toml still says
        _fill_from_config(summary, _config_text(run_dir))
    return summary


def _config_text(run_dir: Path) -> str:
    try:
        return (run_dir / CONFIG_NAME).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


# The fields of summary.json that readers use, with their types: a summary.json that does
# not match (hand-edited, written by a broken tool) is ignored and the run folded instead.
_ALERT_TYPES = {"epoch": int, "kind": str, "level": str, "message": str,
                "suggest": list[str], "onset_epoch": int | None}
SUMMARY_TYPES: dict[str, Any] = {
    "run_id": str, "presets": list[str], "dataset": str | None, "model": str | None,
    "device": str | None, "params": int | None, "status": str, "reason": str,
    "error": str | None, "epochs_completed": int, "epochs_planned": int | None,
    "best_epoch": int | None, "best_val_acc": float | None, "best_val_loss": float | None,
    "test_acc": float | None, "test_loss": float | None, "train_seconds": float,
    "final": dict[str, Any] | None, "final_gap": float | None,
    "confusion_matrix": list[list[int]] | None, "classes": list[str],
    "alerts": list[dict[str, Any]], "diagnosis": dict[str, Any] | None,
    "started": float | None, "finished": float | None,
}


def checked_summary(summary: Any) -> dict[str, Any] | None:
    """summary.json's content with its field types checked (numbers coerced, "nan" read
    as a float); None when any field a reader uses is missing or of the wrong type."""
    if not isinstance(summary, dict):
        return None
    try:
        checked = {**summary, **{key: coerce(summary[key], hint)
                                 for key, hint in SUMMARY_TYPES.items()}}
        checked["alerts"] = [{**alert, **{key: coerce(alert.get(key), hint)
                                          for key, hint in _ALERT_TYPES.items()}}
                             for alert in checked["alerts"]]
        diagnosis = checked["diagnosis"]
        if diagnosis is not None:
            coerce(diagnosis.get("verdict"), str)
            coerce(diagnosis.get("kind"), str)
        checked["unreadable_lines"] = coerce(summary.get("unreadable_lines", 0), int)
    except (BadEvent, KeyError):
        return None
    return checked


def load_summary(run_dir: Path) -> dict[str, Any]:
    """The run's summary, read from summary.json where that is current.

    summary.json is rewritten with the run's last event (run_finished) and at most a
    second behind a live run, so it serves finished and live runs. events.jsonl is the
    record: a run whose writer died, whose events.jsonl is no longer the size the summary
    was made from (cut, torn, appended to), or whose summary.json is missing or
    unreadable is folded from events.jsonl instead.
    Reading summary.json instead of every event is what lets 1,000 runs list in well
    under a second (`regtui bench -w L1000`)."""
    try:
        summary = checked_summary(json.loads(
            (run_dir / SUMMARY_NAME).read_text(encoding="utf-8")))
    except (OSError, ValueError, RecursionError):
        summary = None
    if summary is None or not _matches_events(summary, run_dir):
        return fold_summary(run_dir)
    if summary["status"] == "running" and not is_alive(run_dir):
        return fold_summary(run_dir)  # its last second is only in events.jsonl
    return _resolve_status(summary, run_dir)


def _matches_events(summary: dict[str, Any], run_dir: Path) -> bool:
    """summary.json was made from events.jsonl as it is now (a live run's summary, up
    to a second behind, is accepted: its status says running)."""
    if summary.get("status") == "running":
        return True
    try:
        return summary.get("events_bytes") == (run_dir / EVENTS_NAME).stat().st_size
    except OSError:
        return False


def read_record(run_dir: Path) -> RunRecord:
    """One run for a list. Never raises: a run that cannot be read is listed with the
    status `unreadable` and the reason."""
    try:
        return RunRecord(run_dir, load_summary(run_dir))
    except RunDirError as error:
        return RunRecord(run_dir, unreadable_summary(run_dir, str(error)))
    except Exception as error:  # noqa: BLE001 - one bad run must not hide the others
        return RunRecord(run_dir, unreadable_summary(run_dir, f"{type(error).__name__}: "
                                                              f"{error}"))


def list_runs(runs_dir: Path) -> list[RunRecord]:
    """Every run under runs_dir, oldest first (ids start with their start time); a run
    that cannot be read is listed as `unreadable`, with the reason."""
    try:
        paths = sorted(p for p in runs_dir.iterdir() if p.is_dir() and is_run_dir(p))
    except OSError:  # no runs dir (yet), or not a directory
        return []
    return [read_record(p) for p in paths]


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
        """Raises RunDirError (naming the run) when its events cannot be read at all;
        unreadable lines are skipped and counted in summary["unreadable_lines"]."""
        try:
            log, builder = _read(run_dir)
        except RunDirError as error:
            raise RunDirError(f"{run_dir.name}: {error}") from None
        config = _config_text(run_dir)
        summary = _resolve_status(builder.to_dict(), run_dir)
        if builder.started is None:  # killed while loading data: config.toml still says
            _fill_from_config(summary, config)
        return cls(run_dir, summary, epoch_events(log.events), log.events, config)

    @property
    def started(self) -> RunStarted | None:
        """The run's latest run_started (a resume writes another)."""
        return next((e for e in reversed(self.events) if isinstance(e, RunStarted)), None)

    @cached_property
    def config(self) -> RunConfig:
        """The run's config, typed (settings this regtui does not know are left out)."""
        return from_recorded(self.started.config if self.started else {})
