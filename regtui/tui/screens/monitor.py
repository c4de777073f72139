"""The monitor: live (or replayed) curves, alerts, signals, epochs and results of one run."""

from __future__ import annotations

import time
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, ProgressBar

from regtui.events import read_events
from regtui.follow import EventFollower
from regtui.store import EVENTS_NAME, is_alive
from regtui.tui.messages import EventArrived, RunFailed
from regtui.tui.state import RunState
from regtui.tui.widgets.epoch_table import EpochTable
from regtui.tui.widgets.metric_plot import MetricPlot
from regtui.tui.widgets.panels import (AlertsPanel, ErrorPanel, ResultsPanel, StatusLine,
                                       TrainingPanel)

# Whatever the step rate, the status is redrawn at most this often, and the plots and
# tables (about 60 ms of Python per rebuild, taken from the training thread's GIL) at most
# every CURVE_SECONDS: on a 2-core machine this keeps the monitor's cost near 3%.
REDRAWS_PER_SECOND = 1
CURVE_SECONDS = 2.0
NARROW_WIDTH = 110  # below this many columns the panels stack
FOLLOW_SECONDS = 0.5  # how often a watched events.jsonl is read


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

    def __init__(self, run_dir: Path | None = None, follow: bool = False) -> None:
        """run_dir: a run on disk to show (read once), or with follow=True to watch as
        another process writes it (never written to). Without it, events are posted in."""
        super().__init__()
        self.state = RunState()
        self.source_dir = run_dir
        self.follower = EventFollower(run_dir / EVENTS_NAME) if run_dir and follow else None
        self.drawn_version = -1
        self.drawn_curves = -1
        self.curves_drawn_at = -CURVE_SECONDS
        self.redraws = 0
        self.paused = False
        self.status_override: str | None = None

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        yield ProgressBar(id="progress", show_eta=False)
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
        if self.follower is not None:
            self.poll_followed()
            self.set_interval(FOLLOW_SECONDS, self.poll_followed)
        elif self.source_dir is not None:
            for event in read_events(self.source_dir / EVENTS_NAME):
                self.state.add(event)
            if self.state.started and not self.state.finished:
                self.set_status_override("interrupted")
        self.redraw()

    @property
    def run_dir(self) -> Path | None:
        """Where this run is kept: the directory shown, or the live run's under runs_dir."""
        if self.source_dir is not None:
            return self.source_dir
        started = self.state.started
        return self.app.runs_dir / started.run_id if started else None

    def poll_followed(self) -> None:
        """Read what the other process appended; notice when it died without a word."""
        for event in self.follower.poll():
            self.state.add(event)
        state = self.state
        if state.started and not state.finished and not is_alive(self.source_dir):
            self.set_status_override("interrupted (writer gone)")

    def on_resize(self) -> None:
        self.set_class(self.size.width < NARROW_WIDTH, "narrow")

    @on(EventArrived)
    def add_event(self, message: EventArrived) -> None:
        self.state.add(message.event)  # cheap; drawing waits for the timer

    @on(RunFailed)
    def show_failure(self, message: RunFailed) -> None:
        error = self.query_one("#error", ErrorPanel)
        error.show(message.error)
        error.display = True

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
            now = time.monotonic()
            curves_due = now - self.curves_drawn_at >= CURVE_SECONDS or state.finished
            if state.curves_version != self.drawn_curves and curves_due:
                self.drawn_curves, self.curves_drawn_at = state.curves_version, now
                self._redraw_curves(state)

    def _redraw_curves(self, state: RunState) -> None:
        epochs = state.epochs
        xs = [e.epoch for e in epochs]
        self.query_one("#loss-plot", MetricPlot).show({
            "train": (xs, [e.train_loss for e in epochs]),
            "val": (xs, [e.val_loss for e in epochs])})
        self.query_one("#acc-plot", MetricPlot).show({
            "train": (xs, [e.train_acc for e in epochs]),
            "val": (xs, [e.val_acc for e in epochs])})
        self.query_one(AlertsPanel).show(state.alerts)
        self.query_one(EpochTable).show(epochs)
        if state.finished:
            results = self.query_one(ResultsPanel)
            results.show(state)
            results.display = True
