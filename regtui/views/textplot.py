"""Curves as plain text (plotext, no colours): for markdown exports and `compare`.

Plain text has no colours, so every series has its own marker, and the legend is printed
under the plot (plotext's own legend can fail on short series).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from regtui.views.scales import y_ticks

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
    """Side-by-side panels (title, series), then one legend line for the series. The y
    axes carry compact labels (views.scales.y_ticks): `1e31`, not 32 digits."""
    import plotext
    from plotext._figure import _figure_class  # plotext < 6 (pinned)

    # A figure of our own each time: plotext's module-level figure keeps subplots and data
    # from one call to the next (a second export in one process drew the first's curves).
    figure = _figure_class()
    figure.plotsize(width, height)
    figure.theme("clear")
    figure.subplots(1, len(panels))
    for index, (title, series) in enumerate(panels, start=1):
        panel = figure.subplot(1, index)
        panel.title(title)
        shown: list[float] = []
        for curve in series:
            points = [(x, y) for x, y in zip(curve.xs, curve.ys) if math.isfinite(y)]
            if points:
                panel.plot([p[0] for p in points], [p[1] for p in points], marker=curve.marker)
                shown += [p[1] for p in points]
        ticks, labels = y_ticks(shown)
        if ticks:  # our compact labels: plotext's own take 34 columns for a loss of 1e31
            panel.yticks(ticks, labels)
    text = plotext.uncolorize(figure.build())
    labels = {curve.label: curve.marker for _, series in panels for curve in series}
    legend = "   ".join(f"{marker} {label}" for label, marker in labels.items())
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n" + legend
