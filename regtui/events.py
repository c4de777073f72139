"""The event stream: frozen dataclasses, one JSON object per line in events.jsonl.

Readers skip torn or unparsable lines and unknown types; writers only ever add fields,
so every field has a default and unknown fields are ignored on reading.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import json
import math
import time
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

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
    # Who wrote the run: "trainer" (regtui's own loop), "api" (regtui.init in a user's
    # script or an integration) or "tensorboard" (`regtui import-tb`). Such a run's
    # `config` holds only the regtui settings that apply to it (alerts, train.epochs);
    # `user_config` holds the script's own config, as given (made JSON-safe).
    source: str = "trainer"
    user_config: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Step(Event):
    """Throttled: every train.log_every optimizer steps."""
    type: ClassVar[str] = "step"
    epoch: int = 0
    step: int = 0  # global step, counted from the start of the run
    loss: float = math.nan
    lr: float = math.nan
    grad_norm: float = math.nan
    extras: dict[str, Any] = field(default_factory=dict)  # an API run's other step metrics


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
    if isinstance(value, str) and value in _FLOAT_WORDS:
        return _FLOAT_WORDS[value]
    if isinstance(value, dict):
        return {key: _restore_floats(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_restore_floats(item) for item in value]
    return value


class BadEvent(ValueError):
    """A line of valid JSON whose fields have the wrong types (`"epoch": "two"`)."""


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise BadEvent(f"not a number: {value!r:.40}")
    if isinstance(value, str):
        if value not in _FLOAT_WORDS:
            raise BadEvent(f"not a number: {value!r:.40}")
        return _FLOAT_WORDS[value]
    try:
        return float(value)
    except OverflowError:  # an integer beyond any float
        raise BadEvent("number out of range") from None


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise BadEvent(f"not an integer: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise BadEvent(f"not an integer: {value!r:.40}")


def coerce(value: Any, hint: Any) -> Any:
    """`value` as the type `hint` (float, int, str, bool, Any, list[...], dict[str, ...],
    X | None), numbers coerced (2.0 -> 2, 2 -> 2.0, "nan" -> nan); raises BadEvent when it
    cannot be. For readers of files regtui wrote, which a person or a fault may have
    changed."""
    kind = type(value)
    if (hint is float and kind is float) or (hint is int and kind is int) or \
            (hint is str and kind is str):
        return value  # the common case, first: a long run's file has 100,000s of lines
    if hint is Any:
        return _restore_floats(value)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for option in (a for a in args if a is not type(None)):
            try:
                return coerce(value, option)
            except BadEvent:
                continue
        raise BadEvent(f"unexpected {type(value).__name__}")
    if hint is float:
        return _number(value)
    if hint is int:
        return _integer(value)
    if hint in (str, bool):
        if not isinstance(value, hint) or (hint is not bool and isinstance(value, bool)):
            raise BadEvent(f"not a {hint.__name__}: {value!r:.40}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise BadEvent(f"not a list: {value!r:.40}")
        return [coerce(item, args[0]) for item in value]
    if origin is dict:
        if not isinstance(value, dict):
            raise BadEvent(f"not a table: {value!r:.40}")
        return {key: coerce(item, args[1]) for key, item in value.items()}
    raise BadEvent(f"unsupported field type {hint!r}")  # pragma: no cover


# Tables inside events that the views read: a known key with the wrong type is dropped
# (the rest of the event stays readable); keys not listed pass through.
_TABLE_KEYS: dict[tuple[str, str], dict[str, Any]] = {
    ("run_started", "env"): {"device": str, "device_name": str, "torch": str, "python": str,
                             "precision": str, "threads": int},
    ("run_started", "model"): {"params": int, "trainable": int, "layers": list[str]},
    ("run_started", "data"): {"name": str, "shape": list[int], "classes": int, "train": int,
                              "val": int, "test": int, "warnings": list[str],
                              "steps_per_epoch": int},
    ("epoch", "extras"): {"weight_norm": float, "sparsity": float, "clipped": float,
                          "frozen": bool, "layer_grad_norms": dict[str, float]},
}


def _checked_table(kind: str, name: str, table: dict[str, Any]) -> dict[str, Any]:
    known = _TABLE_KEYS.get((kind, name))
    if not known:
        return table
    checked = {}
    for key, value in table.items():
        try:
            checked[key] = coerce(value, known[key]) if key in known else value
        except BadEvent:
            continue
    return checked


def _checked_samples(samples: dict[str, Any], classes: list[str]) -> dict[str, Any]:
    """run_finished's sample images, all or nothing: {} unless every part fits."""
    if not samples:
        return {}
    try:
        shape = coerce(samples.get("shape"), list[int])
        pixels = coerce(samples.get("pixels"), list[str])
        labels = coerce(samples.get("labels"), list[int])
        predictions = coerce(samples.get("predictions"), list[int])
    except BadEvent:
        return {}
    count = len(classes)
    if len(shape) != 3 or shape[0] not in (1, 3) or not all(0 < n <= 1024 for n in shape) or \
            not all(0 <= n < count for n in labels + predictions) or \
            not len(pixels) == len(labels) == len(predictions):
        return {}
    size = shape[0] * shape[1] * shape[2]
    try:  # every image must decode to its C*H*W bytes (a view draws them pixel by pixel)
        if any(len(base64.b64decode(image, validate=True)) != size for image in pixels):
            return {}
    except ValueError:  # binascii.Error
        return {}
    return {**samples, "shape": shape, "pixels": pixels, "labels": labels,
            "predictions": predictions}


