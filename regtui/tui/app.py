"""The regtui App: screens, keys, and the one training worker."""

from __future__ import annotations

import asyncio
import signal
import threading
from pathlib import Path
from typing import Iterable

from textual import on, work

from textual.app import App, SystemCommand
from textual.screen import Screen
from textual.binding import Binding
from textual.worker import Worker, WorkerState

from regtui.config import to_dict
from regtui.events import RunFinished
from regtui.presets import Resolved, explicit_settings
from regtui.sources import EventSource, LiveSource, source_for
from regtui.tui.screens.augment import AugmentPreview
from regtui.tui.screens.dialogs import ConfirmQuit, HelpScreen
from regtui.tui.screens.monitor import MonitorScreen
from regtui.tui.screens.runs import RunsScreen
from regtui.tui.screens.setup import SetupChoice, SetupScreen
from regtui.tui.widgets.metric_plot import MetricPlot, PlotOptions


class RegtuiApp(App[int]):
    """Returns an exit status: the run's (0, 1, 130) or 2 when the run could not start."""

    CSS_PATH = "regtui.tcss"
    TITLE = "regtui"
    # Every way out (ctrl+q, ctrl+c, the palette's Quit, q on a screen) is one path:
    # action_quit_app, which asks while a run trains and stops it cleanly first.
    BINDINGS = [
        Binding("ctrl+q", "quit", "quit", show=False, priority=True),
        Binding("ctrl+c", "quit", "quit", show=False, priority=True),
    ]

    def __init__(self, runs_dir: Path, source: EventSource | None = None,
                 setup: SetupChoice | None = None, browse: bool = False) -> None:
        """Opens on `source` (a live run to train, a run to replay or follow) in the
        Monitor; else the Runs screen with `browse`; else Setup, prefilled from `setup`."""
        super().__init__()
        self.runs_dir = runs_dir
        self.first_source = source
        self.first_setup = setup
        self.browse = browse
        self.live: LiveSource | None = None  # the run this app trains, if any
        self.monitor: MonitorScreen | None = None  # that run's monitor
        self.training: Worker | None = None
        self.setup_choice: SetupChoice | None = None  # what Setup last started, for `n`
        self.quit_when_done = False
        self.exit_status = 0
        self.plot_options = PlotOptions()  # log-y and smoothing, for every plot

    def on_mount(self) -> None:
        self._catch_signals()
        source = self.first_source
        if isinstance(source, LiveSource):
            self.start_source(source)
        elif source is not None:
            self.monitor = MonitorScreen(source)
            self.push_screen(self.monitor)
        elif self.browse:
            self.push_screen(RunsScreen())
        else:
            self.push_screen(SetupScreen(self.first_setup))

    def _catch_signals(self) -> None:
        """SIGTERM, and SIGHUP (the SSH session closed), end a run this app trains as
        Ctrl-C does headless: stopped cleanly as `interrupted`, then the app exits."""
        if self.is_headless or threading.current_thread() is not threading.main_thread():
            return
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGHUP):
            try:
                loop.add_signal_handler(signum, self.terminate)
            except (NotImplementedError, RuntimeError, ValueError):
                pass

    def terminate(self) -> None:
        """Stop the run this app trains (`interrupted`) and exit once it has ended."""
        if self.running and self.live is not None:
            self.quit_when_done = True
            self.live.control.stop("interrupted")
        else:
            self.exit(self.exit_status)

    def show_run(self, run_dir: Path) -> MonitorScreen:
        """A run from disk in a Monitor screen: followed while its writer lives, else replayed."""
        screen = MonitorScreen(source_for(run_dir))
        self.push_screen(screen)
        return screen

    @property
    def shown_monitor(self) -> MonitorScreen | None:
        """The Monitor on screen (a replay opened from Runs), else the app's own run's."""
        return self.screen if isinstance(self.screen, MonitorScreen) else self.monitor

    # ------------------------------------------------------------ the run

    @property
    def running(self) -> bool:
        return self.training is not None and self.training.state in (
            WorkerState.PENDING, WorkerState.RUNNING)

    def start_run(self, resolved: Resolved, choice: SetupChoice | None = None) -> None:
        """Train a new run (from Setup) in this app's worker and show it; `choice` is the
        form it came from (n brings it back if the run cannot start)."""
        from regtui.engine import live_run

        self.setup_choice = choice
        self.start_source(live_run(resolved, self.runs_dir))

    def start_source(self, source: LiveSource) -> None:
        if self.running and self.live:
            self.live.control.stop("stopped")  # one run at a time: the old one ends cleanly
        self.live = source
        self.monitor = MonitorScreen(source)
        if isinstance(self.screen, SetupScreen):
            self.switch_screen(self.monitor)
        else:
            self.push_screen(self.monitor)
        # Start training once the first frame is drawn, so the UI's one-off start-up work
        # (styles, layout) does not compete with the first epoch.
        self.call_after_refresh(self._launch, source)

    def _launch(self, source: LiveSource) -> None:
        self.training = self.train(source)

    @work(thread=True, exit_on_error=False, group="training")
    def train(self, source: LiveSource) -> RunFinished | None:
        """Runs on a worker thread; the monitor polls the source (never waits on it)."""
        return source.run()

    @on(Worker.StateChanged)
    def training_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is not self.training:
            return
        self.refresh_bindings()
        if self.monitor is not None and self.monitor.is_mounted:
            self.monitor.poll_source()  # the last events in, whatever the poll timer's phase
        if event.state == WorkerState.SUCCESS:
            finished: RunFinished | None = event.worker.result
            self.exit_status = 2 if finished is None else {
                "completed": 0, "stopped": 0, "interrupted": 130}.get(finished.status, 1)
        if event.state == WorkerState.ERROR:
            self.exit_status = 1
        if event.state in (WorkerState.SUCCESS, WorkerState.ERROR) and self.quit_when_done:
            self.exit(self.exit_status)

    # ------------------------------------------------------------ keys

    @property
    def training_shown(self) -> bool:
        """p and s act on the run this app trains, and only from its own Monitor."""
        return self.running and self.live is not None and self.shown_monitor is self.monitor

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Pause and stop are hidden from the footer where there is no run of ours to act on."""
        if action == "toggle_pause":
            return self.training_shown
        if action == "stop_run":
            return self.training_shown or self.followed_run_shown is not None
        if action == "back":  # esc is shown only where there is somewhere to go back to
            return len(self.screen_stack) > 2
        if action in ("pause", "resume"):  # one of the two in the footer: what p does now
            return self.training_shown and self.live.control.paused == (action == "resume")
        return True

    def action_toggle_pause(self) -> None:
        if self.training_shown:
            paused = self.live.control.toggle_pause()
            self.monitor.set_paused(paused)
            self.notify("paused" if paused else "resumed", timeout=2)

    @property
    def followed_run_shown(self) -> MonitorScreen | None:
        """The Monitor on screen when it follows a run another process writes."""
        monitor = self.shown_monitor
        if monitor is None or monitor.source.kind != "follow" or monitor.state.finished:
            return None
        return monitor

    def action_pause(self) -> None:
        if self.training_shown and not self.live.control.paused:
            self.action_toggle_pause()

    def action_resume(self) -> None:
        if self.training_shown and self.live.control.paused:
            self.action_toggle_pause()

    def action_toggle_log(self) -> None:
        """Log-scale y on the loss plots (a diverging loss no longer flattens the rest)."""
        options = self.plot_options
        self._set_plot_options(PlotOptions(not options.log_y, options.smoothing))
        self.notify(f"loss plots: {'log' if self.plot_options.log_y else 'linear'} y",
                    timeout=2)

    def action_cycle_smoothing(self) -> None:
        """EMA smoothing off → 0.6 → 0.9 → off; the raw curve stays, faint."""
        self._set_plot_options(self.plot_options.next_smoothing())
        weight = self.plot_options.smoothing
        self.notify(f"smoothing {weight:g} (EMA, debiased)" if weight else "smoothing off",
                    timeout=2)

    @property
    def ui_cpu_share(self) -> float | None:
        """What the monitor of this app's run cost: the UI thread's CPU seconds per second
        of training (0.02: 2% of a core); None before two epochs were shown."""
        return self.monitor.ui_cpu_share if self.monitor is not None else None

    def _set_plot_options(self, options: PlotOptions) -> None:
        self.plot_options = options
        for screen in self.screen_stack:
            for plot in screen.query(MetricPlot):
                plot.set_options(options)

    def action_stop_run(self) -> None:
        if self.training_shown:
            self.live.control.stop("stopped")
            self.notify("stopping after the current step", timeout=3)
            return
        monitor = self.followed_run_shown
        if monitor is not None:
            self.ask_to_stop(monitor)

    def ask_to_stop(self, monitor: MonitorScreen) -> None:
        """A run in another process: a script's run (regtui.init) gets a stop request that
        its loop may honour; regtui's own trainer there cannot be stopped from here."""
        started = monitor.state.started
        if started is None or started.source != "api":
            self.notify("this run trains in another process and cannot be stopped from here: "
                        "press Ctrl-C where it runs", severity="warning", timeout=6)
            return
        from regtui.rundir import RunDirError, request_stop

        try:
            request_stop(monitor.run_dir)
        except (RunDirError, OSError) as error:
            self.notify(f"cannot ask the run to stop: {error}", severity="error", timeout=6)
            return
        self.notify("asked the script to stop: it stops when its loop checks "
                    "run.stop_requested (a loop that never checks goes on)", timeout=6)

    def action_new_run(self) -> None:
        """Setup, prefilled with this run's presets, the settings they do not explain
        (its --set values and flags), and the remedy its diagnosis suggests; a run that
        never started brings back the form it was started from."""
        monitor = self.shown_monitor
        state = monitor.state if monitor else None
        if state is None or state.started is None:
            choice = self.setup_choice if monitor is self.monitor else None
            self.push_screen(SetupScreen(choice))
            return
        started = state.started
        config = state.summary.config
        flags = explicit_settings(started.presets, to_dict(config))
        flags.setdefault("data", {})["dataset"] = config.data.dataset
        flags.setdefault("model", {})["name"] = config.model.name
        flags.setdefault("train", {}).update(epochs=config.train.epochs,
                                             device=config.train.device)
        presets = state.presets_to_try(_known_presets())
        self.push_screen(SetupScreen(SetupChoice(tuple(presets), flags)))

    def action_augment_preview(self) -> None:
        """The augmentation of the config in Setup, or of the run on screen."""
        if isinstance(self.screen, SetupScreen):
            config = self.screen.resolved.config if self.screen.resolved else None
            why = "fix the flagged settings first"
        else:
            monitor = self.shown_monitor
            config = monitor.state.summary.config if monitor and monitor.state.started else None
            why = "the run has not started"
        if config is None:
            self.notify(f"no augmentation preview: {why}", severity="warning")
            return
        self.push_screen(AugmentPreview(config))

    def action_export(self) -> None:
        monitor = self.shown_monitor
        run_dir = monitor.run_dir if monitor else None
        if run_dir is None or not run_dir.is_dir():
            self.notify("nothing to export yet: the run has not started", severity="warning")
            return
        from regtui.tui.screens.export import ExportDialog

        self.push_screen(ExportDialog(run_dir))

    def action_runs(self) -> None:
        if not isinstance(self.screen, RunsScreen):
            self.push_screen(RunsScreen())

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_back(self) -> None:
        if len(self.screen_stack) > 2:
            self.pop_screen()

    async def action_quit(self) -> None:
        """ctrl+q, ctrl+c and the palette's Quit: the same path as q."""
        self.action_quit_app()

    def action_quit_app(self) -> None:
        """Quit; while a run trains, ask first, then stop it cleanly (run_finished is
        written) and exit as soon as its worker is done."""
        if not self.running:
            self.exit(self.exit_status)
            return
        if self.quit_when_done or isinstance(self.screen, ConfirmQuit):
            return  # already asked, or already stopping

        def answered(stop: bool | None) -> None:
            if stop and self.live:
                self.quit_when_done = True
                self.live.control.stop("stopped")
                self.notify("stopping the run, then quitting…", timeout=5)

        self.push_screen(ConfirmQuit(), answered)

    def exit(self, *args, **kwargs) -> None:  # noqa: D401 - Textual's signature
        """Whatever ends the app, a run it trains is asked to stop, never left training
        unseen (its worker thread then ends the run with run_finished)."""
        if self.running and self.live is not None and not self.live.control.stop_requested:
            self.live.control.stop("interrupted")
        super().exit(*args, **kwargs)


    # ------------------------------------------------------------ the command palette

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """regtui's own actions, each with its key, then Textual's (Theme, Quit, Keys...)."""
        monitor = isinstance(screen, MonitorScreen)
        if self.training_shown and monitor:
            paused = self.live.control.paused
            yield SystemCommand("Resume (p)" if paused else "Pause (p)",
                                "Pause or resume training between steps",
                                self.action_toggle_pause)
            yield SystemCommand("Stop the run (s)", "End it cleanly, tested on its best epoch",
                                self.action_stop_run)
        yield SystemCommand("New run (n)", "Setup, with this run's settings and the "
                            "remedy its diagnosis suggests", self.action_new_run)
        yield SystemCommand("Runs (r)", "Every run kept on disk: open, compare, export, "
                            "delete", self.action_runs)
        if monitor:
            yield SystemCommand("Export (e)", "Write this run as md, json, csv, html or "
                                "TensorBoard files", self.action_export)
        if hasattr(screen, "action_compare"):
            yield SystemCommand("Compare the marked runs (c)", "Curves overlaid, what "
                                "differs and what followed", screen.action_compare)
        if monitor or isinstance(screen, SetupScreen):
            yield SystemCommand("Augmentation preview (a)", "Training images before and "
                                "after augmentation", self.action_augment_preview)
        yield SystemCommand("Log-scale y (l)", "Toggle a log y axis on the loss plots",
                            self.action_toggle_log)
        yield SystemCommand("Smoothing (m)", "EMA smoothing off, 0.6, 0.9; raw curves "
                            "stay faint", self.action_cycle_smoothing)
        yield SystemCommand("Help (?)", "Every key", self.action_help)
        yield from super().get_system_commands(screen)


def _known_presets() -> set[str]:
    from regtui.presets import known_names

    return set(known_names())
