"""A line plot of per-epoch metrics (textual-plotext), redrawn only when asked.

What it draws so that it reads at 80×24 and without colour:
- the legend is in the title line, outside the data, and every series has its own
  glyph (colours only add to it: NO_COLOR turns them into greys);
- y ticks are evenly spaced round numbers, each on its own row; x ticks whole epochs;
- a log-scale y (loss plots) and TensorBoard's debiased EMA smoothing, with the raw
  curve kept faint behind the smoothed one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from textual_plotext import PlotextPlot

from regtui.views.format import tick_labels
from regtui.views.scales import ema, log_ticks, nice_ticks, ticks_inside

Series = dict[str, tuple[list[float], list[float]]]

# (glyph drawn, glyph in the legend, colour), by series order: train, val, then #3...
STYLES = (("braille", "⣀⣀", "cyan"), ("•", "••", "orange"), ("x", "xx", "magenta"),
          ("+", "++", "green"), ("o", "oo", "blue"), ("*", "**", "red"))
RAW_GLYPH, RAW_COLOUR = "·", "gray"
SMOOTHING_STEPS = (0.0, 0.6, 0.9)  # what `m` cycles through


@dataclass(frozen=True)
class PlotOptions:
    """How plots draw their curves; one for the whole app, toggled by keys."""
    log_y: bool = False  # log-scale y on plots that allow it (losses)
    smoothing: float = 0.0  # EMA weight, 0 = off (TensorBoard's slider)

    def next_smoothing(self) -> PlotOptions:
        steps = SMOOTHING_STEPS
        index = min(range(len(steps)), key=lambda i: abs(steps[i] - self.smoothing))
        return PlotOptions(self.log_y, steps[(index + 1) % len(steps)])


class MetricPlot(PlotextPlot):
    def __init__(self, title: str, *, id: str | None = None, log_allowed: bool = False,
                 options: PlotOptions = PlotOptions()) -> None:
        super().__init__(id=id)
        self.title = title
        self.log_allowed = log_allowed
        self.options = options
        self.series: Series = {}
        self.replots = 0  # how many times the plot was rebuilt (the UI keeps this bounded)

    def on_mount(self) -> None:  # PlotextPlot's own on_mount runs too (Textual calls both)
        self.replot()

    def on_resize(self) -> None:
        self.replot()  # tick counts depend on the height

    def show(self, series: Series) -> None:
        self.series = series
        self.replot()

    def set_options(self, options: PlotOptions) -> None:
        if options != self.options:
            self.options = options
            self.replot()

    @property
    def log_y(self) -> bool:
        return self.log_allowed and self.options.log_y

    def heading(self) -> str:
        """The title with the legend (glyph and name per series) and the view's state,
        shortened to the plot's width (plotext drops a title that does not fit)."""
        width = max(self.size.width - 2, 10) if self.size.width else 200
        state = (" log" if self.log_y else "") + (
            f" ema {self.options.smoothing:g}" if self.options.smoothing else "")
        pairs = list(zip(self.series, STYLES))
        for legend in (
                "  ".join(f"{style[1]} {name}" for name, style in pairs),
                " ".join(f"{style[1][0]}{name}" for name, style in pairs)):
            text = f"{self.title}{state}  {legend}".rstrip()
            if len(text) <= width:
                return text
        return text[:width]

    def replot(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.title(self.heading())
        plt.xlabel("epoch")
        curves = []
        for (name, (xs, ys)), style in zip(self.series.items(), STYLES):
            points = [(x, y) for x, y in zip(xs, ys)
                      if math.isfinite(y) and (y > 0 or not self.log_y)]
            if points:
                curves.append(([p[0] for p in points], [p[1] for p in points], style))
        shown: list[float] = []
        for xs, ys, (glyph, _, colour) in curves:
            smoothed = ema(ys, self.options.smoothing)
            if self.options.smoothing:
                plt.plot(xs, self._y(ys), marker=RAW_GLYPH, color=RAW_COLOUR)
            plt.plot(xs, self._y(smoothed), marker=glyph, color=colour)
            shown += ys
        if curves:
            self._axes([x for xs, _, _ in curves for x in xs], shown)
        self.replots += 1
        self.refresh()

    def _y(self, values: list[float]) -> list[float]:
        return [math.log10(v) for v in values] if self.log_y else values

    def _axes(self, xs: list[float], ys: list[float]) -> None:
        """Even ticks on evenly spaced rows: at most one a row, none skipped."""
        plt = self.plt
        rows = max(self.size.height - 5, 2)  # the canvas: less title, frame, ticks, label
        count = max(2, min(6, (rows - 1) // 2 + 1))
        if self.log_y:
            ticks = log_ticks(min(ys), max(ys), count)
            positions = [math.log10(t) for t in ticks]
        else:
            ticks = nice_ticks(min(ys), max(ys), count)
            positions = ticks
        if len(ticks) >= 2:
            # Every tick k rows below the next; the rows left over go above the last one.
            per_tick = max((rows - 1) // (len(ticks) - 1), 1)
            spare = max(rows - 1 - per_tick * (len(ticks) - 1), 0)
            step = (positions[-1] - positions[0]) / (len(ticks) - 1)
            plt.ylim(positions[0], positions[-1] + spare * step / per_tick)
            plt.yticks(positions, tick_labels(ticks, each=self.log_y))
        low, high = min(xs), max(xs)
        integer = all(float(x).is_integer() for x in (low, high))
        xticks = ticks_inside(low, high, max(2, min(6, self.size.width // 12)), integer)
        if high > low:
            plt.xlim(low, high)
        plt.xticks(xticks, tick_labels(xticks))
