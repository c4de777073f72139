"""Curves as plain text (plotext, no colours): for markdown exports and `compare`.

Plain text has no colours, so every series has its own marker, and the legend is printed
under the plot (plotext's own legend can fail on short series).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

MARKERS = ("•", "x", "+", "o", "*", "#")


@dataclass(frozen=True)
class Series:
    """One curve: its legend label, its marker and its points (non-finite ones dropped)."""
    label: str
    marker: str
    xs: Sequence[float]
    ys: Sequence[float]


def text_plot(panels: Sequence[tuple[str, Sequence[Series]]], width: int = 78,
              height: int = 18) -> str:
    """Side-by-side panels (title, series), then one legend line for the series."""
    import plotext as plt

    plt.clear_figure()
    plt.plotsize(width, height)
    plt.theme("clear")
    plt.subplots(1, len(panels))
    for index, (title, series) in enumerate(panels, start=1):
        plt.subplot(1, index)
        plt.title(title)
        for curve in series:
            points = [(x, y) for x, y in zip(curve.xs, curve.ys) if math.isfinite(y)]
            if points:
                plt.plot([p[0] for p in points], [p[1] for p in points], marker=curve.marker)
    text = plt.uncolorize(plt.build())
    plt.clear_figure()
    labels = {curve.label: curve.marker for _, series in panels for curve in series}
    legend = "   ".join(f"{marker} {label}" for label, marker in labels.items())
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n" + legend
