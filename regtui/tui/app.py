"""The regtui App: screens, keys, and the one training worker."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from textual import on, work
from textual.app import App
from textual.worker import Worker, WorkerState

from regtui.control import Control
from regtui.events import Event, RunFinished
from regtui.store import is_alive
from regtui.presets import Resolved, explicit_settings
from regtui.tui.messages import EventArrived, RunFailed
from regtui.tui.screens.augment import AugmentPreview
from regtui.tui.screens.dialogs import ConfirmQuit, HelpScreen
from regtui.tui.screens.monitor import MonitorScreen
from regtui.tui.screens.runs import RunsScreen
from regtui.tui.screens.setup import SetupChoice, SetupScreen


class RegtuiApp(App[int]):
    """Returns an exit status: the run's (0, 1, 130) or 2 when the run could not start."""

    CSS_PATH = "regtui.tcss"
    TITLE = "regtui"

    def __init__(self, runs_dir: Path, start: Resolved | None = None,
                 setup: SetupChoice | None = None, replay: Sequence[Event] | None = None,
                 follow: Path | None = None, show: Path | None = None,
                 browse: bool = False) -> None:
        """One of: start (train now), replay (events), follow (watch a run directory another
        process writes), show (a run directory: followed while alive, else replayed),
        browse (the Runs screen); else the Setup screen, prefilled from setup."""
        super().__init__()
        self.runs_dir = runs_dir
        self.first_run = start
        self.first_setup = setup
        self.replay = replay
        self.follow = follow  # a run directory another process writes: watch, never write
        self.first_show = show
        self.browse = browse
        self.control: Control | None = None
        self.resolved: Resolved | None = None
        self.monitor: MonitorScreen | None = None
        self.training: Worker | None = None
        self.quit_when_done = False
        self.exit_status = 0

    def on_mount(self) -> None:
        if self.first_run is not None:
            self.start_run(self.first_run)
        elif self.replay is not None:
            self.monitor = MonitorScreen()
            self.push_screen(self.monitor)
            for event in self.replay:
                self.monitor.post_message(EventArrived(event))
        elif self.follow is not None:
            self.monitor = MonitorScreen(self.follow, follow=True)
            self.push_screen(self.monitor)
        elif self.first_show is not None:
            self.monitor = self.show_run(self.first_show)
        elif self.browse:
            self.push_screen(RunsScreen())
        else:
            self.push_screen(SetupScreen(self.first_setup))

    def show_run(self, run_dir: Path) -> MonitorScreen:
        """A run from disk in a Monitor screen: followed while its writer lives, else replayed."""
        screen = MonitorScreen(run_dir, follow=is_alive(run_dir))
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
        if self.running and self.control:
            self.control.stop("stopped")  # one run at a time: the old one ends cleanly
        self.resolved = resolved
        self.control = Control()
        self.monitor = MonitorScreen()
        if isinstance(self.screen, SetupScreen):
            self.switch_screen(self.monitor)
        else:
            self.push_screen(self.monitor)
        # Start training once the first frame is drawn, so the UI's one-off start-up work
        # (styles, layout) does not compete with the first epoch.
        self.call_after_refresh(self._launch, resolved, self.monitor, self.control)

    def _launch(self, resolved: Resolved, screen: MonitorScreen, control: Control) -> None:
        self.training = self.train(resolved, screen, control)

    @work(thread=True, exit_on_error=False, group="training")
    def train(self, resolved: Resolved, screen: MonitorScreen, control: Control) -> RunFinished | None:
        """Runs on a worker thread; only posts messages to the UI (never waits on it)."""
        from regtui import train

        try:
            _, finished = train.start(resolved, self.runs_dir, control=control,
                                      listeners=[lambda e: screen.post_message(EventArrived(e))])
        except (train.SetupError, train.RunDirError) as error:
            screen.post_message(RunFailed(str(error), bad_input=True))
            self.exit_status = 2
            return None
        return finished

    @on(Worker.StateChanged)
    def training_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is not self.training:
            return
        self.refresh_bindings()
        if event.state == WorkerState.ERROR and self.monitor is not None:
            self.monitor.post_message(RunFailed(str(event.worker.error), bad_input=False))
            self.exit_status = 1
        if event.state == WorkerState.SUCCESS and event.worker.result is not None:
            finished: RunFinished = event.worker.result
            self.exit_status = {"completed": 0, "stopped": 0, "interrupted": 130}.get(
                finished.status, 1)
        if event.state in (WorkerState.SUCCESS, WorkerState.ERROR) and self.quit_when_done:
            self.exit(self.exit_status)

    # ------------------------------------------------------------ keys

    @property
    def training_shown(self) -> bool:
        """p and s act on the run this app trains, and only from its own Monitor."""
        return self.running and self.control is not None and self.shown_monitor is self.monitor

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Pause and stop are hidden from the footer where there is no run of ours to act on."""
        if action in ("toggle_pause", "stop_run"):
            return self.training_shown
        return True

    def action_toggle_pause(self) -> None:
        if self.training_shown:
            paused = self.control.toggle_pause()
            self.monitor.set_paused(paused)
            self.notify("paused" if paused else "resumed", timeout=2)

    def action_stop_run(self) -> None:
        if self.training_shown:
            self.control.stop("stopped")
            self.notify("stopping after the current step", timeout=3)

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
        config = started.config if started else {}
        flags = explicit_settings(started.presets, config) if started else {}
        flags.setdefault("data", {})["dataset"] = config.get("data", {}).get("dataset", "digits")
        flags.setdefault("model", {})["name"] = config.get("model", {}).get("name", "mlp")
        flags.setdefault("train", {}).update(
            {key: config["train"][key] for key in ("epochs", "device")
             if key in config.get("train", {})})
        self.push_screen(SetupScreen(SetupChoice(tuple(presets), flags)))

    def action_augment_preview(self) -> None:
        resolved = self.resolved
        if isinstance(self.screen, SetupScreen) and self.screen.resolved is not None:
            resolved = self.screen.resolved
        if resolved is not None:
            self.push_screen(AugmentPreview(resolved.config))

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
            if stop and self.control:
                self.quit_when_done = True
                self.control.stop("stopped")

        self.push_screen(ConfirmQuit(), answered)


def _known_presets() -> set[str]:
    from regtui.presets import known_names

    return set(known_names())
