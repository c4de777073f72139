"""The regtui App: screens, keys, and the one training worker."""

from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.app import App
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


class RegtuiApp(App[int]):
    """Returns an exit status: the run's (0, 1, 130) or 2 when the run could not start."""

    CSS_PATH = "regtui.tcss"
    TITLE = "regtui"

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
        self.quit_when_done = False
        self.exit_status = 0

    def on_mount(self) -> None:
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

    def start_run(self, resolved: Resolved) -> None:
        """Train a new run (from Setup) in this app's worker and show it."""
        from regtui.engine import live_run

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
        (its --set values and flags), and the latest suggestion."""
        monitor = self.shown_monitor
        started = monitor.state.started if monitor else None
        presets = list(started.presets) if started else ["dropout"]
        alerts = [a for a in monitor.state.alerts if a.suggest] if monitor else []
        known = _known_presets()
        suggestion = next((name for name in (alerts[-1].suggest if alerts else [])
                           if name not in presets and name in known), None)
        if suggestion:
            presets.append(suggestion)
        config = monitor.state.summary.config if started else None
        flags = explicit_settings(started.presets, to_dict(config)) if started else {}
        if config is not None:
            flags.setdefault("data", {})["dataset"] = config.data.dataset
            flags.setdefault("model", {})["name"] = config.model.name
            flags.setdefault("train", {}).update(epochs=config.train.epochs,
                                                 device=config.train.device)
        self.push_screen(SetupScreen(SetupChoice(tuple(presets), flags)))

    def action_augment_preview(self) -> None:
        """The augmentation of the config in Setup, or of the run on screen."""
        if isinstance(self.screen, SetupScreen):
            config = self.screen.resolved.config if self.screen.resolved else None
        else:
            monitor = self.shown_monitor
            config = monitor.state.summary.config if monitor and monitor.state.started else None
        if config is not None:
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

    def action_quit_app(self) -> None:
        if not self.running:
            self.exit(self.exit_status)
            return

        def answered(stop: bool | None) -> None:
            if stop and self.live:
                self.quit_when_done = True
                self.live.control.stop("stopped")

        self.push_screen(ConfirmQuit(), answered)


def _known_presets() -> set[str]:
    from regtui.presets import known_names

    return set(known_names())
