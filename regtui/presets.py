"""Find, load, compose and describe presets: partial configs in TOML with a [preset] table."""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Mapping, Sequence

from regtui import config
from regtui.config import ConfigError, Layer, RunConfig

GROUPS = ("regularization", "init", "augmentation", "model", "training")


@dataclass(frozen=True)
class Preset:
    name: str
    summary: str  # one line, for lists
    description: str  # what it changes, why it helps, typical values
    group: str
    path: Path
    settings: Layer
    builtin: bool


def builtin_dir() -> Path:
    """The presets shipped with regtui (inside the wheel, or presets/ in a checkout)."""
    checkout = Path(__file__).resolve().parent.parent / "presets"
    if checkout.is_dir():
        return checkout
    return Path(str(resources.files("regtui.builtin_presets")))


def user_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "regtui" / "presets"


def _names_in(folder: Path) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.toml")) if folder.is_dir() else []


def known_names() -> list[str]:
    return sorted(set(_names_in(builtin_dir())) | set(_names_in(user_dir())))


def find(name_or_path: str) -> tuple[Path, bool]:
    """Built-in presets first, then ~/.config/regtui/presets, then a path. Returns (path, builtin)."""
    for folder, builtin in ((builtin_dir(), True), (user_dir(), False)):
        candidate = folder / f"{name_or_path}.toml"
        if "/" not in name_or_path and candidate.is_file():
            return candidate, builtin
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path, False
    if path.exists():  # a directory, a FIFO, ...: named as what it is
        raise ConfigError(f"{path}: is a directory, not a preset file" if path.is_dir()
                          else f"{path}: not a regular file, not a preset file")
    raise ConfigError(f"unknown preset {name_or_path!r}; known presets: "
                      f"{', '.join(known_names())} (or a path to a .toml file)")


def parse(raw: Mapping[str, Any], path: Path, builtin: bool) -> Preset:
    """Check a preset's parsed TOML: a [preset] table plus a partial config."""
    raw = dict(raw)
    meta = raw.pop("preset", None)
    if not isinstance(meta, Mapping) or not isinstance(meta.get("description"), str):
        raise ConfigError(f"{path}: a preset needs a [preset] table with a description string")
    unknown = set(meta) - {"description", "summary", "group"}
    if unknown:
        raise ConfigError(f"{path}: unknown key preset.{sorted(unknown)[0]}; "
                          "known keys in [preset]: description, summary, group")
    group = meta.get("group", "regularization")
    if group not in GROUPS:
        raise ConfigError(f"{path}: preset.group = {group!r} is unknown; "
                          f"accepted: one of {', '.join(GROUPS)}")
    settings = config.check_layer(raw, str(path))
    description = meta["description"].strip()
    summary = str(meta.get("summary") or description.split(". ")[0])
    return Preset(path.stem, summary, description, group, path, settings, builtin)


def load(name_or_path: str) -> Preset:
    path, builtin = find(name_or_path)
    return parse(config.read_toml(path), path, builtin)


def available() -> list[Preset]:
    """Every preset a name can reach; a user preset with a built-in's name is shadowed."""
    return [load(name) for name in known_names()]


@dataclass(frozen=True)
class Resolved:
    config: RunConfig
    presets: tuple[str, ...]


def resolve(
    preset_names: Sequence[str] = (),
    assignments: Sequence[str] = (),
    flags: Layer | None = None,
    config_file: Path | None = None,
) -> Resolved:
    """config file, then presets left to right, then --set, then flags: later wins."""
    base = config.load_file(config_file) if config_file else {}
    loaded = [load(name) for name in preset_names]
    set_layer = config.layer_from_assignments(list(assignments))
    flag_layer = config.check_layer(flags or {}, "command line")
    merged = config.merge(base, *(p.settings for p in loaded), set_layer, flag_layer)
    return Resolved(config.build(merged), tuple(p.name for p in loaded))


def explicit_settings(preset_names: Sequence[str], settings: Mapping[str, Mapping[str, Any]]
                      ) -> Layer:
    """The settings of a run (`config.to_dict` form) that its presets and the defaults do
    not explain: its --set values and flags, to carry into a new run with other presets.
    A preset that no longer exists explains nothing."""
    try:
        explained = config.to_dict(resolve(preset_names).config)
    except ConfigError:
        explained = config.to_dict(config.build({}))
    return {section: changed for section, values in settings.items()
            if (changed := {key: value for key, value in values.items()
                            if explained.get(section, {}).get(key, value) != value})}


def settings_toml(preset: Preset) -> str:
    """The preset's own settings as TOML (what it changes from the defaults)."""
    lines: list[str] = []
    for section, values in preset.settings.items():
        lines += [f"[{section}]"] + [f"{key} = {config.toml_value(value)}"
                                     for key, value in values.items()] + [""]
    return "\n".join(lines).strip() + "\n" if lines else "# (changes nothing)\n"
