"""A line plot of per-epoch metrics (textual-plotext), redrawn only when asked."""

from __future__ import annotations

import math

from textual_plotext import PlotextPlot

Series = dict[str, tuple[list[float], list[float]]]


class MetricPlot(PlotextPlot):
    def __init__(self, title: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.title = title
        self.series: Series = {}
        self.replots = 0  # how many times the plot was rebuilt (the UI keeps this bounded)

    def on_mount(self) -> None:
        self.replot()

    def show(self, series: Series) -> None:
        self.series = series
        self.replot()

    def replot(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.title(self.title)
        plt.xlabel("epoch")
        for name, (xs, ys) in self.series.items():
            points = [(x, y) for x, y in zip(xs, ys) if math.isfinite(y)]
            if points:
                plt.plot([x for x, _ in points], [y for _, y in points], label=name,
                         marker="braille")
        self.replots += 1
        self.refresh()
