"""The event stream: frozen dataclasses, one JSON object per line in events.jsonl.

Readers skip torn or unparsable lines and unknown types; writers only ever add fields,
so every field has a default and unknown fields are ignored on reading.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Iterable, Iterator

SCHEMA_VERSION = 1


def _now() -> float:
    return time.time()


@dataclass(frozen=True, kw_only=True)
class Event:
    type: ClassVar[str] = "event"
    t: float = field(default_factory=_now)


@dataclass(frozen=True, kw_only=True)
class RunStarted(Event):
    """Once per process that trains the run (a resume writes another, with resumed_from)."""
    type: ClassVar[str] = "run_started"
    run_id: str = ""
    presets: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    env: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    resumed_from: int = 0  # epochs already finished when this process started


@dataclass(frozen=True, kw_only=True)
class Step(Event):
    """Throttled: every train.log_every optimizer steps."""
    type: ClassVar[str] = "step"
    epoch: int = 0
    step: int = 0  # global step, counted from the start of the run
    loss: float = math.nan
    lr: float = math.nan
    grad_norm: float = math.nan


@dataclass(frozen=True, kw_only=True)
class Epoch(Event):
    type: ClassVar[str] = "epoch"
    epoch: int = 0  # 1-based
    train_loss: float = math.nan
    train_acc: float = math.nan
    val_loss: float = math.nan
    val_acc: float = math.nan
    lr: float = math.nan
    grad_norm: float = math.nan
    seconds: float = 0.0
    samples_per_s: float = 0.0
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Alert(Event):
    type: ClassVar[str] = "alert"
    epoch: int = 0
    kind: str = ""
    level: str = "warning"  # info, warning, critical
    message: str = ""
    suggest: list[str] = field(default_factory=list)
    onset_epoch: int | None = None
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Checkpoint(Event):
    type: ClassVar[str] = "checkpoint"
    epoch: int = 0
    path: str = ""
    best: bool = False


@dataclass(frozen=True, kw_only=True)
class RunFinished(Event):
    type: ClassVar[str] = "run_finished"
    status: str = "completed"  # completed, stopped, interrupted, diverged, failed
    reason: str = ""  # why it ended early: "early stopping", "stopped by user", ...
    best_epoch: int | None = None
    best_val_acc: float | None = None
    test_acc: float | None = None
    test_loss: float | None = None
    confusion_matrix: list[list[int]] | None = None
    classes: list[str] = field(default_factory=list)
    error: str | None = None
    # A few test images with their predictions, for the monitor's sample grid:
    # {"shape": [C, H, W], "pixels": [base64 uint8 per image], "labels": [...], "predictions": [...]}
    samples: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class System(Event):
    """A reading of the machine, every monitor.system_interval seconds (regtui.system).

    A figure that could not be read is NaN (floats) or None; gpus is empty without an
    NVIDIA GPU or NVML, and gpu_note then says why."""
    type: ClassVar[str] = "system"
    cpu_percent: float = math.nan  # all CPUs together, 0-100
    process_cpu_percent: float = math.nan  # this process, % of one CPU (above 100: threads)
    ram_used: int = 0  # bytes in use (total minus available)
    ram_total: int = 0  # bytes
    rss: int = 0  # bytes: this process's resident set
    # Per NVIDIA GPU: index (NVML's), name, util (%), mem_used and mem_total (bytes),
    # temp (degrees C), power (W); None where the GPU does not report a figure.
    gpus: list[dict[str, Any]] = field(default_factory=list)
    gpu_note: str = ""  # why gpus is empty: "NVML: Shared Library Not Found", ...
    torch_peak_allocated: int | None = None  # bytes: torch's peak CUDA allocation in this
    # process (every device, since it started); None when CUDA is not in use


@dataclass(frozen=True, kw_only=True)
class Notification(Event):
    """A notification (regtui.notify) was sent, or failed after its retries."""
    type: ClassVar[str] = "notification"
    target: str = ""  # redacted: scheme://host/... of a webhook, command:<program>
    event: str = ""  # what was notified: alert, run_finished
    ok: bool = True
    error: str = ""  # why it failed ("" when ok)
    attempts: int = 1


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls for cls in (RunStarted, Step, Epoch, Alert, Checkpoint, RunFinished, System,
                              Notification)
}
FINAL_STATUSES = ("completed", "stopped", "interrupted", "diverged", "failed")


def jsonable(value: Any) -> Any:
    """JSON has no NaN or infinity: write them as strings that read back as floats."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    return value


def to_dict(event: Event) -> dict[str, Any]:
    body = {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}
    return {"v": SCHEMA_VERSION, "type": event.type, **jsonable(body)}


def to_json(event: Event) -> str:
    return json.dumps(to_dict(event), separators=(",", ":"))


_FLOAT_WORDS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _restore_floats(value: Any) -> Any:
    kind = type(value)
    if kind is str:
        return _FLOAT_WORDS.get(value, value)
    if kind is dict:
        return {key: _restore_floats(item) for key, item in value.items()}
    if kind is list:
        return [_restore_floats(item) for item in value]
    return value  # numbers, booleans, None: as they are (the common case, checked fast)


# Each type's field names, looked up once: a long run's file has 100,000s of lines.
_FIELD_NAMES = {name: frozenset(f.name for f in dataclasses.fields(cls))
                for name, cls in EVENT_TYPES.items()}


def from_dict(data: dict[str, Any], restore_floats: bool = True) -> Event | None:
    """The event for a parsed line; None for unknown types. restore_floats=False when the
    line is known to hold no "nan"/"inf" string (see has_float_words): a long run's
    lines then skip the walk through every value."""
    kind = data.get("type", "")
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        return None
    names = _FIELD_NAMES[kind]
    if not restore_floats:
        return cls(**{key: value for key, value in data.items() if key in names})
    return cls(**{key: _restore_floats(value) for key, value in data.items() if key in names})


def has_float_words(line: str | bytes) -> bool:
    """Whether a JSON line may hold a non-finite number written as a string ("nan",
    "inf", "-inf"): such a string is always quoted in the line."""
    if isinstance(line, bytes):
        return b'"nan"' in line or b'inf"' in line
    return '"nan"' in line or 'inf"' in line


def from_json(line: str) -> Event | None:
    """The event on one line; None for a torn, unparsable or unknown line."""
    try:
        data = json.loads(line)
        return from_dict(data, has_float_words(line)) if isinstance(data, dict) else None
    except (json.JSONDecodeError, TypeError, ValueError):
        return None


def parse_lines(lines: Iterable[str]) -> Iterator[Event]:
    for line in lines:
        event = from_json(line) if line.strip() else None
        if event is not None:
            yield event


# How to_json writes a step event's type: found without parsing the line.
STEP_MARK = '"type":"step"'


def read_events(path: Path) -> list[Event]:
    """Every readable event in an events.jsonl (empty if the file does not exist yet)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return list(parse_lines(handle))
    except FileNotFoundError:
        return []
