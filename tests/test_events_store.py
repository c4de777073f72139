from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

from regtui import events as ev
from regtui.rundir import writer as store_module
from regtui.rundir import RunStore, is_alive, list_runs, load_summary
from regtui.rundir import summarize


def test_event_round_trip_keeps_non_finite_numbers() -> None:
    epoch = ev.Epoch(epoch=3, train_loss=math.nan, val_loss=math.inf, extras={"g": -math.inf})
    line = ev.to_json(epoch)
    data = json.loads(line)  # strict JSON: no bare NaN
    assert data["v"] == ev.SCHEMA_VERSION and data["type"] == "epoch"
    back = ev.from_json(line)
    assert isinstance(back, ev.Epoch)
    assert math.isnan(back.train_loss) and back.val_loss == math.inf
    assert back.extras == {"g": -math.inf}


def test_readers_skip_torn_lines_unknown_types_and_unknown_fields(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    lines = [ev.to_json(ev.Epoch(epoch=1)),
             '{"v": 1, "type": "from_the_future", "t": 1}',
             '{"v": 2, "type": "epoch", "t": 1, "epoch": 2, "new_field": 5}',
             '{"v": 1, "type": "epo']  # torn last line
    path.write_text("\n".join(lines))
    read = ev.read_events(path)
    assert [e.epoch for e in read] == [1, 2]
    assert ev.read_events(tmp_path / "missing.jsonl") == []


def _started(resumed_from: int = 0) -> ev.RunStarted:
    return ev.RunStarted(run_id="r", presets=["dropout"], resumed_from=resumed_from,
                         config={"data": {"dataset": "digits"}, "model": {"name": "mlp"},
                                 "train": {"epochs": 4}})


def _epoch(n: int, val_acc: float) -> ev.Epoch:
    return ev.Epoch(epoch=n, train_loss=1.0 / n, train_acc=0.5 + n / 10, val_loss=1.0,
                    val_acc=val_acc, seconds=1.5)


def test_summary_folds_epochs_and_a_resume_drops_what_is_redone() -> None:
    stream = [_started(), _epoch(1, 0.5), _epoch(2, 0.7),
              ev.Alert(epoch=3, kind="overfitting"), _epoch(3, 0.6),
              _started(resumed_from=2), _epoch(3, 0.8),
              ev.RunFinished(status="completed", test_acc=0.75)]
    summary = summarize(stream)
    assert summary["epochs_completed"] == 3
    assert (summary["best_epoch"], summary["best_val_acc"]) == (3, 0.8)
    assert summary["alerts"] == []  # the alert came from the epoch that was redone
    assert summary["train_seconds"] == 4.5
    assert summary["status"] == "completed" and summary["test_acc"] == 0.75
    assert summary["final"]["epoch"] == 3
    assert math.isclose(summary["final_gap"], 0.0, abs_tol=1e-9)  # 0.8 train, 0.8 val


def test_store_writes_events_summary_and_holds_the_lock(runs_dir: Path, monkeypatch) -> None:
    monkeypatch.setattr(store_module, "SUMMARY_SECONDS", 0.0)  # rewritten at every epoch
    store = RunStore.create(runs_dir, "he+dropout", "[train]\nepochs = 4\n")
    assert store.run_id.split("-")[2] == "he+dropout"
    store.write(_started())
    store.write(_epoch(1, 0.5))
    assert is_alive(store.path)
    summary = json.loads((store.path / "summary.json").read_text())
    assert summary["epochs_completed"] == 1 and summary["status"] == "running"
    assert load_summary(store.path)["status"] == "running"
    store.close()
    assert not is_alive(store.path)
    assert load_summary(store.path)["status"] == "interrupted"
    assert [r.status for r in list_runs(runs_dir)] == ["interrupted"]


def test_summary_of_quick_epochs_is_rewritten_at_most_every_summary_seconds(
        runs_dir: Path, monkeypatch) -> None:
    monkeypatch.setattr(store_module, "SUMMARY_SECONDS", 3600.0)
    store = RunStore.create(runs_dir, "quick", "")
    store.write(_started())  # the first event is written at once

    def on_disk() -> dict:
        return json.loads((store.path / "summary.json").read_text())

    assert on_disk()["status"] == "running" and on_disk()["epochs_completed"] == 0
    store.write(_epoch(1, 0.5))
    store.write(_epoch(2, 0.6))
    assert on_disk()["epochs_completed"] == 0  # too soon: kept for later
    monkeypatch.setattr(store_module, "SUMMARY_SECONDS", 0.0)
    store.write(ev.Step(epoch=3, step=30, loss=0.5, lr=1e-3, grad_norm=1.0))
    assert on_disk()["epochs_completed"] == 2  # due now: the next event brings it up to date
    monkeypatch.setattr(store_module, "SUMMARY_SECONDS", 3600.0)
    store.write(_epoch(3, 0.7))
    store.close()  # a run that ends without run_finished still leaves its last summary
    assert on_disk()["epochs_completed"] == 3


def test_lock_held_by_another_process_means_running(runs_dir: Path) -> None:
    store = RunStore.create(runs_dir, "x", "")
    store.write(_started())
    store.close()
    # The holder keeps the lock until it is killed (it waits on its stdin, not on a clock).
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl,sys; f=open(sys.argv[1],'a');"
         "fcntl.flock(f, fcntl.LOCK_EX); print('locked', flush=True); sys.stdin.read()",
         str(store.path / "run.lock")], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert load_summary(store.path)["status"] == "running"
    finally:
        holder.kill()
        holder.communicate()  # reaped, its pipes closed
    assert load_summary(store.path)["status"] == "interrupted"


def test_reopen_continues_after_a_torn_line(runs_dir: Path) -> None:
    store = RunStore.create(runs_dir, "x", "")
    store.write(_started())
    store.close()
    with open(store.path / "events.jsonl", "a") as handle:
        handle.write('{"v": 1, "type": "ep')  # what a kill -9 mid-write leaves
    again = RunStore.reopen(store.path)
    again.write(_epoch(1, 0.5))
    again.close()
    assert [e.type for e in ev.read_events(store.path / "events.jsonl")] == \
        ["run_started", "epoch"]
