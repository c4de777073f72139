"""How values and states look, in every view (console, runs table, compare, export, TUI).

One place for the number formats, the colours of alert levels and run statuses, and the
head of an alert line, so that a run reads the same wherever it is shown.
"""

from __future__ import annotations

import math
from typing import Any

# Rich styles; the TUI, the console and the runs table use the same ones.
LEVEL_STYLE = {"info": "cyan", "warning": "yellow", "critical": "bold red"}
STATUS_STYLE = {"completed": "green", "stopped": "yellow", "interrupted": "yellow",
                "diverged": "red", "failed": "red", "running": "cyan"}


def fmt(value: Any, digits: int = 3, missing: str = "-") -> str:
    """A value as a table cell: floats with `digits` decimals (nan and inf spelled out),
    lists in brackets, None and "" as `missing`, anything else as str()."""
    if value is None or value == "":
        return missing
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.{digits}f}" if math.isfinite(value) else str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(fmt(item, digits, missing) for item in value) + "]"
    return str(value)


def alert_head(level: str, kind: str, message: str) -> str:
    """"warning ·" before "overfitting since epoch 7: ...": the kind is not repeated when
    the message already starts with it; otherwise "critical · divergence:"."""
    if message.startswith(kind.replace("_", " ")):
        return f"{level} ·"
    return f"{level} · {kind}:"


def fmt_bytes(value: Any, missing: str = "-") -> str:
    """Bytes the way a memory figure reads: 812M, 10.2G, 1.5T (powers of 1024)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or \
            (isinstance(value, float) and not math.isfinite(value)):
        return missing
    size = float(value)
    for unit in ("B", "K", "M", "G"):
        if abs(size) < 1024:
            return f"{size:.0f}{unit}" if unit in ("B", "K", "M") or size >= 100 \
                else f"{size:.1f}{unit}"
        size /= 1024
    return f"{size:.1f}T"
