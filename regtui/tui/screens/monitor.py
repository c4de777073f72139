"""The monitor: live (or replayed) curves, alerts, signals, epochs and results of one run."""

from __future__ import annotations

import time
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, ProgressBar

from regtui.sources import EventSource
from regtui.tui.state import RunState
from regtui.tui.widgets.epoch_table import EpochTable
from regtui.tui.widgets.metric_plot import MetricPlot
from regtui.tui.widgets.panels import (AlertsPanel, ErrorPanel, ResultsPanel, StatusLine,
                                       TrainingPanel)
from regtui.tui.widgets.system_panel import SystemPanel

# Whatever the step rate, the status is redrawn at most this often, and the plots and
# tables (about 60 ms of Python per rebuild, taken from the training thread's GIL) at most
# every CURVE_SECONDS: on a 2-core machine this keeps the monitor's cost near 3%.
REDRAWS_PER_SECOND = 1
CURVE_SECONDS = 2.0
NARROW_WIDTH = 110  # below this many columns the panels stack
POLL_SECONDS = 0.25  # how often the source is asked for new events (a cheap call)


class MonitorScreen(Screen):
    BINDINGS = [
        Binding("p", "app.toggle_pause", "pause"),
        Binding("s", "app.stop_run", "stop"),
        Binding("n", "app.new_run", "new run"),
        Binding("a", "app.augment_preview", "augment"),
        Binding("e", "app.export", "export"),
        Binding("r", "app.runs", "runs"),
        Binding("question_mark", "app.help", "help", key_display="?"),
        Binding("escape", "app.back", "back", show=False),
        Binding("q", "app.quit_app", "quit"),
    ]

    def __init__(self, source: EventSource) -> None:
        """Shows the run `source` delivers: live, replayed or followed, all alike."""
        super().__init__()
        self.source = source
        self.state = RunState()
        self.drawn_version = -1
        self.drawn_curves = -1
        self.drawn_system = 0
        self.curves_drawn_at = -CURVE_SECONDS
        self.redraws = 0
        self.paused = False
        self.status_override: str | None = None
        self.failure_shown = False

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        yield ProgressBar(id="progress", show_eta=False)
        yield SystemPanel(id="system")
        with VerticalScroll(id="body"):
            yield ErrorPanel(id="error")
            yield ResultsPanel(id="results")
            with Horizontal(id="charts"):
                yield MetricPlot("loss", id="loss-plot")
                yield MetricPlot("accuracy", id="acc-plot")
            with Horizontal(id="panels"):
                yield AlertsPanel(id="alerts")
                yield TrainingPanel(id="signals")
            yield EpochTable(id="epochs")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.set_interval(1 / REDRAWS_PER_SECOND, self.redraw)
        self.query_one("#error").display = False
        self.query_one("#results").display = False
        self.query_one("#system").display = False  # until the run's first reading
        self.poll_source()
        self.set_interval(POLL_SECONDS, self.poll_source)
        self.redraw()

    @property
    def run_dir(self) -> Path | None:
        """Where this run is kept (None until a live run has created its directory)."""
        return self.source.run_dir

    def poll_source(self) -> None:
        """Fold what the source has delivered (cheap; drawing waits for the redraw timer),
        and say what the events cannot: a failure to start, a writer that died."""
        for event in self.source.poll():
            self.state.add(event)
        if self.source.pending():
            self.set_timer(0.02, self.poll_source)  # a backlog (a long run opening): go on
        failure = self.source.failure()
        if failure is not None and not self.failure_shown:
            self.failure_shown = True
            error = self.query_one("#error", ErrorPanel)
            error.show(failure[0])
            error.display = True
        if self.source.writer_gone():
            self.set_status_override("interrupted" if self.source.kind == "replay"
                                     else "interrupted (writer gone)")

    def on_unmount(self) -> None:
        self.source.close()

    def on_resize(self) -> None:
        self.set_class(self.size.width < NARROW_WIDTH, "narrow")

    def set_status_override(self, status: str | None) -> None:
        """Say what the events cannot (a watched run whose writer has died)."""
        if status != self.status_override:
            self.status_override = status
            self.drawn_version = -1

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        self.drawn_version = -1
        self.redraw()  # a key's effect shows at once, not at the next tick

    def redraw(self) -> None:
        if self.state.version == self.drawn_version and self.drawn_curves == \
                self.state.curves_version:
            return
        self.drawn_version = self.state.version
        self.redraws += 1
        state = self.state
        with self.app.batch_update():
            self.query_one(StatusLine).show(state, self.paused, self.status_override)
            progress = self.query_one(ProgressBar)
            progress.update(total=state.planned_epochs or None, progress=state.epoch_fraction())
            self.query_one(TrainingPanel).show(state)
            if state.system_version != self.drawn_system:
                self.drawn_system = state.system_version
                self.query_one(SystemPanel).show(state)
            now = time.monotonic()
            curves_due = now - self.curves_drawn_at >= CURVE_SECONDS or state.finished
            if state.curves_version != self.drawn_curves and curves_due:
                self.drawn_curves, self.curves_drawn_at = state.curves_version, now
                self._redraw_curves(state)

    def _redraw_curves(self, state: RunState) -> None:
        curves = state.epochs  # downsampled: a plot costs the same whatever the run's length
        self.query_one("#loss-plot", MetricPlot).show({
            "train": curves.downsampled("train_loss"), "val": curves.downsampled("val_loss")})
        self.query_one("#acc-plot", MetricPlot).show({
            "train": curves.downsampled("train_acc"), "val": curves.downsampled("val_acc")})
        self.query_one(AlertsPanel).show(state.alerts)
        self.query_one(EpochTable).show(curves)
        if state.finished:
            results = self.query_one(ResultsPanel)
            results.show(state)
            results.display = True
