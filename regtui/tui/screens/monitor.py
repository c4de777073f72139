"""The monitor: live (or replayed) curves, alerts, signals, epochs and results of one run."""

from __future__ import annotations

import time
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, ProgressBar

from regtui.events import Epoch, RunStarted
from regtui.sources import EventSource
from regtui.tui.state import RunState
from regtui.tui.widgets.epoch_table import EpochTable
from regtui.tui.widgets.metric_plot import MetricPlot
from regtui.tui.widgets.panels import (AlertsPanel, ErrorPanel, ResultsDetail, ResultsPanel,
                                       StatusLine, TrainingPanel)
from regtui.tui.widgets.system_panel import SystemPanel

# Whatever the step rate, the status is redrawn at most this often, and the plots and
# tables (about 60 ms of Python per rebuild, taken from the training thread's GIL) at most
# every CURVE_SECONDS: on a 2-core machine this keeps the monitor's cost near 3%.
REDRAWS_PER_SECOND = 1
CURVE_SECONDS = 2.0
NARROW_WIDTH = 110  # below this many columns the panels stack
POLL_SECONDS = 0.25  # how often the source is asked for new events (a cheap call)

# Help and quit come first: a 60-column footer still shows them.
MONITOR_KEYS = [
    Binding("question_mark", "app.help", "help", key_display="?"),
    Binding("q", "app.quit_app", "quit"),
    Binding("p", "app.pause", "pause"),
    Binding("p", "app.resume", "resume"),
    Binding("s", "app.stop_run", "stop"),
    Binding("n", "app.new_run", "new"),
    Binding("a", "app.augment_preview", "augment"),
    Binding("e", "app.export", "export"),
    Binding("r", "app.runs", "runs"),
    Binding("l", "app.toggle_log", "log"),
    Binding("m", "app.cycle_smoothing", "smooth"),
    Binding("escape", "app.back", "back", show=False),
]


class MonitorScreen(Screen):
    BINDINGS = MONITOR_KEYS

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
        self.failure: str | None = None  # why the run could not start (or crashed)
        # (UI thread CPU seconds, wall seconds) when the run started and at its latest
        # epoch: what the monitor costs while a run trains (ui_cpu_share)
        self.cpu_marks: list[tuple[float, float]] = []

    def compose(self) -> ComposeResult:
        options = getattr(self.app, "plot_options", None)
        extra = {"options": options} if options is not None else {}
        yield StatusLine(id="status")
        yield ProgressBar(id="progress", show_eta=False)
        yield SystemPanel(id="system")
        with VerticalScroll(id="body"):
            yield ErrorPanel(id="error")
            yield ResultsPanel(id="results")
            with Horizontal(id="charts"):
                yield MetricPlot("loss", id="loss-plot", log_allowed=True, **extra)
                yield MetricPlot("accuracy", id="acc-plot", **extra)
            with Horizontal(id="panels"):
                yield AlertsPanel(id="alerts")
                yield TrainingPanel(id="signals")
            yield ResultsDetail(id="results-detail")
            yield EpochTable(id="epoch-table")
        yield Footer(compact=True, show_command_palette=False)  # ctrl+p: see help

    def on_mount(self) -> None:
        self.set_interval(1 / REDRAWS_PER_SECOND, self.redraw)
        for panel in ("#error", "#results", "#results-detail"):
            self.query_one(panel).display = False
        self.query_one("#system").display = False  # until the run's first reading
        self.set_class(self.app.size.width < NARROW_WIDTH, "narrow")
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
            if isinstance(event, RunStarted):  # time.thread_time: this, the UI, thread's
                self.cpu_marks = [(time.thread_time(), time.perf_counter())]
            elif isinstance(event, Epoch) and self.cpu_marks:
                self.cpu_marks[1:] = [(time.thread_time(), time.perf_counter())]
        if self.source.pending():
            self.set_timer(0.02, self.poll_source)  # a backlog (a long run opening): go on
        failure = self.source.failure()
        if failure is not None and self.failure is None:
            self.failure = failure[0]
            error = self.query_one("#error", ErrorPanel)
            error.show(failure[0], started=self.state.started is not None)
            error.display = True
            self.drawn_version = -1  # the status line says it at once
            self.redraw()
        if self.source.writer_gone():
            self.set_status_override("interrupted" if self.source.kind == "replay"
                                     else "interrupted (writer gone)")

    @property
    def ui_cpu_share(self) -> float | None:
        """The UI thread's CPU seconds per wall second from the run's start to its latest
        epoch (0.02: the monitor took 2% of a core while the run trained). A CPU time,
        not a difference of two noisy wall times: it tells 2% from 3% in one run."""
        if len(self.cpu_marks) < 2 or self.cpu_marks[1][1] <= self.cpu_marks[0][1]:
            return None
        (cpu_start, wall_start), (cpu_end, wall_end) = self.cpu_marks
        return (cpu_end - cpu_start) / (wall_end - wall_start)

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
        self.curves_drawn_at = -CURVE_SECONDS  # the table catches up with the last epoch
        self.redraw()  # a key's effect shows at once, not at the next tick
        self.refresh_bindings()  # the footer says "resume" while paused

    def redraw(self) -> None:
        if self.state.version == self.drawn_version and self.drawn_curves == \
                self.state.curves_version:
            return
        self.drawn_version = self.state.version
        self.redraws += 1
        state = self.state
        with self.app.batch_update():
            self.query_one(StatusLine).show(state, self.paused, self.status_override,
                                            self.failure, self.run_dir)
            progress = self.query_one(ProgressBar)
            if self.failure is not None and state.started is None:
                progress.update(total=1, progress=0)  # no endless "working" animation
            else:
                progress.update(total=state.planned_epochs or None,
                                progress=state.epoch_fraction())
            self.query_one(TrainingPanel).show(state)
            if state.system_version != self.drawn_system:
                self.drawn_system = state.system_version
                self.query_one(SystemPanel).show(state)
            now = time.monotonic()
            curves_due = (now - self.curves_drawn_at >= CURVE_SECONDS or state.finished
                          or self.paused or self.status_override is not None)
            if state.curves_version != self.drawn_curves and curves_due:
                self.drawn_curves, self.curves_drawn_at = state.curves_version, now
                self._redraw_curves(state)

    def _redraw_curves(self, state: RunState) -> None:
        curves = state.epochs  # downsampled: a plot costs the same whatever the run's length
        self.query_one("#loss-plot", MetricPlot).show({
            "train": curves.downsampled("train_loss"), "val": curves.downsampled("val_loss")})
        self.query_one("#acc-plot", MetricPlot).show({
            "train": curves.downsampled("train_acc"), "val": curves.downsampled("val_acc")})
        self.query_one(AlertsPanel).show(state.alerts, finished=bool(
            state.finished or self.status_override))
        self.query_one(EpochTable).show(curves)
        if state.finished or self.status_override:
            for panel in (self.query_one(ResultsPanel), self.query_one(ResultsDetail)):
                panel.show(state, self.run_dir, self.status_override)
                panel.display = panel.has_content
