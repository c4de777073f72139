"""The numbers behind a plot's look: evenly spaced "nice" ticks and EMA smoothing.

Pure functions of plain lists (no plotext, no Textual), shared by the monitor's plots and
anything else that draws curves.
"""

from __future__ import annotations

import math
from typing import Sequence

from regtui.views.format import tick_labels

NICE_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)


def nice_ticks(low: float, high: float, count: int = 5, integer: bool = False) -> list[float]:
    """At most `count` evenly spaced ticks at round numbers (1, 2, 2.5 or 5 times a power
    of ten) covering [low, high]: the first tick is at or below low, the last at or above
    high. integer=True keeps steps whole (epochs)."""
    count = max(count, 2)
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    if high < low:
        low, high = high, low
    if high == low:  # one value: a small span around it
        pad = abs(low) * 0.05 or 1.0
        low, high = low - pad, high + pad
    for target in range(count - 1, 0, -1):
        raw = (high - low) / target
        magnitude = 10 ** math.floor(math.log10(raw))
        for factor in NICE_STEPS:
            step = factor * magnitude
            if integer:
                step = max(round(step), 1) if factor != 2.5 or magnitude >= 10 else 0
                if not step:
                    continue
            if step < raw * (1 - 1e-9):
                continue
            first = math.floor(low / step + 1e-9) * step
            last = math.ceil(high / step - 1e-9) * step
            ticks = [first + index * step
                     for index in range(int(round((last - first) / step)) + 1)]
            if len(ticks) <= count:
                return [round(t, 12) for t in ticks]
    return [low, high]


def ticks_inside(low: float, high: float, count: int = 5, integer: bool = False
                 ) -> list[float]:
    """Nice ticks that stay within [low, high] (an x axis that ends where the data ends)."""
    for wanted in range(count, count + 3):
        inside = [t for t in nice_ticks(low, high, wanted, integer)
                  if low - 1e-9 <= t <= high + 1e-9]
        if len(inside) >= min(count, 3) or wanted == count + 2:
            return inside[:count] or [low]
    return [low]


def log_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Ticks for a log axis over positive [low, high]: whole decades where the span has
    two or more, else nice linear ticks (all positive)."""
    if low <= 0 or high <= 0:
        return []
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    if math.log10(high / low) >= 1:  # a decade or more: the decades
        stride = math.ceil((last - first + 1) / count)
        return [10.0 ** k for k in range(first, last + 1, stride)]
    ticks = [t for t in nice_ticks(low, high, count) if t > 0]
    return ticks if len(ticks) >= 2 else [10.0 ** first, 10.0 ** last]


def ema(values: Sequence[float], weight: float) -> list[float]:
    """TensorBoard's smoothing: an exponential moving average, debiased so that the
    first points are not pulled towards zero. weight 0 returns the values; non-finite
    values pass through and are left out of the average."""
    if weight <= 0:
        return list(values)
    smoothed, last, count = [], 0.0, 0
    for value in values:
        if not math.isfinite(value):
            smoothed.append(value)
            continue
        count += 1
        last = last * weight + (1 - weight) * value
        smoothed.append(last / (1 - weight ** count))
    return smoothed


def y_ticks(values: Sequence[float], count: int = 5) -> tuple[list[float], list[str]]:
    """Round ticks covering the finite `values`, with compact labels (`1e31`, not 32
    digits), for plain-text plots; ([], []) when there is nothing to show."""
    finite = [value for value in values if math.isfinite(value)]
    if not finite:
        return [], []
    ticks = nice_ticks(min(finite), max(finite), count)
    return ticks, tick_labels(ticks)
