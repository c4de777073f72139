"""A line plot of per-epoch metrics (textual-plotext), redrawn only when asked."""

from __future__ import annotations

import math

from textual_plotext import PlotextPlot

from regtui.views.format import y_ticks

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
        shown: list[float] = []
        for name, (xs, ys) in self.series.items():
            points = [(x, y) for x, y in zip(xs, ys) if math.isfinite(y)]
            if points:
                plt.plot([x for x, _ in points], [y for _, y in points], label=name,
                         marker="braille")
                shown += [y for _, y in points]
        # Our own compact labels (`1e31`, not 34 digits): the plot keeps its width.
        ticks, labels = y_ticks(shown)
        if ticks:  # no data: plotext's empty frame
            plt.yticks(ticks, labels)
        self.replots += 1
        self.refresh()
