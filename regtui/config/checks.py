"""Checking settings: one value against its field (type, choices, range, finiteness), a
layer of settings, settings that go together; merging layers and building a RunConfig."""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from typing import Any, Mapping

from regtui.config.fields import (DEVICE_PATTERN, INT64_HIGH, INT64_LOW, SECTIONS, ConfigError,
                                  Layer, ModelConfig, RunConfig)


# ---------------------------------------------------------------- checking one value

def _accepted(meta: Mapping[str, Any], hint: Any) -> str:
    if meta["choices"]:
        words = "one of " + ", ".join(meta["choices"])
        if float not in _members(hint):
            return words
        return f"{words}, or {_numeric_range(meta, 'a number')}"
    if meta["low"] is None and meta["high"] is None:
        return _type_name(hint)
    return _numeric_range(meta, _type_name(hint))


def _numeric_range(meta: Mapping[str, Any], kind: str) -> str:
    return f"{kind} in {interval_text(meta)}"


def interval_text(meta: Mapping[str, Any]) -> str:
    """A setting's accepted range as an interval, e.g. `[0, 1)` or `(0, inf)`, for error
    messages and docs/configuration.md alike."""
    low, high = meta.get("low"), meta.get("high")
    # An unbounded end is open: [0, inf) takes every number from 0 up.
    left = "(" if meta.get("low_open") or low is None else "["
    right = ")" if meta.get("high_open") or high is None else "]"
    return f"{left}{bound_text(low, '-inf')}, {bound_text(high, 'inf')}{right}"


def bound_text(value: float | None, unbounded: str) -> str:
    """A range bound as messages and docs write it: integers exactly, floats short."""
    if value is None or (isinstance(value, float) and math.isinf(value)):
        return unbounded
    return str(value) if isinstance(value, int) else f"{value:g}"


