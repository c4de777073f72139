"""Runs after the fact: the listing with every status, and the TUI's Runs screen."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import spawn_run, text_of, tiny, wait_for, wait_for_epochs
from regtui import train
from regtui.cli import app
from regtui.control import Control
from regtui.events import Epoch
from regtui.rundir import RunStore, list_runs
from regtui.tui.app import RegtuiApp
from regtui.tui.screens.compare import CompareScreen
from regtui.tui.screens.dialogs import Confirm
from regtui.tui.screens.export import ExportDialog
from regtui.tui.screens.monitor import MonitorScreen
from regtui.tui.screens.runs import RunsScreen
from scripted import scripted_run


def _stop_after_first_epoch(control: Control):
    return lambda event: control.stop("stopped") if isinstance(event, Epoch) else None


class _BreaksInTraining(Control):
    """A control whose check raises inside the trainer's step loop: the run itself fails."""

    @property
    def paused(self) -> bool:
        raise RuntimeError("the training step broke")


@pytest.fixture(scope="module")
def every_status(tmp_path_factory):
    """Runs that ended every way a run can end, and one still going: status -> run dir."""
    runs_dir = tmp_path_factory.mktemp("runs")
    process = spawn_run(runs_dir, hold_at_epoch=1)  # first: the one run with epochs on disk
    paths = {"interrupted": wait_for_epochs(runs_dir, 1, process)}
    process.kill()  # SIGKILL while held: no run_finished, the lock goes with the process
    process.wait()
    paths["completed"] = train.start(tiny(epochs=2), runs_dir, name="done")[0]
    control = Control()
    paths["stopped"] = train.start(tiny(epochs=5), runs_dir, name="halt", control=control,
                                   listeners=[_stop_after_first_epoch(control)])[0]
    paths["diverged"] = train.start(tiny("train.optimizer=sgd", "train.lr=10000", epochs=3),
                                    runs_dir, name="boom")[0]
    paths["failed"] = train.start(tiny(epochs=2), runs_dir, name="broke",
                                  control=_BreaksInTraining())[0]
    live = RunStore.create(runs_dir, "live", "")  # holds the lock, as a training process does
    for event in scripted_run(epochs=2)[:3]:
        live.write(event)
    paths["running"] = live.path
    yield runs_dir, paths
    live.close()


def test_runs_lists_every_status(every_status) -> None:
    runs_dir, paths = every_status
    statuses = {record.path: record.status for record in list_runs(runs_dir)}
    assert statuses == {path: status for status, path in paths.items()}
    result = CliRunner().invoke(app, ["runs", "--runs-dir", str(runs_dir)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert all(name in lines[0] for name in ("final gap", "diagnosis", "started"))
    for status, path in paths.items():
        (line,) = [line for line in lines if line.startswith(path.name)]
        assert f" {status} " in line, line
    diverged = next(line for line in lines if line.startswith(paths["diverged"].name))
    assert "diverged at epoch 1" in diverged


async def test_runs_screen_opens_marks_compares_and_exports(every_status) -> None:
    runs_dir, paths = every_status
    app = RegtuiApp(runs_dir, browse=True)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        await wait_for(pilot, lambda: len(screen.records) == len(paths))
        table = screen.query_one("#runs-table")
        order = list(screen.records)

        async def highlight(status: str) -> None:
            table.move_cursor(row=order.index(paths[status].name))
            await pilot.pause()

        for status in ("completed", "stopped"):
            await highlight(status)
            await pilot.press("space")
        assert screen.marked == [paths["completed"].name, paths["stopped"].name]
        await pilot.press("c")
        assert isinstance(app.screen, CompareScreen)
        compared = text_of(app.screen.query_one("#compare-table"))
        assert "#2 vs #1:" in compared and "train.epochs 5 (vs 2)" in compared
        await pilot.press("escape")

        await highlight("diverged")
        await pilot.press("enter")
        assert isinstance(app.screen, MonitorScreen)
        await wait_for(pilot, lambda: app.screen.state.finished is not None)
        assert app.screen.state.finished.status == "diverged"
        await pilot.press("e")  # export from the replayed run's monitor
        assert isinstance(app.screen, ExportDialog)
        await pilot.press("enter")  # the highlighted format: md
        export = paths["diverged"] / "export.md"
        await wait_for(pilot, lambda: export.is_file())
        assert "diverged" in export.read_text()
        await pilot.press("escape", "escape")
        assert app.screen is screen

        await highlight("running")
        await pilot.press("enter")  # a live run is followed, not replayed
        assert app.screen.source.kind == "follow"
        await pilot.press("escape")


async def test_runs_screen_deletes_after_confirming_and_never_a_live_run(every_status,
                                                                         tmp_path: Path) -> None:
    _, paths = every_status
    runs_dir = tmp_path / "mine"
    runs_dir.mkdir()
    doomed = Path(shutil.copytree(paths["completed"], runs_dir / paths["completed"].name))
    live = RunStore.create(runs_dir, "live", "")
    live.write(scripted_run(epochs=1)[0])
    app = RegtuiApp(runs_dir, browse=True)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: len(screen.records) == 2)
        table = screen.query_one("#runs-table")
        table.move_cursor(row=list(screen.records).index(live.path.name))
        await pilot.press("d")
        assert app.screen is screen  # refused: it is still training
        table.move_cursor(row=list(screen.records).index(doomed.name))
        await pilot.press("d")
        assert isinstance(app.screen, Confirm)
        await pilot.press("n")
        assert doomed.is_dir()
        await pilot.press("d", "y")
        await wait_for(pilot, lambda: len(screen.records) == 1)
        assert not doomed.exists() and live.path.is_dir()
    live.close()
