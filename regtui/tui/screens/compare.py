"""Compare: validation curves of several runs overlaid, what differs and what followed."""

from __future__ import annotations

from pathlib import Path

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from regtui.views.compare import compare, comparison_table
from regtui.views.format import safe_text
from regtui.rundir import RunData
from regtui.tui.widgets.metric_plot import MetricPlot


class CompareScreen(Screen):
    BINDINGS = [
        Binding("question_mark", "app.help", "help", key_display="?"),
        Binding("q", "app.quit_app", "quit"),
        Binding("escape", "app.back", "back"),
        Binding("l", "app.toggle_log", "log"),
        Binding("m", "app.cycle_smoothing", "smooth"),
    ]

    def __init__(self, run_dirs: list[Path]) -> None:
        """Raises RunDirError when one of the runs cannot be read."""
        super().__init__()
        self.comparison = compare([RunData.load(path) for path in run_dirs])

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="compare-body"):
            yield Static(id="compare-table")
            with Horizontal(id="compare-charts"):
                options = {"options": self.app.plot_options} \
                    if hasattr(self.app, "plot_options") else {}
                yield MetricPlot("val accuracy", id="compare-acc", **options)
                yield MetricPlot("val loss", id="compare-loss", log_allowed=True, **options)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        comparison = self.comparison
        attribution = Text()
        for index in range(1, len(comparison.runs)):
            attribution.append(f"#{index + 1} vs #1: ", "bold")
            attribution.append(safe_text(comparison.attribution(index)) + "\n")
        self.query_one("#compare-table", Static).update(
            Group(comparison_table(comparison), Text(""), attribution))
        for widget_id, key in (("#compare-acc", "val_acc"), ("#compare-loss", "val_loss")):
            self.query_one(widget_id, MetricPlot).show({
                f"#{number}": ([e.epoch for e in run.epochs],
                               [getattr(e, key) for e in run.epochs])
                for number, run in enumerate(comparison.runs, start=1)})
