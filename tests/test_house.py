"""The house's seams: one writer of the run directory, one event source, bounded long runs."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

from helpers import HANG_SECONDS, modules_imported_by, text_of, tiny, wait_for
from regtui import train
from regtui.events import Epoch, RunFinished, RunStarted, Step, to_json
from regtui.rundir import (RunData, RunDirError, RunStore, delete_run, fold_summary,
                           list_runs, load_summary, write_export)
from regtui.rundir.curves import Curves
from regtui.sources import DiskSource, FollowSource, LiveSource, ReplaySource
from regtui.tui.app import RegtuiApp
from regtui.tui.widgets.epoch_table import MAX_ROWS, EpochTable
from regtui.tui.widgets.metric_plot import MetricPlot


def _epoch(n: int, val_loss: float = 1.0, val_acc: float = 0.5) -> Epoch:
    return Epoch(epoch=n, train_loss=1.0 / n, train_acc=0.9, val_loss=val_loss,
                 val_acc=val_acc, lr=1e-3, seconds=0.1, extras={"weight_norm": float(n)})


def _write_run(run_dir: Path, epochs: int, steps_per_epoch: int = 0,
               finished: bool = True) -> Path:
    run_dir.mkdir(parents=True)
    (run_dir / "config.toml").write_text("")
    with open(run_dir / "events.jsonl", "w") as handle:
        handle.write(to_json(RunStarted(run_id=run_dir.name,
                                        config={"train": {"epochs": epochs}})) + "\n")
        for n in range(1, epochs + 1):
            for k in range(steps_per_epoch):
                handle.write(to_json(Step(epoch=n, step=n * steps_per_epoch + k, loss=0.5)) + "\n")
            handle.write(to_json(_epoch(n, val_loss=1.0 + (5.0 if n == epochs // 2 else 0))) + "\n")
        if finished:
            handle.write(to_json(RunFinished(status="completed")) + "\n")
    return run_dir


# ---------------------------------------------------------------- curves

def test_curves_keep_numbers_not_events_and_downsampling_keeps_a_spike() -> None:
    curves = Curves()
    for n in range(1, 10_001):
        curves.add(_epoch(n, val_loss=9.0 if n == 4321 else 1.0, val_acc=n / 10_000))
    assert len(curves) == 10_000 and curves.last.epoch == 10_000
    xs, ys = curves.downsampled("val_loss", max_points=300)
    assert len(xs) <= 300 and max(ys) == 9.0 and 4321 in xs  # the spike survives
    assert curves.best()["epoch"] == 10_000
    assert curves.row(99)["weight_norm"] == 100.0


def test_curves_forget_the_epochs_a_resume_redoes() -> None:
    curves = Curves()
    for n in range(1, 11):
        curves.add(_epoch(n, val_acc=0.9 if n == 8 else 0.5))
    assert curves.best()["epoch"] == 8
    curves.truncate(5)
    assert list(curves.epochs) == [1, 2, 3, 4, 5] and curves.best()["epoch"] == 1
    curves.add(_epoch(6))
    curves.add(_epoch(4))  # a re-run epoch replaces from there on
    assert list(curves.epochs) == [1, 2, 3, 4]


# ---------------------------------------------------------------- the run directory's one writer

def test_the_summary_json_listing_agrees_with_the_fold_of_the_events(runs_dir: Path) -> None:
    run_dir, finished = train.start(tiny(epochs=2), runs_dir)
    fast, exact = load_summary(run_dir), fold_summary(run_dir)
    assert fast["status"] == exact["status"] == "completed"
    for key in ("epochs_completed", "best_val_acc", "test_acc", "diagnosis", "final_gap"):
        assert fast[key] == exact[key], key
    (run_dir / "summary.json").write_text("{ torn")  # unreadable: the events decide
    assert load_summary(run_dir)["epochs_completed"] == 2


def test_a_failing_listener_is_reported_once_and_the_run_goes_on(runs_dir: Path) -> None:
    calls, reports = [], []

    def broken(event) -> None:
        calls.append(event.type)
        raise RuntimeError("a view broke")

    run_dir, finished = train.start(tiny(epochs=2), runs_dir, listeners=[broken],
                                    on_listener_error=lambda l, e: reports.append(str(e)))
    assert finished.status == "completed"
    assert reports == ["a view broke"] and calls == ["run_started"]


def test_a_store_that_cannot_write_ends_the_run_failed_in_one_line(runs_dir: Path,
                                                                    monkeypatch) -> None:
    from regtui.rundir import writer

    real = writer.write_atomic
    monkeypatch.setattr(writer, "write_atomic", lambda path, data: (
        (_ for _ in ()).throw(OSError(28, "No space left on device"))
        if path.name == "best.pt" else real(path, data)))
    resolved = tiny("train.checkpoint_seconds=0", epochs=2)
    run_dir, finished = train.start(resolved, runs_dir)
    assert finished.status == "failed"
    assert "No space left on device" in finished.error and "\n" not in finished.error
    assert not list(run_dir.glob(".*.tmp"))


def test_exports_never_replace_a_runs_own_files(runs_dir: Path) -> None:
    run_dir, _ = train.start(tiny(epochs=1), runs_dir)
    for name in ("events.jsonl", "summary.json", "config.toml", "last.pt"):
        with pytest.raises(RunDirError, match="own"):
            write_export(run_dir, run_dir / name, "x")
    before = (run_dir / "events.jsonl").read_bytes()
    (run_dir / "export.md").symlink_to(run_dir / "events.jsonl")  # planted
    write_export(run_dir, run_dir / "export.md", "report")
    assert (run_dir / "events.jsonl").read_bytes() == before  # not written through
    assert not (run_dir / "export.md").is_symlink()


def test_deleting_refuses_a_live_run_and_removes_a_finished_one(runs_dir: Path) -> None:
    live = RunStore.create(runs_dir, "live", "")
    with pytest.raises(RunDirError, match="still training"):
        delete_run(live.path)
    live.close()
    delete_run(live.path)
    assert not live.path.exists()


def test_reopening_a_run_writes_nothing_until_its_first_event(tmp_path: Path) -> None:
    run_dir = _write_run(tmp_path / "run", epochs=3, finished=False)
    with open(run_dir / "events.jsonl", "a") as handle:
        handle.write('{"v":1,"type":"ep')  # torn by a kill
    before = (run_dir / "events.jsonl").read_bytes()
    store = RunStore.reopen(run_dir)
    assert (run_dir / "events.jsonl").read_bytes() == before
    store.write(_epoch(4))
    store.close()
    assert [e.epoch for e in RunData.load(run_dir).epochs] == [1, 2, 3, 4]


# ---------------------------------------------------------------- one source for every view

def test_a_disk_source_hands_over_the_latest_step_only_and_in_bounded_batches(
        tmp_path: Path) -> None:
    run_dir = _write_run(tmp_path / "run", epochs=50, steps_per_epoch=20)
    source = DiskSource(run_dir, follow=False, batch=20)
    assert source.wait_until_read(10)
    batches = []
    while source.pending() or not batches:
        batches.append(source.poll())
    events = [e for batch in batches for e in batch]
    assert max(len(b) for b in batches) <= 20
    assert sum(isinstance(e, Epoch) for e in events) == 50
    assert sum(isinstance(e, Step) for e in events) <= 3  # not 1,000
    assert not source.writer_gone()


def test_every_kind_of_source_reads_the_same_run_alike(tmp_path: Path) -> None:
    run_dir = _write_run(tmp_path / "run", epochs=5)
    replay = ReplaySource.from_dir(run_dir)
    follow = FollowSource(run_dir)
    for source in (replay, follow):
        assert source.wait_until_read(HANG_SECONDS)  # however slow the machine: all read
    listed = ReplaySource(list(RunData.load(run_dir).events))
    kinds = [[e.type for e in s.poll() if e.type != "step"] for s in (replay, follow, listed)]
    assert kinds[0] == kinds[1] == kinds[2]
    follow.close()


async def test_a_long_run_opens_with_bounded_plots_and_table(
        tmp_path: Path) -> None:
    run_dir = _write_run(tmp_path / "long", epochs=30_000)  # `regtui bench -w S100k`: 100,000
    app = RegtuiApp(tmp_path, source=ReplaySource.from_dir(run_dir))
    async with app.run_test(size=(120, 36)) as pilot:
        monitor = app.monitor
        # every event folded, however long the reader takes (the deadline only catches a hang)
        await wait_for(pilot, lambda: monitor.state.finished is not None
                       and not monitor.source.pending())
        monitor.curves_drawn_at = -math.inf
        monitor.redraw()
        assert len(monitor.state.epochs) == 30_000
        plot = monitor.query_one("#loss-plot", MetricPlot)
        assert len(plot.series["val"][0]) <= 600  # drawn downsampled
        assert max(plot.series["val"][1]) == 6.0  # with its one spike
        assert monitor.query_one(EpochTable).row_count == MAX_ROWS


def test_the_live_source_collapses_a_flood_of_steps(tmp_path: Path) -> None:
    def launch(listeners, control, on_created):
        on_created(tmp_path)
        for step in range(10_000):
            for listener in listeners:
                listener(Step(step=step))
        finished = RunFinished(status="completed")
        for listener in listeners:
            listener(finished)
        return tmp_path, finished

    source = LiveSource(launch)
    assert source.run().status == "completed" and source.run_dir == tmp_path
    events = source.poll()
    assert [e.type for e in events] == ["step", "run_finished"] and events[0].step == 9_999


def test_the_tui_and_the_views_import_neither_torch_nor_train() -> None:
    imported = modules_imported_by("import regtui.tui.app, regtui.cli.runs, regtui.views.export,"
                                   " regtui.views.compare, regtui.sources, regtui.engine")
    assert [m for m in imported if m.startswith(("torch", "regtui.train"))] == []


def test_a_summary_is_trusted_only_while_events_jsonl_is_what_it_was_made_from(
        runs_dir: Path) -> None:
    run_dir, _ = train.start(tiny(epochs=3), runs_dir)
    assert load_summary(run_dir)["epochs_completed"] == 3
    events = (run_dir / "events.jsonl").read_bytes()
    (run_dir / "events.jsonl").write_bytes(events[:len(events) * 6 // 10])  # cut mid-way
    listed = load_summary(run_dir)
    assert listed == fold_summary(run_dir) and listed["status"] == "interrupted"
    (run_dir / "events.jsonl").write_bytes(b"")
    assert load_summary(run_dir)["epochs_completed"] == 0


async def test_a_run_killed_while_loading_data_shows_as_interrupted(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path, "early", '[data]\ndataset = "digits"\n[train]\nepochs = 7\n')
    store.close()  # its process died before run_started: no event at all
    run = RunData.load(store.path)
    assert (run.summary["dataset"], run.summary["epochs_planned"]) == ("digits", 7)
    (listed,) = list_runs(tmp_path)
    assert (listed.status, listed.summary["dataset"]) == ("interrupted", "digits")
    app = RegtuiApp(tmp_path, source=ReplaySource.from_dir(store.path))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "interrupted" in text_of(app.monitor.query_one("#status")))
        assert "waiting" not in text_of(app.monitor.query_one("#status"))
