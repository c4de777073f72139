"""CLI tier: exit codes and messages for good and bad input, real processes for signals."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import HANG_SECONDS, modules_imported_by, spawn_run, wait_for_epochs
from regtui.cli import app
from regtui.events import Epoch, read_events
from regtui.rundir import list_runs

TINY = ["--set", "data.train_subset=240", "--set", "model.hidden=[32]", "--device", "cpu"]


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def test_help_starts_without_importing_torch_or_the_run_machinery() -> None:
    imported = modules_imported_by(
        "from typer.testing import CliRunner; from regtui.cli import app; "
        "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0, r.output; "
        "assert 'run' in r.output")
    # Only the command line's own modules: no torch, config, presets or run directory.
    assert all(name == "regtui" or name.startswith("regtui.cli") for name in imported), imported


def test_presets_lists_every_builtin_and_shows_one() -> None:
    listing = invoke("presets")
    assert listing.exit_code == 0
    for name in ("dropout", "l2", "bad-init", "transfer", "augment-strong"):
        assert name in listing.output
    one = invoke("presets", "dropout")
    assert one.exit_code == 0
    assert "Srivastava" in one.output and "[model]\ndropout = 0.5" in one.output


def test_run_trains_writes_the_run_dir_and_lists_it(runs_dir: Path) -> None:
    result = invoke("run", "--preset", "dropout", "--epochs", "2", *TINY, "--name", "try")
    assert result.exit_code == 0, result.output
    assert "epoch   2/2" in result.output and "completed" in result.output
    (record,) = list_runs(runs_dir)
    assert "-try-" in record.run_id
    summary = json.loads((record.path / "summary.json").read_text())
    for key in ("status", "epochs_completed", "best_epoch", "best_val_acc", "test_acc",
                "train_seconds", "final", "confusion_matrix", "alerts"):
        assert key in summary
    assert summary["status"] == "completed" and summary["epochs_completed"] == 2
    listing = invoke("runs")
    assert record.run_id in listing.output and "completed" in listing.output


def test_config_file_repeats_a_run_exactly(runs_dir: Path) -> None:
    assert invoke("run", "--preset", "augment-light", "--epochs", "2", *TINY).exit_code == 0
    (first,) = list_runs(runs_dir)
    again = invoke("run", "--config", str(first.path / "config.toml"))
    assert again.exit_code == 0, again.output
    second = [r for r in list_runs(runs_dir) if r.run_id != first.run_id][0]
    losses = [[e.train_loss for e in read_events(r.path / "events.jsonl")
               if isinstance(e, Epoch)] for r in (first, second)]
    assert losses[0] == losses[1] and len(losses[0]) == 2


@pytest.mark.parametrize("args, needle", [
    (["--preset", "nope"], "unknown preset 'nope'; known presets: augment-light"),
    (["--set", "model.dropout=1.5"], "model.dropout = 1.5 is out of range"),
    (["--set", "augment.hflip=2"], "augment.hflip = 2 is out of range"),
    (["--set", "data.val_fraction=1.5"], "data.val_fraction = 1.5 is out of range"),
    (["--batch-size", "0"], "--batch-size 0: train.batch_size = 0 is out of range"),
    (["--epochs", "-2"], "--epochs -2: train.epochs = -2 is out of range"),
    (["--model", "vgg"], "accepted: one of mlp, cnn, resnet18"),
    (["--dataset", "imagenet"], "accepted: one of digits, mnist, fashion-mnist"),
    (["--set", "train.optimizer=rmsprop"], "accepted: one of sgd, adam, adamw"),
    (["--set", "init.scheme=zeros"], "accepted: one of default, xavier_uniform"),
    (["--device", "cuda"], "CUDA is not available"),
    (["--device", "tpu"], "accepted: auto, cpu, cuda, cuda:N, mps"),
    (["--dataset", "imagefolder"], "needs data.data_dir"),
    (["--dataset", "imagefolder", "--data-dir", "/nonexistent/x"], "is not a folder"),
    (["--dataset", "mnist", "--data-dir", "/nonexistent/x"], "pass --download"),
    (["--config", "/nonexistent/config.toml"], "no such file"),
    (["--resume", "no-such-run"], "no run 'no-such-run'"),
])
def test_bad_input_exits_2_with_one_clear_line(args: list[str], needle: str,
                                                runs_dir: Path) -> None:
    result = invoke("run", *args)
    assert result.exit_code == 2, result.output
    assert needle in result.output
    assert "Traceback" not in result.output
    assert not runs_dir.exists() or not list(runs_dir.iterdir())  # nothing left behind


def test_preset_file_errors_name_file_and_key(tmp_path: Path) -> None:
    preset = tmp_path / "mine.toml"
    preset.write_text("[preset]\ndescription = 'x'\n[model]\ndropuot = 0.5\n")
    result = invoke("run", "--preset", str(preset))
    assert result.exit_code == 2
    assert str(preset) in result.output and "unknown key model.dropuot" in result.output


def test_diverged_run_exits_1(runs_dir: Path) -> None:
    result = invoke("run", *TINY, "--set", "train.optimizer=sgd", "--lr", "10000", "--epochs", "3")
    assert result.exit_code == 1, result.output
    assert "critical · divergence" in result.output
    assert "diagnosis: diverged at epoch 1" in result.output and "Traceback" not in result.output


def test_sigkill_keeps_finished_epochs_and_resume_completes(runs_dir: Path) -> None:
    # last.pt every epoch; killed while held after epoch 2, so it cannot have written more
    process = spawn_run(runs_dir, "train.checkpoint_seconds=0", hold_at_epoch=2)
    run_dir = wait_for_epochs(runs_dir, 2, process)
    process.kill()
    process.wait()
    epochs = [e.epoch for e in read_events(run_dir / "events.jsonl") if isinstance(e, Epoch)]
    assert epochs == [1, 2]
    (record,) = list_runs(runs_dir)
    assert record.status == "interrupted"
    assert "interrupted" in invoke("runs").output
    resumed = invoke("run", "--resume", record.run_id, "--epochs", str(epochs[-1] + 1))
    assert resumed.exit_code == 0, resumed.output
    assert list_runs(runs_dir)[0].status == "completed"


def test_sigkill_before_the_first_checkpoint_resume_says_so(runs_dir: Path) -> None:
    process = spawn_run(runs_dir, "train.checkpoint_seconds=1000", hold_at_epoch=1)
    run_dir = wait_for_epochs(runs_dir, 1, process)
    process.kill()
    process.wait()
    assert not (run_dir / "last.pt").exists()
    resumed = invoke("run", "--resume", run_dir.name)
    assert resumed.exit_code == 2
    assert "no last.pt to resume from" in resumed.output and "start it again" in resumed.output
    assert "Traceback" not in resumed.output


def test_ctrl_c_ends_the_run_cleanly_with_exit_130(runs_dir: Path) -> None:
    process = spawn_run(runs_dir, hold_at_epoch=1)  # held until Ctrl-C asks it to stop
    run_dir = wait_for_epochs(runs_dir, 1, process)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=HANG_SECONDS)
    assert process.returncode == 130, output
    assert "Traceback" not in output
    final = read_events(run_dir / "events.jsonl")[-1]
    assert final.type == "run_finished" and final.status == "interrupted"
    assert final.test_acc is not None  # the best epoch is still tested


def test_resume_refuses_other_settings(runs_dir: Path) -> None:
    result = invoke("run", "--resume", "x", "--preset", "dropout", "--lr", "0.1")
    assert result.exit_code == 2
    assert "--lr, --preset cannot be combined" in result.output
