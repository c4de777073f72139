"""The monitor as a new user meets it (issue 15): quitting, the Runs table, Setup, views
that fail, alerts, plots, results, the palette and the CLI around them.

Pilot tests fed by the scripted source, or real tiny runs held after their first epoch
(held_training), so that no key ever races the run.
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path

import pytest
from rich.console import Console
from textual.widgets import Input, SelectionList, TextArea

from helpers import (HANG_SECONDS, TrainingHold, last_event_of_the_run, text_of, tiny,
                     wait_for)
from regtui.engine import live_run
from regtui.events import Alert, Epoch, RunStarted, read_events
from regtui.tui.app import RegtuiApp
from regtui.tui.screens.dialogs import ConfirmQuit
from regtui.tui.screens.monitor import MonitorScreen
from regtui.tui.screens.setup import SetupScreen
from scripted import T0, ScriptedSource, scripted_run


def drawn(screen: MonitorScreen) -> bool:
    return screen.drawn_version == screen.state.version and \
        screen.drawn_curves == screen.state.curves_version


def notifications(app) -> str:
    return "\n".join(f"{n.title} {n.message}" for n in app._notifications)


# ---------------------------------------------------------------- 1. quitting

@pytest.mark.parametrize("key", ["ctrl+q", "ctrl+c", "palette"])
async def test_every_way_out_asks_then_stops_the_run_cleanly(
        key: str, runs_dir: Path, held_training: TrainingHold) -> None:
    app = RegtuiApp(runs_dir, source=live_run(tiny("train.batch_size=8", epochs=400), runs_dir))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: len(app.monitor.state.epochs) >= 1)  # then held
        if key == "palette":
            await app.action_quit()  # what the command palette's Quit calls
        else:
            await pilot.press(key)
        await pilot.pause()
        assert isinstance(app.screen, ConfirmQuit)  # asks: nothing is stopped behind the back
        assert app.running and not app.live.control.stop_requested
        await pilot.press("y")
        await wait_for(pilot, lambda: not app.is_running)
    final = last_event_of_the_run(runs_dir)
    assert final.type == "run_finished" and final.status == "stopped"
    assert app.return_value == 0


async def test_an_app_that_exits_anyhow_stops_its_run(runs_dir: Path,
                                                     held_training: TrainingHold) -> None:
    app = RegtuiApp(runs_dir, source=live_run(tiny("train.batch_size=8", epochs=400), runs_dir))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: len(app.monitor.state.epochs) >= 1)
        app.exit()  # not through q: the run is still told to stop, never left training
        await wait_for(pilot, lambda: not app.is_running)
    (run_dir,) = runs_dir.iterdir()
    deadline = time.monotonic() + HANG_SECONDS  # the worker thread ends it after the app
    while read_events(run_dir / "events.jsonl")[-1].type != "run_finished":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert read_events(run_dir / "events.jsonl")[-1].status == "interrupted"


async def test_sigterm_or_sighup_ends_the_run_interrupted(runs_dir: Path,
                                                          held_training: TrainingHold) -> None:
    app = RegtuiApp(runs_dir, source=live_run(tiny("train.batch_size=8", epochs=400), runs_dir))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: len(app.monitor.state.epochs) >= 1)
        app.terminate()  # what the SIGTERM and SIGHUP handlers call on a terminal
        await wait_for(pilot, lambda: not app.is_running)
    final = last_event_of_the_run(runs_dir)
    assert final.type == "run_finished" and final.status == "interrupted"
    assert app.return_value == 130


async def test_setup_has_q_and_shows_quit_and_help(runs_dir: Path) -> None:
    app = RegtuiApp(runs_dir)
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        keys = app.screen.active_bindings
        assert keys["q"].binding.description == "quit"
        assert keys["question_mark"].binding.description == "help"
        assert "escape" not in keys  # nothing to go back to from the first screen
        app.screen.query_one("#epochs", Input).focus()
        await pilot.press("q")  # typed into the field, not a quit
        assert app.is_running and app.screen.query_one("#epochs", Input).value.endswith("q")
        app.screen.query_one("#presets").focus()
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running)


async def test_footers_show_help_and_quit_at_60_columns(runs_dir: Path) -> None:
    from textual.widgets import Footer

    app = RegtuiApp(runs_dir, source=ScriptedSource(scripted_run(finished=True)))
    async with app.run_test(size=(60, 20)) as pilot:
        await wait_for(pilot, lambda: drawn(app.monitor))
        footer = app.screen.query_one(Footer)
        shown = [child for child in footer.children if child.region.right <= 60]
        labels = " ".join(str(getattr(child, "description", "")) for child in shown)
        assert "help" in labels and "quit" in labels


# ---------------------------------------------------------------- 2. the Runs table

def _runs(runs_dir: Path, specs: list[tuple[int, int, str]]) -> list[str]:
    """Runs on disk from scripted events: (epochs done, planned, label) each; their ids."""
    from regtui.rundir import RunStore

    ids = []
    for epochs, planned, label in specs:
        store = RunStore.create(runs_dir, label, "")
        for event in scripted_run(epochs=epochs, planned=planned, finished=True):
            if isinstance(event, RunStarted):
                event = dataclasses.replace(event, run_id=store.path.name,
                                            presets=label.split("+"))
            store.write(event)
        store.close()
        ids.append(store.path.name)
    return ids


@pytest.mark.parametrize("width", [80, 120])
def test_regtui_runs_never_cuts_the_id(width: int, runs_dir: Path) -> None:
    from regtui.rundir import list_runs
    from regtui.views.runs_table import runs_table

    ids = _runs(runs_dir, [(100, 100, "baseline+l2+augment-light"), (3, 10, "dropout")])
    console = Console(width=width, record=True, file=open("/dev/null", "w"))
    console.print(runs_table(list_runs(runs_dir), width))
    text = console.export_text()
    for run_id in ids:
        assert run_id in text
    assert "100/100" in text and "3/10" in text
    assert max(len(line) for line in text.splitlines()) <= width


def test_regtui_runs_on_a_terminal_fits_its_width(runs_dir: Path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from regtui.cli import app
    from regtui.cli import runs as runs_module

    ids = _runs(runs_dir, [(100, 100, "baseline+l2"), (3, 10, "dropout")])
    terminal = Console(width=80, force_terminal=True, no_color=True, highlight=False)
    monkeypatch.setattr(runs_module, "out", terminal)
    result = CliRunner().invoke(app, ["runs", "--runs-dir", str(runs_dir)])
    assert result.exit_code == 0
    for run_id in ids:
        assert run_id in result.output
    assert "100/100" in result.output and "3/10" in result.output
    import click

    assert max(len(line) for line in click.unstyle(result.output).splitlines()) <= 80


async def test_runs_screen_shows_whole_ids_and_true_epochs_at_80(runs_dir: Path) -> None:
    from textual.widgets import DataTable

    ids = _runs(runs_dir, [(100, 100, "baseline"), (7, 10, "dropout+l2")])
    app = RegtuiApp(runs_dir, browse=True)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 2)
        await pilot.pause()
        lines = [table.render_line(y).text for y in range(3)]
        screen_text = "\n".join(lines)
        for run_id in ids:
            assert run_id in screen_text
        assert "100/100" in screen_text and "7/10" in screen_text


# ---------------------------------------------------------------- 3. Setup

async def test_setup_shows_defaults_and_has_the_fields_lessons_need(runs_dir: Path) -> None:
    app = RegtuiApp(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        setup = app.screen
        values = {field: setup.query_one(f"#{field}", Input).value
                  for field in ("epochs", "lr", "batch", "train-subset", "data-dir")}
        assert values == {"epochs": "10", "lr": "0.001", "batch": "64", "train-subset": "0",
                          "data-dir": ""}
        heights = {setup.query_one(f"#{f}").size.height for f in ("epochs", "lr", "batch")}
        assert heights == {1}  # the epochs field is as tall as the others
        assert "baseline: no regularization" in text_of(setup.query_one("#ticked"))
        setup.query_one("#train-subset", Input).value = "200"
        setup.query_one("#data-dir", Input).value = "/data/sets"
        setup.query_one("#download").value = True
        setup.query_one("#other", TextArea).text = "model.hidden=[32]\ntrain.optimizer=sgd"
        await pilot.pause()
        config = setup.resolved.config
        assert config.data.train_subset == 200 and config.data.data_dir == "/data/sets"
        assert config.data.download and config.model.hidden == (32,)
        assert config.train.optimizer == "sgd"
        setup.query_one("#presets", SelectionList).select("transfer")
        await pilot.pause()
        # an untouched field follows the presets: transfer's resnet18 and lr 3e-4
        assert setup.resolved.config.model.name == "resnet18"
        assert setup.query_one("#lr", Input).value == "0.0003"


async def test_setup_flags_every_invalid_field_and_ctrl_s_says_so(runs_dir: Path) -> None:
    app = RegtuiApp(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        setup = app.screen
        setup.query_one("#epochs", Input).value = "-3"
        setup.query_one("#lr", Input).value = "fast"
        setup.query_one("#batch", Input).value = "0"
        setup.query_one("#other", TextArea).text = "model.nope=1"
        await pilot.pause()
        problem = text_of(setup.query_one("#problem"))
        assert "train.epochs = -3 is out of range" in problem
        assert "lr 'fast' is not a number" in problem
        assert "train.batch_size = 0 is out of range" in problem
        assert "other settings, line 1: unknown key model.nope" in problem
        for field in ("epochs", "lr", "batch"):
            assert setup.query_one(f"#{field}").has_class("-invalid")
        assert setup.query_one("#other").has_class("-invalid")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, SetupScreen)
        assert "cannot start: 4 settings to fix" in notifications(app)


async def test_a_failed_start_says_so_and_n_keeps_every_choice(runs_dir: Path) -> None:
    app = RegtuiApp(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        setup = app.screen
        setup.query_one("#dataset").value = "mnist"
        setup.query_one("#data-dir", Input).value = "/nonexistent"
        setup.query_one("#train-subset", Input).value = "120"
        setup.query_one("#epochs", Input).value = "3"
        setup.query_one("#other", TextArea).text = "model.hidden=[16]"
        setup.query_one("#presets", SelectionList).select("l2")
        await pilot.pause()
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.monitor and app.monitor.failure is not None)
        await wait_for(pilot, lambda: drawn(app.monitor))
        status = text_of(app.monitor.query_one("#status"))
        assert "could not start" in status and "waiting" not in status
        assert "mnist not found in /nonexistent" in text_of(app.monitor.query_one("#error"))
        await pilot.press("n")
        await pilot.pause()
        again = app.screen
        assert isinstance(again, SetupScreen)
        assert again.selected_presets() == ["baseline", "l2"]
        config = again.resolved.config
        assert (config.data.dataset, config.data.data_dir) == ("mnist", "/nonexistent")
        assert config.data.train_subset == 120 and config.train.epochs == 3
        assert config.model.hidden == (16,)


# ---------------------------------------------------------------- 4. views that fail

async def test_augment_preview_of_data_that_cannot_load_says_why(runs_dir: Path) -> None:
    from regtui.tui.screens.augment import AugmentPreview

    app = RegtuiApp(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.screen.query_one("#dataset").value = "mnist"
        app.screen.query_one("#data-dir", Input).value = "/nonexistent"
        await pilot.pause()
        app.screen.query_one("#presets").focus()
        await pilot.press("a")
        assert isinstance(app.screen, AugmentPreview)
        await wait_for(pilot, lambda: "could not be loaded" in
                       text_of(app.screen.query_one("#augment-view")))


async def test_a_in_show_of_an_augmented_run_opens_the_preview(runs_dir: Path) -> None:
    from regtui.engine import live_run as start
    from regtui.sources import source_for
    from regtui.tui.screens.augment import AugmentPreview

    source = start(tiny(preset_names=["augment-light"]), runs_dir, buffered=False)
    assert source.run().status == "completed"
    app = RegtuiApp(runs_dir, source=source_for(source.run_dir))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.monitor.state.finished is not None)
        assert "a" in app.screen.active_bindings
        await pilot.press("a")
        assert isinstance(app.screen, AugmentPreview)
        await wait_for(pilot, lambda: "re-rolls" in
                       text_of(app.screen.query_one("#augment-view")))


async def test_keys_that_cannot_act_say_why(runs_dir: Path) -> None:
    app = RegtuiApp(runs_dir, source=ScriptedSource([]))  # nothing has started yet
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("a")
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, MonitorScreen)
        said = notifications(app)
        assert "augmentation preview" in said and "nothing to export" in said


# ---------------------------------------------------------------- 5. alerts

def _history(val_losses: list[float]):
    from regtui.config import AlertsConfig
    from regtui.diagnose import Diagnoser

    diagnoser = Diagnoser(AlertsConfig(), num_classes=10)
    alerts = []
    for n, val in enumerate(val_losses, start=1):
        alerts += diagnoser.update(Epoch(epoch=n, train_loss=1.0 / n, train_acc=0.5,
                                         val_loss=val, val_acc=0.5, grad_norm=1.0))
    return alerts


def test_no_plateau_while_the_val_loss_stays_up_from_its_best() -> None:
    # 0.709 at best, then up to ~0.736 and flat there: overfitting, not a plateau
    rising = [1.0, 0.85, 0.709, 0.72, 0.735, 0.736, 0.737, 0.736, 0.735, 0.736, 0.737]
    assert not [a for a in _history(rising) if a.kind == "plateau"]
    flat_at_best = [1.0, 0.8, 0.7, 0.6, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    assert [a for a in _history(flat_at_best) if a.kind == "plateau"]


def _overfit_then_plateaus(presets: list[str]) -> list:
    events = scripted_run(epochs=12, planned=40)
    events[0] = dataclasses.replace(events[0], presets=presets)
    critical = Alert(t=T0 + 10, epoch=10, kind="overfitting", level="critical",
                     onset_epoch=7, suggest=["dropout", "l2"],
                     message="overfitting since epoch 7: val loss 0.8 is 56% above its best")
    plateaus = [Alert(t=T0 + 11, epoch=11 + n, kind="plateau", level="info",
                      suggest=["cosine"], message=f"plateau: number {n}") for n in range(4)]
    return events + [critical] + plateaus


async def test_the_most_severe_alert_stays_on_top(runs_dir: Path) -> None:
    app = RegtuiApp(runs_dir, source=ScriptedSource(_overfit_then_plateaus(["baseline"])))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: len(app.monitor.state.alerts) == 6)
        await wait_for(pilot, lambda: drawn(app.monitor))
        first = text_of(app.monitor.query_one("#alerts")).splitlines()[0]
        assert "critical" in first and "overfitting" in first
        panel = app.monitor.query_one("#alerts")
        assert panel.region.y >= 0 and panel.region.height >= 1


async def test_n_takes_the_remedy_from_the_diagnosis_and_drops_baseline(runs_dir: Path) -> None:
    app = RegtuiApp(runs_dir, source=ScriptedSource(_overfit_then_plateaus(["baseline"])))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: len(app.monitor.state.alerts) == 6)
        assert app.monitor.state.diagnosis()["kind"] == "overfitting"
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, SetupScreen)
        assert app.screen.selected_presets() == ["dropout"]  # not cosine, not baseline


# ---------------------------------------------------------------- 6-9. plots

def test_ticks_are_even_round_numbers() -> None:
    from regtui.views.format import tick_labels
    from regtui.views.scales import log_ticks, nice_ticks

    ticks = nice_ticks(0.31, 1.87, 5)
    steps = {round(b - a, 9) for a, b in zip(ticks, ticks[1:])}
    assert len(steps) == 1 and ticks[0] <= 0.31 and ticks[-1] >= 1.87
    assert tick_labels(ticks) == ["0.0", "0.5", "1.0", "1.5", "2.0"]
    assert tick_labels([0.25, 0.5, 0.75]) == ["0.25", "0.50", "0.75"]
    assert tick_labels([0.0, 1e31, 2e31]) == ["0", "1e31", "2e31"]
    assert log_ticks(0.001, 2.3) == [0.001, 0.01, 0.1, 1.0, 10.0]


def test_smoothing_is_tensorboards_debiased_ema() -> None:
    from regtui.views.scales import ema

    values = [1.0, 2.0, 3.0]
    weight = 0.6
    # TensorBoard: last = last*w + (1-w)*v; smoothed = last / (1 - w**n)
    expected, last = [], 0.0
    for n, value in enumerate(values, start=1):
        last = last * weight + (1 - weight) * value
        expected.append(last / (1 - weight ** n))
    assert ema(values, weight) == pytest.approx(expected)
    assert ema(values, weight)[0] == 1.0  # debiased: the first point is not pulled to 0
    assert ema(values, 0.0) == values
    assert math.isnan(ema([1.0, math.nan, 2.0], 0.5)[1])


async def test_plots_put_the_legend_outside_and_tick_evenly(runs_dir: Path) -> None:
    from regtui.tui.widgets.metric_plot import MetricPlot

    app = RegtuiApp(runs_dir, source=ScriptedSource(scripted_run(finished=True)))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: drawn(app.monitor))
        plot = app.monitor.query_one("#loss-plot", MetricPlot)
        lines = [plot.render_line(y).text for y in range(plot.size.height)]
        assert "train" in lines[0] and "val" in lines[0]  # the legend is the title line
        assert not any("train" in line or " val" in line for line in lines[1:])
        labels = [line.split("┤")[0].strip() for line in lines if "┤" in line]
        values = [float(label) for label in labels]
        steps = {round(a - b, 9) for a, b in zip(values, values[1:])}
        assert len(values) >= 3 and len(steps) == 1  # even, none skipped


async def test_log_y_and_smoothing_keys_redraw_the_plots(runs_dir: Path) -> None:
    from regtui.tui.widgets.metric_plot import MetricPlot

    app = RegtuiApp(runs_dir, source=ScriptedSource(scripted_run(finished=True)))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: drawn(app.monitor))
        keys = app.screen.active_bindings
        assert keys["l"].binding.description == "log" and keys["m"].binding.description == \
            "smooth"
        loss = app.monitor.query_one("#loss-plot", MetricPlot)
        accuracy = app.monitor.query_one("#acc-plot", MetricPlot)
        await pilot.press("l")
        assert loss.log_y and not accuracy.log_y  # accuracies stay linear
        assert loss.heading().startswith("loss log")
        await pilot.press("m")
        assert loss.options.smoothing == accuracy.options.smoothing == 0.6
        assert "ema 0.6" in loss.heading()
        await pilot.press("m", "m")
        assert loss.options.smoothing == 0.0


def test_confusion_matrix_and_curves_read_without_colour() -> None:
    from regtui.tui.widgets.metric_plot import STYLES
    from regtui.tui.widgets.panels import confusion_table

    finished = scripted_run(finished=True)[-1]
    console = Console(width=80, no_color=True, record=True, file=open("/dev/null", "w"))
    console.print(confusion_table(finished))
    text = console.export_text()
    assert "·" in text and "*2" in text  # zeros and errors differ by their characters
    assert len({glyph for glyph, _, _ in STYLES}) == len(STYLES)  # one glyph per series


# ---------------------------------------------------------------- 10-12. what fits, results, epochs

@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
async def test_help_fits_the_terminal(size: tuple[int, int], runs_dir: Path) -> None:
    app = RegtuiApp(runs_dir, source=ScriptedSource(scripted_run(finished=True)))
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: drawn(app.monitor))
        await pilot.press("question_mark")
        await pilot.pause()
        dialog = app.screen.query_one("#help-dialog")
        assert dialog.region.right <= size[0] and dialog.region.bottom <= size[1]
        text = app.screen.query_one("#help-text")
        assert text.size.width >= max(len(line) for line in text_of(text).splitlines()) - 1 \
            or dialog.max_scroll_y > 0


async def test_results_show_true_and_predicted_and_fill_the_width(runs_dir: Path) -> None:
    app = RegtuiApp(runs_dir, source=ScriptedSource(scripted_run(finished=True)))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: drawn(app.monitor))
        await pilot.pause()
        detail = text_of(app.monitor.query_one("#results-detail"))
        assert "✗ 3 as 4" in detail  # the wrong one: true 3, predicted 4
        assert "1 wrong" in detail
        charts = app.monitor.query_one("#charts")
        assert charts.region.y < 24  # the charts stay near the top


async def test_epoch_table_is_newest_first(runs_dir: Path) -> None:
    from regtui.tui.widgets.epoch_table import EpochTable

    app = RegtuiApp(runs_dir, source=ScriptedSource(scripted_run(epochs=12, finished=True)))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: drawn(app.monitor))
        table = app.monitor.query_one(EpochTable)
        assert table.get_row_at(0)[0] == "12" and table.get_row_at(11)[0] == "1"


async def test_pause_says_resume_and_the_table_catches_up(runs_dir: Path,
                                                         held_training: TrainingHold) -> None:
    from regtui.tui.widgets.epoch_table import EpochTable

    app = RegtuiApp(runs_dir, source=live_run(tiny("train.batch_size=8", epochs=400), runs_dir))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: len(app.monitor.state.epochs) >= 1)
        await pilot.press("p")
        keys = app.screen.active_bindings
        assert keys["p"].binding.description == "resume"
        assert app.monitor.query_one(EpochTable).row_count == len(app.monitor.state.epochs)
        await pilot.press("p")
        assert app.screen.active_bindings["p"].binding.description == "pause"
        await pilot.press("s")
        await wait_for(pilot, lambda: app.monitor.state.finished is not None)


# ---------------------------------------------------------------- 15-16. where, resume, palette

async def test_monitor_says_where_the_run_is_and_how_to_resume(runs_dir: Path) -> None:
    from regtui.rundir import RunStore
    from regtui.sources import source_for

    store = RunStore.create(runs_dir, "dropout", "")
    for event in scripted_run(epochs=4, planned=20):
        store.write(event)
    store.close()  # no run_finished, nobody holds the lock: interrupted
    app = RegtuiApp(runs_dir, source=source_for(store.path))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: "interrupted" in text_of(app.monitor.query_one("#status")))
        await wait_for(pilot, lambda: app.monitor.query_one("#results").display)
        status = text_of(app.monitor.query_one("#status"))
        assert store.path.name in status and "ETA" not in status
        results = text_of(app.monitor.query_one("#results"))
        assert f"regtui run --resume" in results and store.path.name in results
        assert text_of(app.monitor.query_one("#alerts")).strip() != "no alerts yet"


async def test_finished_run_without_alerts_says_no_alerts(runs_dir: Path) -> None:
    events = [e for e in scripted_run(finished=True) if not isinstance(e, Alert)]
    app = RegtuiApp(runs_dir, source=ScriptedSource(events))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: drawn(app.monitor))
        assert text_of(app.monitor.query_one("#alerts")).strip() == "no alerts"


async def test_palette_lists_regtuis_actions_with_their_keys(runs_dir: Path) -> None:
    app = RegtuiApp(runs_dir, source=ScriptedSource(scripted_run(finished=True)))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: drawn(app.monitor))
        titles = [command.title for command in app.get_system_commands(app.screen)]
        for wanted in ("New run (n)", "Runs (r)", "Export (e)", "Log-scale y (l)",
                       "Smoothing (m)", "Help (?)", "Quit"):
            assert wanted in titles


# ---------------------------------------------------------------- 17. the CLI around it

def test_cli_help_version_runs_dir_and_completion(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from regtui.cli import app

    runner = CliRunner()
    top = runner.invoke(app, ["--help"])
    assert top.exit_code == 0
    assert "Bare regtui" in top.output and "--install-completion" in top.output
    assert "--version" in top.output
    version = runner.invoke(app, ["--version"])
    assert version.exit_code == 0 and version.output.startswith("regtui ")
    run_help = runner.invoke(app, ["run", "--help"])
    assert "<bool>" not in run_help.output
    assert "Where runs are kept [default: ./runs]" in " ".join(
        run_help.output.replace("│", " ").split())
    _runs(tmp_path / "elsewhere", [(3, 10, "dropout")])
    listed = runner.invoke(app, ["--runs-dir", str(tmp_path / "elsewhere"), "runs"])
    assert listed.exit_code == 0 and "dropout" in listed.output


@pytest.mark.parametrize("height", [11, 12, 14, 16])
async def test_y_ticks_sit_on_evenly_spaced_rows(height: int) -> None:
    from textual.app import App

    from regtui.tui.widgets.metric_plot import MetricPlot

    class Host(App):
        CSS = f"MetricPlot {{ height: {height}; }}"

        def compose(self):
            yield MetricPlot("loss", id="plot")

    async with Host().run_test(size=(60, 30)) as pilot:
        plot = pilot.app.query_one(MetricPlot)
        plot.show({"train": ([1, 2, 3, 4], [2.31, 2.2, 2.1, 2.02]),
                   "val": ([1, 2, 3, 4], [2.3, 2.25, 2.2, 2.15])})
        await pilot.pause()
        lines = [plot.render_line(y).text for y in range(height)]
        rows = [y for y, line in enumerate(lines) if "┤" in line]
        assert len(rows) >= 2
        assert len({b - a for a, b in zip(rows, rows[1:])}) == 1, "\n".join(lines)


# ---------------------------------------------------------------- 13. compare

def test_compare_says_which_runs_are_not_done(runs_dir: Path) -> None:
    from typer.testing import CliRunner

    from regtui.cli import app
    from regtui.rundir import RunStore

    done = _runs(runs_dir, [(12, 12, "baseline")])[0]
    store = RunStore.create(runs_dir, "dropout", "")  # still running: holds its lock
    for event in scripted_run(epochs=5, planned=200):
        if isinstance(event, RunStarted):
            event = dataclasses.replace(event, run_id=store.path.name)
        store.write(event)
    try:
        result = CliRunner().invoke(app, ["compare", done, store.path.name, "--plain",
                                          "--runs-dir", str(runs_dir)])
    finally:
        store.close()
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line.split()[1:] for line in result.output.splitlines()
             if line.split()}
    assert lines["status"] == ["completed", "running"]
    assert lines["epochs"] == ["12/12", "5/200"]
    assert "not final: #2 is running at epoch 5/200" in " ".join(result.output.split())


async def test_compare_screen_has_status_and_epochs(runs_dir: Path) -> None:
    from regtui.tui.screens.compare import CompareScreen

    paths = [runs_dir / run_id for run_id in _runs(runs_dir, [(12, 12, "a"), (3, 30, "b")])]
    app = RegtuiApp(runs_dir, browse=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        app.push_screen(CompareScreen(paths))
        await pilot.pause()
        table = text_of(app.screen.query_one("#compare-table"))
        assert "status" in table and "3/30" in table and "12/12" in table


# ---------------------------------------------------------------- 14. watch waits for a run

def test_watch_waits_for_a_run_to_start(runs_dir: Path) -> None:
    import threading

    from regtui.cli.runs import newest_running
    from regtui.rundir import RunDirError, RunStore

    runs_dir.mkdir(parents=True)
    with pytest.raises(RunDirError, match="after waiting 0.2s"):
        newest_running(runs_dir, wait=0.2)
    stores = []
    starting = threading.Timer(0.5, lambda: stores.append(RunStore.create(runs_dir, "late", "")))
    starting.start()  # a `nohup regtui run &` that takes a moment to create its directory
    try:
        found = newest_running(runs_dir, wait=HANG_SECONDS)
    finally:
        starting.join()
    assert found == stores[0].path
    stores[0].close()


def test_watch_help_shows_its_default_and_wait() -> None:
    from typer.testing import CliRunner

    from regtui.cli import app

    result = CliRunner().invoke(app, ["watch", "--help"])
    text = " ".join(result.output.replace("│", " ").split())
    assert "[default: the newest running run]" in text and "--wait" in text


def test_headless_epoch_lines_fit_80_columns() -> None:
    from regtui.views.console import epoch_line

    line = epoch_line(Epoch(epoch=100, train_loss=0.12164, train_acc=0.96, val_loss=0.42601,
                            val_acc=0.885, lr=1e-3, seconds=12.5), 100)
    assert len(line) <= 80
    assert "loss 0.1216 val 0.4260" in line and "acc 0.960 val 0.885" in line


# ---------------------------------------------------------------- 18. export says what it does

def test_export_all_says_what_it_writes(runs_dir: Path, monkeypatch) -> None:
    import io

    from rich.console import Console
    from typer.testing import CliRunner

    from regtui.cli import app
    from regtui.cli import runs as runs_command

    (run_id,) = _runs(runs_dir, [(4, 4, "dropout")])
    terminal = io.StringIO()  # on a terminal it says what it is writing; a pipe gets only
    monkeypatch.setattr(runs_command, "err", Console(file=terminal, force_terminal=True,
                                                     highlight=False, no_color=True))
    result = CliRunner().invoke(app, ["export", run_id, "-f", "md", "-f", "csv",
                                      "--runs-dir", str(runs_dir)])
    assert result.exit_code == 0, result.output
    assert "exporting md, csv of 1 run" in terminal.getvalue()
    assert "md: " in result.stdout and "csv: " in result.stdout


# ---------------------------------------------------------------- cost: what the monitor takes

async def test_monitor_reports_its_ui_cpu_share_of_training(runs_dir: Path) -> None:
    from regtui.tui.widgets.metric_plot import PlotOptions

    events = scripted_run(epochs=6, finished=True)
    source = ScriptedSource(events[:1])  # run_started now, the epochs a moment later
    app = RegtuiApp(runs_dir, source=source)
    app.plot_options = PlotOptions(log_y=True, smoothing=0.6)  # measured at its dearest
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.monitor.state.started is not None)
        assert app.ui_cpu_share is None  # no epoch yet
        await pilot.pause(0.3)
        for event in events[1:]:
            source.push(event)
        await wait_for(pilot, lambda: app.monitor.state.finished is not None)
        share = app.ui_cpu_share
        assert share is not None and 0 <= share < 1
        plot = app.monitor.query_one("#loss-plot")
        assert plot.log_y and plot.options.smoothing == 0.6


@pytest.mark.parametrize("screen", ["setup", "runs", "compare"])
async def test_every_footer_shows_help_and_quit_at_60_columns(screen: str,
                                                              runs_dir: Path) -> None:
    from textual.widgets import Footer

    from regtui.tui.screens.compare import CompareScreen

    paths = [runs_dir / run_id for run_id in _runs(runs_dir, [(4, 4, "a"), (3, 30, "b")])]
    app = RegtuiApp(runs_dir, browse=screen != "setup")
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        if screen == "compare":
            app.push_screen(CompareScreen(paths))
            await pilot.pause()
        footer = app.screen.query_one(Footer)
        shown = [child for child in footer.query("FooterKey") if child.region.right <= 60
                 and child.region.width > 0]
        labels = {getattr(child, "description", "") for child in shown}
        assert {"help", "quit"} <= labels, labels


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
async def test_augmentation_preview_and_export_fit_the_terminal(size: tuple[int, int],
                                                                runs_dir: Path) -> None:
    from regtui.tui.screens.augment import AugmentPreview

    (run_id,) = _runs(runs_dir, [(4, 4, "dropout")])
    app = RegtuiApp(runs_dir)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        app.screen.query_one("#presets").focus()
        await pilot.press("a")
        assert isinstance(app.screen, AugmentPreview)
        view = app.screen.query_one("#augment-view")
        await wait_for(pilot, lambda: "re-rolls" in text_of(view))
        await pilot.pause()
        assert view.region.right <= size[0] and view.region.bottom <= size[1]
        images = [line.rstrip() for line in text_of(view).splitlines() if "▀" in line]
        assert images and max(map(len, images)) <= view.content_region.width  # none wraps
        await pilot.press("escape")
        from regtui.tui.screens.export import ExportDialog

        app.push_screen(ExportDialog(runs_dir / run_id))
        await pilot.pause()
        dialog = app.screen.query_one("#export-dialog")
        assert dialog.region.right <= size[0] and dialog.region.x >= 0


async def test_the_title_and_legend_stay_when_log_and_smoothing_are_on(runs_dir: Path) -> None:
    app = RegtuiApp(runs_dir, source=ScriptedSource(scripted_run(finished=True)))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: drawn(app.monitor))
        await pilot.press("l", "m")
        await pilot.pause()
        plot = app.monitor.query_one("#loss-plot")
        title = plot.render_line(0).text
        assert "loss log ema 0.6" in title and "train" in title and "val" in title
        labels = [plot.render_line(y).text.split("┤")[0].strip()
                  for y in range(plot.size.height) if "┤" in plot.render_line(y).text]
        assert all(len(label) <= 6 for label in labels), labels  # "0.01", not "0.0100"
