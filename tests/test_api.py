"""The Python API: regtui.init / Run.log / finish write a run like regtui's own.

Tiers: pure tables (metric names, values, ranks, epoch gathering), runs written in this
process, and scripts in subprocesses for what only a process can show (interpreter exit,
an uncaught exception, kill -9, a write that fails, `import regtui` staying light).
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch

import regtui
from helpers import HANG_SECONDS, modules_imported_by, wait_for
from regtui.api import DisabledRun, Run
from regtui.api.epochs import EpochGatherer
from regtui.api.metrics import MetricNames, recognise, to_float
from regtui.api.ranks import detect
from regtui.config import ConfigError
from regtui.events import Alert, Checkpoint, Epoch, RunFinished, RunStarted, Step, read_events
from regtui.rundir import RunData, RunWriteError, list_runs, load_summary, request_stop

ROOT = Path(__file__).resolve().parents[1]


def events_of(run: Run) -> list:
    return read_events(run.path / "events.jsonl")


def of_type(events: list, kind: type) -> list:
    return [e for e in events if isinstance(e, kind)]


def run_script(tmp_path: Path, body: str, runs_dir: Path, timeout: float = 60,
               **env: str) -> subprocess.CompletedProcess:
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(body))
    environ = {**os.environ, "REGTUI_RUNS_DIR": str(runs_dir), **env,
               "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, str(script)], env=environ, capture_output=True,
                          text=True, timeout=timeout)


# ---------------------------------------------------------------- names and values

@pytest.mark.parametrize("key, field", [
    ("train/loss", "train_loss"), ("train_loss", "train_loss"), ("loss", "train_loss"),
    ("Loss", "train_loss"), ("trainLoss", "train_loss"), ("loss/train", "train_loss"),
    ("train_loss_epoch", "train_loss"), ("mean_loss", "train_loss"),
    ("val/loss", "val_loss"), ("val_loss", "val_loss"), ("valid_loss", "val_loss"),
    ("validation_loss", "val_loss"), ("eval_loss", "val_loss"), ("loss/val", "val_loss"),
    ("val_loss_epoch", "val_loss"), ("valLoss", "val_loss"),
    ("acc", "train_acc"), ("accuracy", "train_acc"), ("train/acc", "train_acc"),
    ("train_accuracy", "train_acc"), ("accuracy/train", "train_acc"), ("top1", "train_acc"),
    ("val/acc", "val_acc"), ("val_accuracy", "val_acc"), ("valid_acc", "val_acc"),
    ("valAcc", "val_acc"), ("val_acc_epoch", "val_acc"), ("acc/val", "val_acc"),
    ("lr", "lr"), ("learning_rate", "lr"), ("lr-Adam", "lr"), ("lr-SGD/pg1", "lr"),
    ("train/lr", "lr"), ("grad_norm", "grad_norm"), ("grad_2.0_norm_total", "grad_norm"),
    ("gradient_norm", "grad_norm"),
    # kept as extras: another split, a component, a variant, a per-step value, metadata
    ("test_acc", None), ("test/loss", None), ("kl_loss", None), ("val_acc_top5", None),
    ("balanced_accuracy", None), ("train_loss_step", None), ("epoch", None), ("step", None),
    ("val_lr", None), ("train_val_loss", None), ("", None), ("f1", None),
])
def test_common_spellings_are_recognised(key: str, field: str | None) -> None:
    assert recognise(key) == field


def test_the_first_spelling_keeps_a_curve_and_overrides_win() -> None:
    names = MetricNames()
    assert names.field("train/loss") == "train_loss"
    assert names.field("loss") is None  # a second spelling of the same curve: an extra
    assert names.field("train/loss") == "train_loss"
    mapped = MetricNames({"nll": "val_loss", "loss": None})
    assert mapped.field("nll") == "val_loss"
    assert mapped.field("val_loss") is None  # "nll" owns val_loss
    assert mapped.field("loss") is None
    with pytest.raises(ValueError, match="accepted: train_loss"):
        MetricNames({"x": "validation"})


def test_values_are_python_numpy_or_tensor_scalars() -> None:
    assert to_float(3) == 3.0 and to_float(True) == 1.0
    assert to_float(np.float32(0.5)) == 0.5 and to_float(np.int64(7)) == 7.0
    assert to_float(np.array(2.5)) == 2.5
    assert to_float(torch.tensor(1.5)) == 1.5 and to_float(torch.tensor([4.0])) == 4.0
    assert to_float(torch.tensor(0.25, requires_grad=True) * 2) == 0.5
    assert math.isnan(to_float(float("nan")))
    for bad in ("0.5", torch.ones(3), np.ones(2), 1 + 2j, None, [1.0]):
        with pytest.raises((TypeError, ValueError)):
            to_float(bad)


@pytest.mark.parametrize("environ, rank, world", [
    ({}, 0, 1),
    ({"RANK": "2", "LOCAL_RANK": "0", "WORLD_SIZE": "4"}, 2, 4),
    ({"LOCAL_RANK": "1", "WORLD_SIZE": "2"}, 1, 2),
    ({"OMPI_COMM_WORLD_RANK": "3", "OMPI_COMM_WORLD_SIZE": "8"}, 3, 8),
    ({"SLURM_PROCID": "1", "SLURM_NTASKS": "2"}, 1, 2),
    ({"RANK": "garbled", "SLURM_PROCID": "0"}, 0, 1),
])
def test_ranks_come_from_the_launcher_environment(environ: dict, rank: int, world: int) -> None:
    found = detect(environ, modules={})
    assert (found.rank, found.world_size) == (rank, world)
    assert found.is_main == (rank == 0)


def test_an_initialised_process_group_wins_over_the_environment() -> None:
    class Group:
        is_available = staticmethod(lambda: True)
        is_initialized = staticmethod(lambda: True)
        get_rank = staticmethod(lambda: 1)
        get_world_size = staticmethod(lambda: 2)

    found = detect({"RANK": "0"}, modules={"torch.distributed": Group})
    assert (found.rank, found.world_size, found.source) == (1, 2, "torch.distributed")


def test_an_epoch_logged_in_parts_is_written_once_complete() -> None:
    gather = EpochGatherer(started=0.0)
    assert gather.add(1, {"train_loss": 1.0}, {}, now=1.0) == []
    assert gather.add(1, {"val_loss": 2.0}, {}, now=1.5) == []  # epoch 1: nothing known yet
    [ready] = gather.step(None)  # the next epoch's first step: epoch 1 is done
    assert ready.record.values == {"train_loss": 1.0, "val_loss": 2.0}
    assert ready.record.seconds == 1.0
    assert gather.current_epoch() == 2
    assert gather.add(2, {"train_loss": 0.9}, {"f1": 0.3}, now=3.0) == []
    [ready] = gather.add(2, {"val_loss": 1.8}, {}, now=3.2)  # as complete as epoch 1
    assert ready.record.epoch == 2 and ready.record.extras == {"f1": 0.3}
    [late] = gather.add(2, {"val_acc": 0.4}, {}, now=3.3)  # arrives after it was written
    assert late.update and late.record.values["val_acc"] == 0.4
    assert gather.add(3, {"train_loss": 0.8}, {}, now=4.0) == []
    [ready] = gather.close()
    assert ready.record.epoch == 3
    # An older epoch updated: the epochs after it follow, as readers drop them on a re-run.
    assert [(r.record.epoch, r.update) for r in gather.add(1, {"f1": 0.1}, {}, now=5.0)] == \
        [(1, True), (2, True), (3, True)]


# ---------------------------------------------------------------- a run in this process

def loop(run, epochs: int, steps: int = 10, val_loss=None, nan_at: int | None = None) -> None:
    step = 0
    for epoch in range(1, epochs + 1):
        for _ in range(steps):
            step += 1
            run.log({"train/loss": torch.tensor(1.0 / step), "lr": 0.1}, step=step)
        train_loss = math.nan if epoch == nan_at else 1.0 / epoch
        run.log({"train/loss": train_loss, "train/acc": 0.5 + epoch / 100,
                 "val/loss": val_loss(epoch) if val_loss else 1.1 / epoch,
                 "val/acc": np.float64(0.5), "f1": 0.1 * epoch}, epoch=epoch)


def test_a_run_written_by_a_loop_reads_like_any_run(runs_dir: Path) -> None:
    config = {"lr": 3e-4, "dropout": 0.1, "layers": (64, 32), "nested": {"opt": "adam"},
              "path": Path("/data"), "seed": np.int64(3), "none": None}
    run = regtui.init(name="resnet cifar", config=config, num_classes=10, epochs=3,
                      log_every=4, dataset="cifar10")
    assert isinstance(run, Run) and run.path.parent == runs_dir
    assert run.run_id.split("-")[2:4] == ["resnet", "cifar"]
    loop(run, epochs=3)
    run.finish()
    events = events_of(run)
    started = events[0]
    assert isinstance(started, RunStarted) and started.source == "api"
    assert started.user_config == {"lr": 3e-4, "dropout": 0.1, "layers": [64, 32],
                                   "nested": {"opt": "adam"}, "path": "/data", "seed": 3,
                                   "none": None}
    assert started.config["train"] == {"epochs": 3}
    steps = of_type(events, Step)
    assert [s.step for s in steps] == [1, 5, 9, 13, 17, 21, 25, 29]  # one in log_every=4
    assert steps[1].loss == pytest.approx(1 / 5) and steps[1].lr == 0.1
    assert [s.epoch for s in steps] == [1, 1, 1, 2, 2, 3, 3, 3]
    epochs = of_type(events, Epoch)
    assert [e.epoch for e in epochs] == [1, 2, 3]
    assert epochs[1].train_loss == 0.5 and epochs[1].val_acc == 0.5
    assert epochs[1].extras == {"f1": pytest.approx(0.2)}
    assert isinstance(events[-1], RunFinished) and events[-1].status == "completed"
    toml = tomllib.loads((run.path / "config.toml").read_text())
    assert toml["user"]["nested"] == {"opt": "adam"} and "none" not in toml["user"]
    summary = load_summary(run.path)
    assert (summary["source"], summary["dataset"], summary["model"]) == ("api", "cifar10", None)
    assert summary["epochs_completed"] == 3 and summary["epochs_planned"] == 3
    assert summary["status"] == "completed" and summary["best_val_acc"] == 0.5
    assert [r.path for r in list_runs(runs_dir)] == [run.path]


def test_detectors_fire_on_the_runs_epochs_and_print_to_stderr(
        runs_dir: Path, capsys: pytest.CaptureFixture) -> None:
    with regtui.init(num_classes=10) as run:
        loop(run, epochs=6, val_loss=lambda e: 1.0 if e <= 2 else 1.0 + 0.3 * e)
    alerts = of_type(events_of(run), Alert)
    assert [a.kind for a in alerts] == [a.kind for a in run.alerts]
    assert "overfitting" in {a.kind for a in alerts}
    err = capsys.readouterr().err
    assert "regtui: epoch 5 critical · overfitting since epoch 2: val loss 2.500 is 150% " \
        "above its best 1.000 at epoch 1 while train loss fell 80% → try dropout" in err
    assert load_summary(run.path)["diagnosis"]["kind"] == "overfitting"


def test_nan_is_a_value_and_divergence_fires(runs_dir: Path,
                                             capsys: pytest.CaptureFixture) -> None:
    with regtui.init(num_classes=10, print_alerts=False) as run:
        loop(run, epochs=3, nan_at=2)
    [alert] = [a for a in of_type(events_of(run), Alert) if a.kind == "divergence"]
    assert alert.epoch == 2 and "nan" in alert.message
    assert math.isnan(of_type(events_of(run), Epoch)[1].train_loss)
    assert capsys.readouterr().err == ""  # print_alerts=False


def test_a_loss_the_loop_does_not_log_is_no_divergence(runs_dir: Path) -> None:
    with regtui.init(print_alerts=False) as run:  # no validation, no num_classes
        for epoch in range(1, 8):
            run.log({"loss": 2.0 / epoch}, epoch=epoch)
            if epoch % 3 == 0:
                run.log({"val_loss": 2.0 / epoch}, epoch=epoch)
    assert run.alerts == []
    epochs = RunData.load(run.path).epochs  # epochs 3 and 6 were written again, with val
    assert [e.epoch for e in epochs] == list(range(1, 8))
    assert [math.isfinite(e.val_loss) for e in epochs] == [e % 3 == 0 for e in range(1, 8)]


def test_late_metrics_update_the_epoch_and_alerts_are_not_repeated(runs_dir: Path) -> None:
    with regtui.init(num_classes=10, print_alerts=False) as run:
        for epoch in (1, 2):
            run.log({"train_loss": 1.0, "val_loss": 1.0}, epoch=epoch)
        run.log({"train_loss": math.nan}, epoch=3)
        run.log({"val_loss": math.nan}, epoch=3)  # written, then updated
    epochs = of_type(events_of(run), Epoch)
    assert [e.epoch for e in epochs] == [1, 2, 3]  # epoch 1 at epoch 2, the others complete
    assert [a.kind for a in run.alerts] == ["divergence"]
    assert RunData.load(run.path).epochs[-1].epoch == 3


def test_bad_values_are_left_out_with_one_warning(runs_dir: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    with regtui.init(print_alerts=False) as run:
        for epoch in (1, 2):
            run.log({"loss": "0.5", "val_acc": torch.ones(3), "train_acc": 95.0,
                     "ok": 1}, epoch=epoch)
        run.log({"loss": 1.0}, epoch="two")
        run.log({"loss": 1.0}, step="three")
        run.log({"loss": 1.0}, step=np.int64(4))  # a NumPy step is a step
        run.log(["not", "a", "dict"], step=60)
    err = capsys.readouterr().err
    assert err.count("'loss' = str '0.5' is not a number") == 1
    assert "a Tensor of shape (3,)" in err and "is above 1: regtui reads accuracies" in err
    assert "step=str 'three' is not a whole number" in err
    assert [e.step for e in of_type(events_of(run), Step)] == [4, 60]
    assert "epoch=str 'two' is not a whole number" in err and "must be a dict of numbers, not list" in err
    epochs = of_type(events_of(run), Epoch)
    assert [e.extras for e in epochs] == [{"ok": 1.0}, {"ok": 1.0}]
    run.log({"loss": 1.0}, epoch=3)  # after finish: a warning, nothing written
    assert "after run.finish()" in capsys.readouterr().err


def test_a_detector_that_breaks_leaves_the_run_going(
        runs_dir: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    from regtui.diagnose import Diagnoser

    def broken(self, event, measured=None):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(Diagnoser, "update", broken)  # an edge a test cannot reach otherwise
    with regtui.init() as run:
        loop(run, epochs=3)
    assert len(of_type(events_of(run), Epoch)) == 3
    assert capsys.readouterr().err.count("the detectors failed (ZeroDivisionError: a bug)") == 1


def test_checkpoints_and_the_end_statuses(runs_dir: Path) -> None:
    with regtui.init() as run:
        run.log({"loss": 1.0}, epoch=1)
        run.log_checkpoint(runs_dir / "model.pt", best=True)
        run.finish(status="stopped", reason="early stopping")
        run.finish(status="failed")  # a second call does nothing
    events = events_of(run)
    [checkpoint] = of_type(events, Checkpoint)
    assert (checkpoint.epoch, checkpoint.best) == (1, True)
    [finished] = of_type(events, RunFinished)
    assert (finished.status, finished.reason) == ("stopped", "early stopping")


def test_an_exception_in_the_block_fails_the_run(runs_dir: Path) -> None:
    with pytest.raises(ZeroDivisionError):
        with regtui.init() as run:
            run.log({"loss": 1.0}, epoch=1)
            1 / 0
    finished = events_of(run)[-1]
    assert finished.status == "failed" and finished.error == "ZeroDivisionError: division by zero"
    assert "Traceback" in (run.path / "error.txt").read_text()
    assert [e.epoch for e in of_type(events_of(run), Epoch)] == [1]
    with pytest.raises(KeyboardInterrupt):
        with regtui.init() as run:
            raise KeyboardInterrupt
    assert events_of(run)[-1].status == "interrupted"


def test_a_watching_monitor_can_ask_the_loop_to_stop(runs_dir: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("regtui.api.run.STOP_CHECK_SECONDS", 0.0)
    with regtui.init() as run:
        assert not run.stop_requested
        request_stop(run.path)
        assert run.stop_requested
    finished = events_of(run)[-1]
    assert (finished.status, finished.reason) == ("stopped", "stop requested from a monitor")


def test_other_ranks_and_disabled_mode_write_nothing(runs_dir: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    with regtui.init(config={"lr": 0.1}) as run:
        assert isinstance(run, DisabledRun) and run.why == "rank 1 of 2"
        run.log({"loss": 1.0}, step=1)
        run.log({"loss": 1.0}, epoch=1)
        run.log_checkpoint("x.pt")
        assert not run.stop_requested and run.path is None
    monkeypatch.delenv("RANK")
    monkeypatch.setenv("REGTUI_MODE", "disabled")
    run = regtui.init()
    assert isinstance(run, DisabledRun) and run.why == "REGTUI_MODE=disabled"
    run.finish()
    assert not runs_dir.exists()


def test_init_fails_fast_on_what_it_is_given(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    with pytest.raises(RunWriteError, match="cannot write runs in .*a-file"):
        regtui.init(runs_dir=tmp_path / "a-file")
    with pytest.raises(ValueError, match="accepted: online, disabled"):
        regtui.init(mode="offline")
    with pytest.raises(ConfigError, match="alerts.warmpu"):
        regtui.init(alerts={"warmpu": 3})
    with pytest.raises(ValueError, match="num_classes=0"):
        regtui.init(num_classes=0)
    with pytest.raises(TypeError, match="config must be a dict"):
        regtui.init(config=[1, 2])
    assert not (tmp_path / "runs").exists()


# ---------------------------------------------------------------- in a process of its own

def test_import_regtui_is_light_and_init_loads_on_use(tmp_path: Path, runs_dir: Path) -> None:
    heavy = ("torch", "textual", "typer", "rich", "lightning", "accelerate")
    assert modules_imported_by("import regtui", heavy) == []
    done = run_script(tmp_path, """
        import sys
        import regtui
        run = regtui.init(config={"lr": 0.1})
        run.log({"loss": 0.5}, epoch=1)
        print("heavy:", sorted(m for m in ("torch", "textual", "typer") if m in sys.modules))
    """, runs_dir)
    assert done.returncode == 0, done.stderr
    assert "heavy: []" in done.stdout
    [record] = list_runs(runs_dir)
    assert record.status == "completed"  # the interpreter exited: atexit finished it


def test_an_uncaught_exception_or_ctrl_c_outside_a_block(tmp_path: Path, runs_dir: Path) -> None:
    for error, status in (("ValueError('bad batch')", "failed"),
                          ("KeyboardInterrupt()", "interrupted")):
        done = run_script(tmp_path, f"""
            import regtui
            run = regtui.init(name="{status}")
            run.log({{"loss": 0.5}}, epoch=1)
            raise {error}
        """, runs_dir)
        assert done.returncode != 0 and "Traceback" in done.stderr
    summaries = {r.run_id.split("-")[2]: r.summary for r in list_runs(runs_dir)}
    assert summaries["failed"]["status"] == "failed"
    assert summaries["failed"]["error"] == "ValueError: bad batch"
    assert summaries["interrupted"]["status"] == "interrupted"
    assert summaries["failed"]["epochs_completed"] == 1


def test_kill_9_leaves_an_interrupted_run_with_its_epochs(tmp_path: Path, runs_dir: Path) -> None:
    script = tmp_path / "killed.py"
    script.write_text(textwrap.dedent("""
        import time, regtui
        run = regtui.init(name="killed")
        for epoch in range(1, 1000):
            run.log({"loss": 1.0 / epoch, "val_loss": 1.0}, epoch=epoch)
            time.sleep(0.01)
    """))
    environ = {**os.environ, "REGTUI_RUNS_DIR": str(runs_dir),
               "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    process = subprocess.Popen([sys.executable, str(script)], env=environ)
    deadline = time.time() + HANG_SECONDS  # only turns a hang into a failure
    while time.time() < deadline and not any(
            sum(isinstance(e, Epoch) for e in read_events(p)) >= 3
            for p in runs_dir.glob("*/events.jsonl")):
        time.sleep(0.05)
    [record] = list_runs(runs_dir)
    assert record.status == "running"
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    [record] = list_runs(runs_dir)
    assert record.status == "interrupted" and record.summary["epochs_completed"] >= 3


def test_a_disk_that_fills_up_does_not_stop_training(tmp_path: Path, runs_dir: Path) -> None:
    # A real failing write: the process may not grow a file past 4 kB (RLIMIT_FSIZE).
    done = run_script(tmp_path, """
        import resource, signal, regtui
        run = regtui.init(name="full", print_alerts=False)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        total = 0.0
        for epoch in range(1, 201):
            for step in range(5):
                run.log({"loss": 1.0}, step=epoch * 5 + step)
                total += 1
            run.log({"loss": 1.0 / epoch, "val_loss": 1.0, "val_acc": 0.5}, epoch=epoch)
        run.finish()
        print("trained", int(total), "steps")
    """, runs_dir, REGTUI_MODE="online")
    assert done.returncode == 0, done.stderr
    assert "trained 1000 steps" in done.stdout
    assert done.stderr.count("regtui: cannot write") == 1, done.stderr
    assert "training goes on" in done.stderr
    [record] = list_runs(runs_dir)
    assert 0 < record.summary["epochs_completed"] < 200  # what fitted is readable


# ---------------------------------------------------------------- every view reads it

def overfitting_run(name: str, lr: float) -> Run:
    with regtui.init(name=name, config={"lr": lr, "opt": {"name": "adam"}}, num_classes=10,
                     epochs=6, print_alerts=False) as run:
        loop(run, epochs=6, val_loss=lambda e: 1.0 if e <= 2 else 1.0 + 0.3 * e)
    return run


def test_runs_show_compare_and_export_handle_api_runs(runs_dir: Path) -> None:
    from typer.testing import CliRunner

    from regtui.cli import app

    first, second = overfitting_run("first", 0.1), overfitting_run("second", 0.01)
    cli = CliRunner()
    listed = cli.invoke(app, ["runs"])
    assert listed.exit_code == 0 and listed.stdout.count("(api)") == 2
    assert "overfitting since epoch 2" in listed.stdout and "6/6" in listed.stdout
    shown = cli.invoke(app, ["show", first.run_id, "--plain"])
    assert shown.exit_code == 0
    assert "| written by | a script, through regtui.init |" in shown.stdout
    assert "**critical ·** overfitting since epoch 2" in shown.stdout
    assert "[user]\nlr = 0.1\nopt = {name = \"adam\"}" in shown.stdout
    compared = cli.invoke(app, ["compare", first.run_id, second.run_id, "--plain"])
    assert compared.exit_code == 0, compared.output
    assert "user.lr" in compared.stdout and "user.opt.name" not in compared.stdout
    assert "user.lr 0.010 (vs 0.100)" in compared.stdout
    plotted = cli.invoke(app, ["show", first.run_id, "--metric", "f1", "-m", "val_loss"])
    assert plotted.exit_code == 0 and "• f1" in plotted.stdout and "• val_loss" in plotted.stdout
    unknown = cli.invoke(app, ["show", first.run_id, "--metric", "f2"])
    assert unknown.exit_code == 2 and "it has train_loss" in unknown.stderr
    assert "Other metrics: f1" in shown.stdout
    exported = cli.invoke(app, ["export", first.run_id, "--format", "all"])
    assert exported.exit_code == 0, exported.output
    assert json.loads((first.path / "export.json").read_text())["epochs"][5]["extras"] == \
        {"f1": pytest.approx(0.6)}
    assert (first.path / "export.csv").read_text().count("\n") == 7
    assert "<html>" in (first.path / "export.html").read_text()
    assert list((first.path / "tensorboard").glob("events.out.tfevents.*"))


async def test_a_watching_monitor_shows_a_live_api_run_and_can_ask_it_to_stop(
        runs_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from regtui.sources import FollowSource
    from regtui.tui.app import RegtuiApp

    monkeypatch.setattr("regtui.api.run.STOP_CHECK_SECONDS", 0.0)
    run = regtui.init(name="watched", num_classes=10, epochs=4, print_alerts=False)
    app = RegtuiApp(runs_dir, source=FollowSource(run.path))  # what `regtui watch` opens
    async with app.run_test(size=(100, 30)) as pilot:
        for epoch in (1, 2):
            run.log({"train/loss": 1 / epoch, "val/loss": 1.0, "val/acc": 0.5}, epoch=epoch)
        await wait_for(pilot, lambda: len(app.monitor.state.epochs) == 2)
        assert app.monitor.state.started.source == "api"
        assert app.check_action("stop_run", ()) and not app.check_action("toggle_pause", ())
        await pilot.press("s")
        await wait_for(pilot, lambda: run.stop_requested)
        run.finish()
        await wait_for(pilot, lambda: app.monitor.state.finished is not None)
        assert app.monitor.state.finished.status == "stopped"
        assert not app.check_action("stop_run", ())  # nothing left to stop
        await pilot.press("q")


async def test_a_watched_trainer_run_says_it_cannot_be_stopped_from_here(runs_dir: Path) -> None:
    from regtui.rundir import RunStore
    from regtui.sources import FollowSource
    from regtui.tui.app import RegtuiApp

    store = RunStore.create(runs_dir, "trainer", "")  # a `regtui run` in another process
    store.write(RunStarted(run_id=store.run_id))
    app = RegtuiApp(runs_dir, source=FollowSource(store.path))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.monitor.state.started is not None)
        await pilot.press("s")
        await pilot.pause(0.1)
        assert any("cannot be stopped from here" in n.message for n in app._notifications)
        assert not (store.path / "stop.request").exists()
        await pilot.press("q")
    store.close()
