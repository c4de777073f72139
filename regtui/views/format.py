"""How values and states look, in every view (console, runs table, compare, export, TUI).

One place for the number formats, the colours of alert levels and run statuses, and the
head of an alert line, so that a run reads the same wherever it is shown.
"""

from __future__ import annotations

import math
import re
from typing import Any, Sequence

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


# ---------------------------------------------------------------- plot axes

def tick_label(value: float) -> str:
    """A compact axis label: plain numbers from 0.001 to 99,999 (`0.25`, `12`, `1234.5`,
    at most 6 significant digits), beyond that `1e31` / `-2.5e30` style (a short mantissa,
    no `+`, no leading zeros in the exponent), and small values as `1e-5`. At most 9
    characters for any finite float, so a plot's y axis stays narrow whatever the loss does."""
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    magnitude = abs(value)
    if 1e-3 <= magnitude < 1e5:
        for digits in (6, 5, 4, 3):
            text = f"{value:.{digits}g}"
            if "e" not in text and len(text) <= 8:
                return text
    return _scientific(value)


def _scientific(value: float) -> str:
    mantissa, exponent = f"{value:.1e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About `count` round tick values (1, 2, 2.5 or 5 times a power of ten) covering
    [low, high]; one tick when the range is empty; none for non-finite bounds."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    if high < low:
        low, high = high, low
    span = high - low
    if span <= abs(high) * 1e-12 or span == 0:
        return [low]
    raw = span / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next((m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw), 10 * power)
    first = math.ceil(low / step - 1e-9) * step
    ticks, index = [], 0
    while first + index * step <= high * (1 + 1e-12) + abs(step) * 1e-9:
        ticks.append(first + index * step)
        index += 1
        if index > 4 * count:  # cannot happen with a finite span; a guard all the same
            break
    return [0.0 if abs(t) < step * 1e-9 else t for t in ticks]


def y_ticks(values: Sequence[float], count: int = 5) -> tuple[list[float], list[str]]:
    """Tick positions and compact labels for a y axis showing `values` (non-finite values
    are ignored): what both the monitor's plots and the text plots of exports use."""
    finite = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    if not finite:
        return [], []
    ticks = nice_ticks(min(finite), max(finite), count)
    return ticks, [tick_label(t) for t in ticks]


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
