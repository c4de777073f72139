"""Settings as text: `--set section.key=value`, TOML files read (with one-line errors),
a RunConfig written back as TOML or a plain dict, the table of every setting."""

from __future__ import annotations

import dataclasses
import json
import tomllib
import typing
from pathlib import Path
from typing import Any

from regtui.config.checks import _accepted, check_layer, check_value
from regtui.config.fields import PRIVATE, SECTIONS, ConfigError, Layer, RunConfig


def parse_assignment(text: str) -> tuple[str, str, Any]:
    """Parse `section.key=value`; the value is TOML, or a bare word taken as a string."""
    source = f"--set {text}"
    name, sep, raw = text.partition("=")
    section, dot, key = name.strip().partition(".")
    if not sep or not dot or not key:
        raise ConfigError(f"{source}: expected section.key=value, e.g. --set model.dropout=0.3")
    raw = raw.strip()
    try:
        value = tomllib.loads(f"value = {raw}")["value"]
    except tomllib.TOMLDecodeError:
        value = raw  # a bare word: --set train.optimizer=sgd
    return section, key, check_value(section, key, value, source)


def layer_from_assignments(assignments: list[str]) -> Layer:
    layer: Layer = {}
    for text in assignments:
        section, key, value = parse_assignment(text)
        layer.setdefault(section, {})[key] = value
    return layer


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file. Raises ConfigError naming the file when it is missing, a
    directory, a device or pipe, unreadable, not UTF-8 text (a binary file) or not
    valid TOML."""
    if path.exists() and not path.is_file() and not path.is_dir():
        # /dev/zero would be read forever, a FIFO would wait for a writer
        raise ConfigError(f"{path}: not a regular file, not a TOML file")
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a TOML file") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not a TOML file: byte {error.object[error.start]:#04x} "
                          f"at offset {error.start} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: TOML syntax error: {error}") from None
    except OSError as error:  # permissions, a FIFO that errors, an I/O error
        raise ConfigError(f"{path}: cannot be read: {error.strerror or error}") from None


def load_file(path: Path) -> Layer:
    """A config file (such as runs/<id>/config.toml) as a checked layer."""
    return check_layer(read_toml(path), str(path))


# ---------------------------------------------------------------- writing

def to_dict(config: RunConfig) -> dict[str, dict[str, Any]]:
    """Plain nested dict (tuples as lists) for JSON and TOML, without the private
    settings (notify.urls, notify.command): what a run records of its config."""
    plain = dataclasses.asdict(config)
    return {section: {key: list(value) if isinstance(value, tuple) else value
                      for key, value in values.items() if key not in PRIVATE[section]}
            for section, values in plain.items()}


def to_toml(config: RunConfig, header: str = "") -> str:
    """The resolved config as TOML that load_file reads back to the same RunConfig."""
    lines = [f"# {line}" for line in header.splitlines()]
    for section, values in to_dict(config).items():
        lines += ["", f"[{section}]"]
        if PRIVATE[section]:
            lines.append(f"# not recorded: {', '.join(sorted(PRIVATE[section]))}")
        lines += [f"{key} = {toml_value(value)}" for key, value in values.items()
                  if value is not None]  # TOML has no null: None is the default
    return "\n".join(lines).lstrip("\n") + "\n"


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    return "[" + ", ".join(toml_value(item) for item in value) + "]"


def describe_fields() -> list[tuple[str, str, str, str]]:
    """(key, default, accepted, doc) for every setting: for help screens and docs/configuration.md."""
    rows = []
    for section, cls in SECTIONS.items():
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            default = "" if f.default is None else toml_value(
                list(f.default) if isinstance(f.default, tuple) else f.default)
            rows.append((f"{section}.{f.name}", default, _accepted(f.metadata, hints[f.name]),
                         f.metadata["doc"]))
    return rows
