"""A script's own config, as given to regtui.init: made JSON-safe, and written as TOML.

Scripts pass dicts, argparse Namespaces, dataclasses, OmegaConf-like mappings, with
values that may be NumPy or torch scalars, paths, tuples or None. regtui records them as
plain JSON (run_started's `user_config`) and as the `[user]` table of config.toml, so
`regtui compare` can show which of the script's settings differ between runs. Torch-free.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from typing import Any, Mapping

from regtui.config import toml_value

MAX_DEPTH = 8  # deeper nesting is recorded as text


def plain(value: Any, depth: int = 0) -> Any:
    """`value` as JSON-safe data: mappings with str keys, lists, numbers, str, bool, None.

    NumPy / torch scalars become numbers; anything else that JSON cannot hold becomes
    its str(). Never raises."""
    try:
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if depth >= MAX_DEPTH:
            return str(value)
        if isinstance(value, Mapping):
            return {str(key): plain(item, depth + 1) for key, item in value.items()}
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {f.name: plain(getattr(value, f.name), depth + 1)
                    for f in dataclasses.fields(value)}
        if isinstance(value, (list, tuple, set, frozenset)):
            items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
            return [plain(item, depth + 1) for item in items]
        item = getattr(value, "item", None)  # NumPy scalars, 0-d tensors
        if callable(item) and getattr(value, "ndim", 0) == 0:
            return plain(item(), depth + 1)
        if hasattr(value, "__dict__") and type(value).__name__ == "Namespace":
            return plain(vars(value), depth + 1)  # argparse
        return str(value)
    except Exception:
        return f"<{type(value).__name__}>"


def user_config(config: Any) -> dict[str, Any]:
    """The config a script passed to init, as a plain dict (TypeError if it is not a
    mapping, a dataclass or an argparse Namespace)."""
    if config is None:
        return {}
    as_plain = plain(config)
    if not isinstance(as_plain, dict):
        raise TypeError(f"config must be a dict (or a dataclass or argparse Namespace), "
                        f"not {type(config).__name__}")
    return as_plain


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(name: str) -> str:
    return name if _BARE_KEY.match(name) else json.dumps(name)


def _value(value: Any) -> str | None:
    """A TOML value; None for None (TOML has no null: the key is left out)."""
    if value is None:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        pairs = [(key, _value(item)) for key, item in value.items()]
        return "{" + ", ".join(f"{_key(key)} = {text}" for key, text in pairs
                               if text is not None) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) or '""' for item in value) + "]"
    return toml_value(value)


def to_toml(config: Mapping[str, Any], table: str = "user") -> str:
    """`[table]` with one line per key of a plain() config (nested dicts inline)."""
    lines = [f"[{table}]"]
    for key, value in config.items():
        text = _value(value)
        lines.append(f"{_key(key)} = {text}" if text is not None
                     else f"# {_key(key)} = None (TOML has no null)")
    return "\n".join(lines) + "\n"
