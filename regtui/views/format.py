"""How values and states look, in every view (console, runs table, compare, export, TUI).

One place for the number formats, the colours of alert levels and run statuses, and the
head of an alert line, so that a run reads the same wherever it is shown.
"""

from __future__ import annotations

import math
import re
from typing import Any

# Rich styles; the TUI, the console and the runs table use the same ones.
LEVEL_STYLE = {"info": "cyan", "warning": "yellow", "critical": "bold red"}
STATUS_STYLE = {"completed": "green", "stopped": "yellow", "interrupted": "yellow",
                "diverged": "red", "failed": "red", "running": "cyan", "unreadable": "magenta"}


def fmt(value: Any, digits: int = 3, missing: str = "-") -> str:
    """A value as a table cell: floats with `digits` decimals (nan and inf spelled out,
    1e9 and beyond in scientific notation),
    lists in brackets, None and "" as `missing`, anything else as str()."""
    if value is None or value == "":
        return missing
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        # A diverged loss (1e31) in fixed point would take 32 columns of a table.
        return f"{value:.{digits}f}" if abs(value) < 1e9 else f"{value:.{max(digits, 1)}e}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(fmt(item, digits, missing) for item in value) + "]"
    return str(value)


def alert_head(level: str, kind: str, message: str) -> str:
    """"warning ·" before "overfitting since epoch 7: ...": the kind is not repeated when
    the message already starts with it; otherwise "critical · divergence:"."""
    if message.startswith(kind.replace("_", " ")):
        return f"{level} ·"
    return f"{level} · {kind}:"


# ---------------------------------------------------------------- text from files

# Escape sequences first (CSI `ESC [ ... final`, OSC/DCS/APC/PM/SOS strings up to BEL or
# ESC \, and two-character ESC X), so that their parameters do not survive as text; then
# every remaining C0/C1 control character, DEL, and the Unicode bidirectional overrides
# that can make a name read differently from what it is.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]?"          # CSI
                      r"|\x9b[0-?]*[ -/]*[@-~]?"             # 8-bit CSI
                      r"|[\x1b][\]PX^_][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC, DCS, ...
                      r"|[\x90\x9d\x98\x9e\x9f][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
                      r"|\x1b[ -~]?")                        # ESC X (and a lone ESC)
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = re.compile("[\t\n\r\x0b\x0c\x85\u2028\u2029]+")


def safe_text(value: Any, lines: bool = False) -> str:
    """`value` as text that is safe to show in a terminal: no escape sequences, no control
    characters. With `lines`, newlines and tabs stay (text shown as a block); otherwise
    every line break becomes one space (a table cell, a name, a one-line message).

    Use it on everything a file or a user supplied: preset names and descriptions, class
    folder names, image paths, run ids read from disk, error messages that quote input.
    Print the result as plain text (rich `Text`, markup=False), never as markup."""
    text = value if isinstance(value, str) else str(value)
    text = _ESCAPES.sub("", text)
    if lines:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        return _CONTROLS.sub("", text.replace("\x0b", "\n").replace("\x0c", "\n"))
    return _CONTROLS.sub("", _LINE_BREAKS.sub(" ", text))


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


def duration(seconds: float | None) -> str:
    """A duration for a status line: "42s", "3m07s", "2h05m"; None as "-"."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def tick_labels(ticks: list[float], each: bool = False) -> list[str]:
    """Axis labels for evenly spaced ticks: as many decimals as the spacing needs, so
    that every label differs ("0.25 0.50 0.75"); very large or very small values in
    short exponent form ("1e31"). each=True: every label as short as it can be, for
    ticks that are not evenly spaced (a log axis: "0.0001 0.01 1")."""
    if not ticks:
        return []
    if each:
        return [f"{t:g}".replace("e-0", "e-").replace("e+0", "e").replace("e+", "e")
                for t in ticks]
    finite = [t for t in ticks if math.isfinite(t)]
    biggest = max((abs(t) for t in finite), default=0.0)
    steps = [abs(b - a) for a, b in zip(finite, finite[1:]) if b != a]
    step = min(steps) if steps else (biggest or 1.0)
    if biggest >= 1e5 or 0 < biggest < 1e-3:
        return [_exponent_label(t, step) for t in ticks]
    decimals = 0
    while decimals < 6 and abs(round(step, decimals) - step) > step * 1e-6:
        decimals += 1
    return [f"{t:.{decimals}f}" if math.isfinite(t) else str(t) for t in ticks]


def _exponent_label(value: float, step: float) -> str:
    if value == 0:
        return "0"
    digits = 1
    while digits < 6 and len({f"{value:.{digits}e}", f"{value + step:.{digits}e}"}) < 2:
        digits += 1
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