_SCALARS = (float, int, str, bool)


@functools.cache
def _field_types(cls: type[Event]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def from_dict(data: dict[str, Any]) -> Event | None:
    """The event for a parsed line; None for unknown types.

    Field types are checked and numbers coerced (an int where a float belongs, "nan");
    raises BadEvent for a field of the wrong type (`"epoch": "two"`, a config that is not
    a table), so that a reader skips the line instead of failing later."""
    cls = EVENT_TYPES.get(data.get("type", "")) if isinstance(data.get("type"), str) else None
    if cls is None:
        return None
    fields = {}
    for name, hint in _field_types(cls).items():
        if name in data:
            value = data[name]
            if type(value) is hint and hint in _SCALARS:  # the common case, without a call
                fields[name] = value
                continue
            value = coerce(value, hint)
            fields[name] = _checked_table(cls.type, name, value) if isinstance(value, dict) \
                else value
    if cls is RunFinished and "samples" in fields:
        fields["samples"] = _checked_samples(fields["samples"], fields.get("classes", []))
    return cls(**fields)


def _parse(line: str) -> Event | None:
    """The event on one line: None for an unknown type; BadEvent for a line that is not
    an event at all (not JSON, not an object, wrong field types)."""
    try:
        data = json.loads(line)
    except (ValueError, RecursionError):
        raise BadEvent("not JSON") from None
    if not isinstance(data, dict):
        raise BadEvent("not a JSON object")
    return from_dict(data)


def from_json(line: str) -> Event | None:
    """The event on one line; None for a torn, unparsable, ill-typed or unknown line."""
    try:
        return _parse(line)
    except BadEvent:
        return None


@dataclass
class EventLog:
    """Every readable event of an events.jsonl, and how many complete lines were not
    (a torn last line and an unknown event type do not count as unreadable)."""
    events: list[Event]
    unreadable: int = 0


def parse_log(text: str) -> EventLog:
    """The events in the text of an events.jsonl; bad lines skipped and counted."""
    lines = text.split("\n")
    torn = lines.pop()  # "" when the text ends with a newline; else a line being written
    events: list[Event] = []
    unreadable = 0
    for line in lines:
        if not line.strip():
            continue
        try:
            event = _parse(line)
        except BadEvent:
            unreadable += 1
            continue
        if event is not None:
            events.append(event)
    if torn.strip():
        event = from_json(torn)  # a complete last line without its newline is still read
        if event is not None:
            events.append(event)
    return EventLog(events, unreadable)


def read_log(path: Path) -> EventLog:
    """The events of an events.jsonl with the count of unreadable lines (empty if the file
    does not exist yet). Raises OSError when the file exists but cannot be read."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return parse_log(handle.read())
    except FileNotFoundError:
        return EventLog([])


# How to_json writes a step event's type: found without parsing the line.
STEP_MARK = '"type":"step"'


def read_events(path: Path) -> list[Event]:
    """Every readable event in an events.jsonl (empty if the file does not exist yet)."""
    return read_log(path).events
