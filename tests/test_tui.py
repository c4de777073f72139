"""TUI tier: Pilot tests fed by a scripted event source and by real tiny CPU runs.

Real runs are held after their first epoch (the held_training fixture) until a key stops
them, so no key ever arrives after the run has finished; redraws are counted per tick of
the redraw timer, which the test drives itself.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from textual.widgets import Button, Input, ProgressBar, SelectionList

from helpers import TrainingHold, last_event_of_the_run, text_of, tiny, wait_for
from regtui.engine import live_run
from regtui.events import Step, read_events
from regtui.sources import FollowSource
from regtui.tui.app import RegtuiApp
from regtui.tui.screens import monitor as monitor_module
from regtui.tui.screens.augment import AugmentPreview
from regtui.tui.screens.dialogs import ConfirmQuit, HelpScreen
from regtui.tui.screens.monitor import MonitorScreen
from regtui.tui.screens.setup import SetupScreen
from regtui.tui.widgets.epoch_table import EpochTable
from regtui.tui.widgets.metric_plot import MetricPlot
from scripted import ScriptedSource, scripted_run

SIZES = [(80, 24), (160, 48)]


def drawn(screen: MonitorScreen) -> bool:
    """Everything received is on screen (the redraw timer has caught up)."""
    return screen.drawn_version == screen.state.version and \
        screen.drawn_curves == screen.state.curves_version


@pytest.mark.parametrize("size", SIZES)
async def test_monitor_shows_a_scripted_run(size: tuple[int, int], runs_dir: Path) -> None:
    app = RegtuiApp(runs_dir, source=ScriptedSource(scripted_run(finished=True)))
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: app.monitor.state.finished is not None)
        await wait_for(pilot, lambda: drawn(app.monitor))
        screen = app.monitor
        assert screen.has_class("narrow") == (size[0] < 110)
        status = text_of(screen.query_one("#status"))
        assert "20260101-120000-dropout-beef" in status and "completed" in status
        assert "epoch 12/20" in status
        assert "overfitting since epoch 7" in text_of(screen.query_one("#alerts"))
        assert "try l2, augment-light" in text_of(screen.query_one("#alerts"))
        assert screen.query_one(EpochTable).row_count == 12
        results = text_of(screen.query_one("#results"))
        assert "test acc 0.938" in results and "diagnosis:" in results
        assert screen.query_one("#results").display
        loss_plot = screen.query_one("#loss-plot", MetricPlot)
        assert loss_plot.series["val"][0] == list(range(1, 13))
        for width, height in ((60, 18), (200, 60), size):  # resizing never breaks the layout
            await pilot.resize_terminal(width, height)
            await wait_for(pilot, lambda: screen.size == (width, height))
            assert screen.has_class("narrow") == (width < 110)


async def test_status_says_when_a_gpu_run_trains_in_bf16(runs_dir: Path) -> None:
    events = scripted_run(finished=True)
    events[0] = dataclasses.replace(events[0], env={
        "device": "cuda:0", "device_name": "NVIDIA H100", "torch": "2.x",
        "precision": "bf16 autocast (amp=auto)"})
    app = RegtuiApp(runs_dir, source=ScriptedSource(events))
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: app.monitor.state.finished is not None)
        await wait_for(pilot, lambda: drawn(app.monitor))
        assert "cuda:0 bf16" in text_of(app.monitor.query_one("#status"))


async def test_ten_thousand_steps_redraw_a_bounded_number_of_times(
        runs_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The test is the monitor's clock: the poll and redraw timers are pushed out of reach
    # and each tick is a call, so what is counted does not depend on the machine's speed.
    monkeypatch.setattr(monitor_module, "POLL_SECONDS", 3600.0)
    monkeypatch.setattr(monitor_module, "REDRAWS_PER_SECOND", 1 / 3600)
    monkeypatch.setattr(monitor_module, "CURVE_SECONDS", 0.0)  # any tick may rebuild plots
    source = ScriptedSource(scripted_run(epochs=2))
    app = RegtuiApp(runs_dir, source=source)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.monitor is not None and app.monitor.is_mounted)
        screen = app.monitor
        screen.poll_source()
        screen.redraw()  # a tick: every scripted epoch in and drawn
        assert len(screen.state.epochs) == 2 and drawn(screen)
        plot = screen.query_one("#loss-plot", MetricPlot)
        redraws_before, replots_before = screen.redraws, plot.replots
        last_step = 8 + 9_999
        for step in range(8, last_step + 1):
            source.push(Step(epoch=3, step=step, loss=0.5, lr=1e-3))
        screen.poll_source()  # one poll takes all of them
        assert screen.state.last_step.step == last_step
        assert screen.redraws == redraws_before  # events alone never redraw
        screen.redraw()
        screen.redraw()  # a tick with nothing new draws nothing
        assert screen.redraws == redraws_before + 1  # one redraw per tick, however many steps
        progress = screen.query_one(ProgressBar).progress
        assert progress == 2 + 3 / 4  # the newest step is what was drawn: epoch 3, 3 of 4 steps
        assert plot.replots == replots_before  # steps alone never rebuild the plots


async def test_setup_flags_invalid_values_like_the_cli(runs_dir: Path) -> None:
    app = RegtuiApp(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        setup = app.screen
        assert isinstance(setup, SetupScreen)
        assert setup.selected_presets() == ["baseline"]
        setup.query_one("#epochs", Input).value = "-3"
        await pilot.pause()
        problem = text_of(setup.query_one("#problem"))
        assert "train.epochs = -3 is out of range; accepted: an integer in [1, 100000]" in problem
        assert setup.query_one("#start", Button).disabled
        setup.query_one("#epochs", Input).value = "4"
        setup.query_one("#presets", SelectionList).select("he")
        await pilot.pause()
        assert not setup.query_one("#start", Button).disabled
        assert setup.resolved.config.train.epochs == 4
        assert setup.resolved.presets == ("baseline", "he")
        assert 'scheme = "kaiming_normal"' in text_of(setup.query_one("#preview"))


async def test_setup_starts_a_real_run(runs_dir: Path) -> None:
    app = RegtuiApp(runs_dir)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        setup = app.screen
        setup.query_one("#epochs", Input).value = "2"
        await pilot.pause()
        setup.action_start()
        await wait_for(pilot, lambda: app.monitor and app.monitor.state.finished)
        assert isinstance(app.screen, MonitorScreen)
        assert app.monitor.state.finished.status == "completed"
        await pilot.press("q")
        await pilot.pause()
    assert app.return_value == 0


async def test_every_key_on_a_real_training_run(runs_dir: Path,
                                                held_training: TrainingHold) -> None:
    resolved = tiny("train.batch_size=8", "model.dropout=0.2", epochs=400)
    app = RegtuiApp(runs_dir, source=live_run(resolved, runs_dir))
    async with app.run_test(size=(80, 24)) as pilot:
        # held after epoch 1 until s stops it: every key below reaches a run in progress
        await wait_for(pilot, lambda: len(app.monitor.state.epochs) >= 1)
        assert held_training.reached.is_set()
        await pilot.press("p")
        assert app.live.control.paused
        assert "paused" in text_of(app.monitor.query_one("#status"))  # at once, not next tick
        await pilot.press("p")
        assert not app.live.control.paused
        assert "training" in text_of(app.monitor.query_one("#status"))
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.press("a")
        assert isinstance(app.screen, AugmentPreview)
        await wait_for(pilot, lambda: "re-rolls" in text_of(app.screen.query_one("#augment-view")))
        await pilot.press("r")
        await pilot.press("escape")
        await pilot.press("n")
        assert isinstance(app.screen, SetupScreen)
        carried = app.screen.resolved.config  # the current run's settings, --set ones too
        assert carried.train.epochs == 400 and carried.train.batch_size == 8
        assert carried.data.train_subset == 240 and carried.model.hidden == (32,)
        await pilot.press("escape")
        assert isinstance(app.screen, MonitorScreen)
        await pilot.press("q")
        assert isinstance(app.screen, ConfirmQuit)
        await pilot.press("n")
        assert app.running and not app.live.control.stop_requested
        await pilot.press("s")
        assert app.live.control.stop_requested
        await wait_for(pilot, lambda: app.monitor.state.finished is not None)
        assert app.monitor.state.finished.status == "stopped"
        assert len(app.monitor.state.epochs) == 1  # stopped where it was held: after epoch 1
        await pilot.press("q")
        await pilot.pause()
    assert app.return_value == 0
    (run_dir,) = runs_dir.iterdir()
    assert read_events(run_dir / "events.jsonl")[-1].type == "run_finished"


async def test_quit_while_training_stops_the_run_first(runs_dir: Path,
                                                      held_training: TrainingHold) -> None:
    app = RegtuiApp(runs_dir, source=live_run(tiny("train.batch_size=8", epochs=400), runs_dir))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: len(app.monitor.state.epochs) >= 1)  # then held
        await pilot.press("q")
        assert isinstance(app.screen, ConfirmQuit)  # a run in progress asks first
        await pilot.press("y")
        await wait_for(pilot, lambda: not app.is_running)
    final = last_event_of_the_run(runs_dir)
    assert final.type == "run_finished" and final.status == "stopped"
    assert app.return_value == 0


async def test_new_run_is_prefilled_with_the_latest_suggestion(runs_dir: Path) -> None:
    app = RegtuiApp(runs_dir, source=ScriptedSource(scripted_run(finished=True)))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.monitor.state.finished is not None)
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, SetupScreen)
        assert app.screen.selected_presets() == ["dropout", "l2"]  # the run's, then the advice
        assert app.screen.resolved.config.train.epochs == 20


async def test_a_run_that_cannot_start_shows_the_error(runs_dir: Path) -> None:
    app = RegtuiApp(runs_dir, source=live_run(tiny("data.dataset=mnist", "data.data_dir=/nonexistent"),
                                                 runs_dir))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.monitor.query_one("#error").display)
        assert "mnist not found in /nonexistent" in text_of(app.monitor.query_one("#error"))
        await pilot.press("q")
    assert app.return_value == 2
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def test_follower_holds_back_torn_lines_and_waits_for_the_file(tmp_path: Path) -> None:
    from regtui.events import Epoch as EpochEvent
    from regtui.events import to_json
    from regtui.rundir import EventFollower

    path = tmp_path / "events.jsonl"
    follower = EventFollower(path)
    assert follower.poll() == []  # no file yet
    line = to_json(EpochEvent(epoch=1))
    path.write_text(line[:10])
    assert follower.poll() == []  # torn: held back
    with path.open("a") as handle:
        handle.write(line[10:] + "\n" + to_json(EpochEvent(epoch=2)) + "\n")
    assert [e.epoch for e in follower.poll()] == [1, 2]
    assert follower.poll() == []


async def test_watch_follows_a_file_another_process_appends_to(tmp_path: Path) -> None:
    from regtui.events import to_json
    from regtui.rundir import RunStore

    events = scripted_run(epochs=6, finished=True)
    store = RunStore.create(tmp_path, "watched", "")  # holds the lock like a live writer
    run_dir = store.path
    app = RegtuiApp(tmp_path, source=FollowSource(run_dir))
    async with app.run_test(size=(80, 24)) as pilot:
        with (run_dir / "events.jsonl").open("a") as handle:
            for event in events[:8]:
                handle.write(to_json(event) + "\n")
            handle.write(to_json(events[8])[:15])  # a torn line, as a writer mid-write
            handle.flush()
            await wait_for(pilot, lambda: len(app.monitor.state.epochs) == 3)
            handle.write(to_json(events[8])[15:] + "\n")
            for event in events[9:]:
                handle.write(to_json(event) + "\n")
        await wait_for(pilot, lambda: app.monitor.state.finished is not None)
        assert len(app.monitor.state.epochs) == 6
        size_before = (run_dir / "events.jsonl").stat().st_size
        await pilot.press("q")
    assert (run_dir / "events.jsonl").stat().st_size == size_before  # watching never writes
    store.close()


async def test_watch_notices_a_writer_that_died(tmp_path: Path) -> None:
    from regtui.events import to_json
    from regtui.rundir import RunStore

    store = RunStore.create(tmp_path, "dead", "")
    with (store.path / "events.jsonl").open("a") as handle:
        for event in scripted_run(epochs=2)[:3]:
            handle.write(to_json(event) + "\n")
    store.close()  # the lock is free: nobody writes any more
    app = RegtuiApp(tmp_path, source=FollowSource(store.path))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "writer gone" in text_of(app.monitor.query_one("#status")))


async def test_live_panels_ask_for_a_layout_only_when_their_height_changes() -> None:
    from textual.app import App

    from regtui.tui.widgets.panels import LivePanel

    layouts: list[str] = []

    class Counted(LivePanel):
        def refresh(self, *regions, layout: bool = False, **kwargs):
            if layout:
                layouts.append(str(self._shown))
            return super().refresh(*regions, layout=layout, **kwargs)

    class Host(App):
        def compose(self):
            yield Counted()

    async with Host().run_test() as pilot:
        panel = pilot.app.query_one(Counted)
        layouts.clear()
        panel.show_content("lr 1e-3\nloss 0.5")
        panel.show_content("lr 1e-3\nloss 0.4")  # same height: repaint only
        panel.show_content("lr 1e-3\nloss 0.4")  # unchanged: nothing at all
        assert len(layouts) == 1
        panel.show_content("lr 1e-3\nloss 0.4\nclipped 0.1")
        assert len(layouts) == 2
        assert "loss 0.4" in text_of(panel)
        panel.show_content("three\nlines\nhere", fixed_height=True)
        assert len(layouts) == 2
