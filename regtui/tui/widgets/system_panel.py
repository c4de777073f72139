"""The machine beside the curves: one line (CPU, RAM, RSS, GPUs), sparklines when wide."""

from __future__ import annotations

import math
from typing import Callable

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Sparkline, Static

from regtui.events import System
from regtui.tui.state import RunState
from regtui.tui.widgets.panels import LivePanel
from regtui.views.system import system_line

MAX_GPU_SPARKS = 2  # GPUs with sparklines; the line above names every GPU


def _finite(value: object) -> float:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else 0.0


def _gpu_figure(index: int, key: str) -> Callable[[System], float]:
    def read(sample: System) -> float:
        gpu = next((g for g in sample.gpus if g.get("index") == index), {})
        return _finite(gpu.get(key))
    return read


def _series(sample: System) -> dict[str, Callable[[System], float]]:
    """Label -> how to read the figure from a sample, for the sparklines to draw."""
    series: dict[str, Callable[[System], float]] = {
        "cpu": lambda s: _finite(s.cpu_percent),
        "ram": lambda s: _finite(s.ram_used),
    }
    for gpu in sample.gpus[:MAX_GPU_SPARKS]:
        index = gpu.get("index")
        series[f"gpu{index}"] = _gpu_figure(index, "util")
        series[f"mem{index}"] = _gpu_figure(index, "mem_used")
    return series


class SystemLine(LivePanel):
    """CPU, RAM, RSS, each GPU or why there is none; a failed notification first."""

    def show(self, state: RunState) -> None:
        self.show_content(system_line(state.system, state.notification), fixed_height=True)


class SystemPanel(Vertical):
    """Hidden until the run's first `system` (or `notification`) event; then a line, and
    from 110 columns a row of sparklines over the last readings (RunState keeps them)."""

    DEFAULT_CSS = """
    SystemPanel { height: auto; padding: 0 1; }
    SystemPanel SystemLine { height: 1; }
    SystemPanel #system-sparks { height: 1; }
    SystemPanel .spark-label { width: auto; padding: 0 1 0 0; color: $text-muted; }
    SystemPanel Sparkline { width: 1fr; margin: 0 2 0 0; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._series: dict[str, Callable[[System], float]] = {}
        self._sparks: dict[str, Sparkline] = {}

    def compose(self) -> ComposeResult:
        yield SystemLine()
        yield Horizontal(id="system-sparks")

    def show(self, state: RunState) -> None:
        """Redraw from the state (cheap: the line redraws only when its text changed)."""
        if state.system is None and state.notification is None:
            return
        self.display = True
        self.query_one(SystemLine).show(state)
        if state.system is None:
            return
        series = _series(state.system)
        if list(series) != list(self._series):
            self._rebuild(series)
        history = list(state.system_history)
        for label, read in self._series.items():
            self._sparks[label].data = [read(sample) for sample in history]

    def _rebuild(self, series: dict[str, Callable[[System], float]]) -> None:
        """A cell per figure (once, or when the GPUs in the readings change)."""
        row = self.query_one("#system-sparks", Horizontal)
        row.remove_children()
        self._series, self._sparks = series, {}
        for label in series:
            spark = Sparkline([], summary_function=max)
            self._sparks[label] = spark
            row.mount(Static(label, classes="spark-label"), spark)