def _members(hint: Any) -> tuple[Any, ...]:
    """The types a `X | Y | None` hint accepts, in order, without None."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return tuple(arg for arg in typing.get_args(hint) if arg is not type(None))
    return (hint,)


def _type_name(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin is tuple:
        args = typing.get_args(hint)
        plural = {int: "integers", float: "numbers", str: "strings"}[args[0]]
        if args[-1] is Ellipsis:
            return f"a list of {plural}"
        return f"a list of {len(args)} {plural}"
    if origin is not None:  # `X | None`, `str | float`
        return " or ".join(_type_name(member) for member in _members(hint))
    return {bool: "true/false", int: "an integer", float: "a number", str: "a string"}[hint]


def _coerce_scalar(value: Any, hint: Any) -> Any:
    """Return value converted to hint, or raise TypeError."""
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                return float(value)
            except OverflowError:  # an integer beyond any float: as infinite as it gets
                return math.inf if value > 0 else -math.inf
    elif hint is str:
        if isinstance(value, str):
            return value
    raise TypeError


def _coerce(value: Any, hint: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin is tuple:
        args = typing.get_args(hint)
        if not isinstance(value, (list, tuple)):
            raise TypeError
        if args[-1] is not Ellipsis and len(value) != len(args):
            raise TypeError
        return tuple(_coerce_scalar(item, args[0]) for item in value)
    if origin is not None:  # `X | None`: None is never written; `str | float`: either
        for member in _members(hint):
            try:
                return _coerce_scalar(value, member)
            except TypeError:
                continue
        raise TypeError
    return _coerce_scalar(value, hint)


def _in_range(value: Any, meta: Mapping[str, Any]) -> bool:
    if isinstance(value, str):
        return not meta["choices"] or value in meta["choices"]
    items = value if isinstance(value, tuple) else (value,)
    for item in items:
        if isinstance(item, float) and math.isnan(item):
            return False
        low, high = meta["low"], meta["high"]
        if low is not None and (item < low or (meta["low_open"] and item == low)):
            return False
        if high is not None and (item > high or (meta["high_open"] and item == high)):
            return False
    return True


def check_value(section: str, key: str, value: Any, source: str) -> Any:
    """Validate and convert one setting; raise ConfigError naming source, key and what is accepted."""
    if section not in SECTIONS:
        raise ConfigError(f"{source}: unknown section [{section}]; "
                          f"known sections: {', '.join(SECTIONS)}")
    cls = SECTIONS[section]
    fields = {f.name: f for f in dataclasses.fields(cls)}
    if key not in fields:
        raise ConfigError(f"{source}: unknown key {section}.{key}; "
                          f"known keys in [{section}]: {', '.join(fields)}")
    hint = typing.get_type_hints(cls)[key]
    meta = fields[key].metadata
    if isinstance(value, bool) and meta["choices"] and "on" in meta["choices"]:
        value = "on" if value else "off"  # `amp = true`, as written before it had `auto`
    try:
        converted = _coerce(value, hint)
    except TypeError:
        raise ConfigError(f"{source}: {section}.{key} = {_show(value)} is not "
                          f"{_accepted(meta, hint)}") from None
    if meta["choices"] and isinstance(converted, str) and converted not in meta["choices"]:
        raise ConfigError(f"{source}: {section}.{key} = {_show(value)} is unknown; "
                          f"accepted: {_accepted(meta, hint)}")
    items = converted if isinstance(converted, tuple) else (converted,)
    if any(isinstance(item, float) and not math.isfinite(item) for item in items):
        # inf, -inf, nan and overflowing literals (1e999): nothing can train on them
        raise ConfigError(f"{source}: {section}.{key} = {_show(value)} is not a finite "
                          f"number; accepted: {_accepted(meta, hint)}")
    if any(isinstance(item, int) and not isinstance(item, bool) and meta["high"] is None
           and not INT64_LOW <= item <= INT64_HIGH for item in items):
        raise ConfigError(f"{source}: {section}.{key} = {_show(value)} does not fit in 64 "
                          f"bits; accepted: {_accepted(meta, hint)}")
    if not _in_range(converted, meta):
        raise ConfigError(f"{source}: {section}.{key} = {_show(value)} is out of range; "
                          f"accepted: {_accepted(meta, hint)}")
    problem = meta["check"](converted) if meta["check"] else None
    if problem:
        raise ConfigError(f"{source}: {section}.{key}: {problem}")
    return converted


def _show(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10 ** 30:
        return f"{str(value)[:12]}... (a {len(str(abs(value)))}-digit integer)"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def check_layer(layer: Mapping[str, Any], source: str) -> Layer:
    """Validate a partial config (nested dict) and return it with converted values."""
    checked: Layer = {}
    for section, values in layer.items():
        if section not in SECTIONS:
            raise ConfigError(f"{source}: unknown section [{section}]; "
                              f"known sections: {', '.join(SECTIONS)}")
        if not isinstance(values, Mapping):
            raise ConfigError(f"{source}: [{section}] must be a table of settings")
        for key, value in values.items():
            checked.setdefault(section, {})[key] = check_value(section, key, value, source)
    return checked


# ---------------------------------------------------------------- building a RunConfig

def merge(*layers: Mapping[str, Mapping[str, Any]]) -> Layer:
    """Later layers override earlier ones key by key."""
    merged: Layer = {}
    for layer in layers:
        for section, values in layer.items():
            merged.setdefault(section, {}).update(values)
    return merged


def build(layer: Mapping[str, Mapping[str, Any]], source: str = "config") -> RunConfig:
    """Turn a checked, merged layer into a RunConfig and check settings that go together."""
    sections = {name: cls(**layer.get(name, {})) for name, cls in SECTIONS.items()}
    config = RunConfig(**sections)
    _check_combinations(config, source)
    return config


def from_recorded(recorded: Any) -> RunConfig:
    """The typed config a run recorded (run_started's `config`), for readers of runs.

    Lenient where build() is strict: a section, key or value this version does not accept
    (an older or newer run, a hand-edited file) keeps its default, so a reader never fails
    on a run it can otherwise show."""
    layer: Layer = {}
    for section, values in (recorded.items() if isinstance(recorded, Mapping) else ()):
        if section not in SECTIONS or not isinstance(values, Mapping):
            continue
        for key, value in values.items():
            try:
                layer.setdefault(section, {})[key] = check_value(section, key, value, "run")
            except (ConfigError, TypeError):
                continue
    return RunConfig(**{name: cls(**layer.get(name, {})) for name, cls in SECTIONS.items()})


def _check_combinations(config: RunConfig, source: str) -> None:
    low, high = config.augment.scale
    if low > high:
        raise ConfigError(f"{source}: augment.scale = [{low:g}, {high:g}] must be [min, max] "
                          "with min <= max")
    if not DEVICE_PATTERN.match(config.train.device):
        raise ConfigError(f"{source}: train.device = {config.train.device!r} is not a device; "
                          "accepted: auto, cpu, cuda, cuda:N, mps")
    if config.model.pretrained and config.model.name != "resnet18":
        raise ConfigError(f"{source}: model.pretrained needs model.name = \"resnet18\" "
                          f"(got {config.model.name!r})")
    _check_batch_norm(config, source)
    if config.data.dataset == "imagefolder" and not config.data.data_dir:
        raise ConfigError(f"{source}: data.dataset = \"imagefolder\" needs data.data_dir "
                          "(--data-dir), the folder with one subfolder per class")


def uses_batch_norm(model: ModelConfig) -> bool:
    """Whether the model will hold batch norm layers (resnet18 keeps them when pretrained)."""
    return model.batchnorm or (model.name == "resnet18" and model.pretrained)


def _check_batch_norm(config: RunConfig, source: str) -> None:
    """Batch norm in training mode needs 2+ samples per batch (PyTorch raises "Expected
    more than 1 value per channel" on one). The trainer drops a last batch of one sample;
    every other batch has train.batch_size samples, or data.train_subset when fewer."""
    if not uses_batch_norm(config.model):
        return
    why = ("batch norm (" + ("built into pretrained resnet18" if config.model.pretrained
                             else "model.batchnorm = true")
           + "), which needs at least 2 samples per training batch")
    if config.train.batch_size == 1:
        raise ConfigError(f"{source}: train.batch_size = 1 cannot work with {why}; accepted: "
                          "train.batch_size >= 2, or model.batchnorm = false")
    if config.data.train_subset == 1:
        raise ConfigError(f"{source}: data.train_subset = 1 cannot work with {why}; "
                          "accepted: data.train_subset >= 2 (or 0 for all), or "
                          "model.batchnorm = false")
