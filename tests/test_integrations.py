"""Lightning, Accelerate and TensorBoard logs write regtui runs; the examples run.

Each integration is exercised with the real library on a tiny model on the CPU; the
examples run in this process (their imports are already paid for) on small IDX files.
"""

from __future__ import annotations

import math
import runpy
import sys
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from typer.testing import CliRunner

import regtui
from helpers import write_idx
from regtui.cli import app
from regtui.events import Alert, Checkpoint, RunFinished, RunStarted, Step, read_events
from regtui.rundir import RunData, list_runs, request_stop

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


@pytest.fixture(autouse=True)
def one_thread(monkeypatch: pytest.MonkeyPatch):
    """Tiny models on a shared 2-core machine: one torch thread avoids spinning workers."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    monkeypatch.syspath_prepend(str(EXAMPLES))
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def idx_folder(tmp_path: Path) -> Path:
    """A small MNIST-like IDX folder: 300 images whose class is their brightest row band."""
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(300) % 10
    images = torch.randint(0, 60, (300, 28, 28), generator=generator)
    for index, label in enumerate(labels.tolist()):
        images[index, label * 2:label * 2 + 3] += 190
    folder = tmp_path / "mnist"
    folder.mkdir()
    write_idx(folder / "t10k-images-idx3-ubyte", images)
    write_idx(folder / "t10k-labels-idx1-ubyte", labels)
    return folder


def run_example(name: str, *args: str) -> None:
    saved = sys.argv
    sys.argv = [str(EXAMPLES / name), *args]
    try:
        runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    finally:
        sys.argv = saved


def only_run(runs_dir: Path) -> RunData:
    [record] = list_runs(runs_dir)
    return RunData.load(record.path)


# ---------------------------------------------------------------- the examples

def test_the_plain_loop_example_writes_a_run(idx_folder: Path, runs_dir: Path,
                                             capsys: pytest.CaptureFixture) -> None:
    run_example("plain_loop.py", str(idx_folder), "--epochs", "2", "--batch-size", "32")
    run = only_run(runs_dir)
    assert run.summary["status"] == "completed" and run.summary["source"] == "api"
    assert [e.epoch for e in run.epochs] == [1, 2]
    assert run.started.user_config["epochs"] == 2 and run.started.model["name"] == "Sequential"
    assert run.summary["dataset"] == "mnist-idx" and run.started.model["params"] > 0
    assert run.epochs[-1].val_acc > 0.3  # the bands are learnable
    assert f"run {run.path.name}: val acc" in capsys.readouterr().out


def test_the_adapters_are_regtui_attributes() -> None:
    from regtui.integrations.accelerate import RegtuiTracker
    from regtui.integrations.lightning import RegtuiLogger

    assert regtui.lightning.RegtuiLogger is RegtuiLogger
    assert regtui.accelerate.RegtuiTracker is RegtuiTracker
    with pytest.raises(AttributeError):
        regtui.tensorflow  # noqa: B018


def test_the_lightning_example_writes_a_run(idx_folder: Path, runs_dir: Path) -> None:
    run_example("lightning_module.py", str(idx_folder), "--epochs", "2", "--batch-size", "32")
    run = only_run(runs_dir)
    assert run.summary["status"] == "completed" and run.summary["epochs_planned"] == 2
    assert run.started.user_config == {"classes": 10, "lr": 1e-3, "dropout": 0.2}
    assert run.started.model["name"] == "Classifier"
    assert [e.epoch for e in run.epochs] == [1, 2]
    for epoch in run.epochs:  # the epoch's train values and its validation, in one event
        assert all(math.isfinite(v) for v in (epoch.train_loss, epoch.train_acc,
                                               epoch.val_loss, epoch.val_acc, epoch.lr))
    steps = [e for e in run.events if isinstance(e, Step)]
    assert steps and all(math.isfinite(s.loss) for s in steps)  # train_loss_step -> loss


def test_the_accelerate_example_writes_a_run(idx_folder: Path, runs_dir: Path) -> None:
    run_example("accelerate_script.py", str(idx_folder), "--epochs", "2", "--batch-size", "32")
    run = only_run(runs_dir)
    assert run.summary["status"] == "completed"
    assert run.started.user_config["batch_size"] == 32
    assert [e.epoch for e in run.epochs] == [1, 2]  # Accelerate's 0-based epochs, shifted
    assert math.isfinite(run.epochs[-1].val_loss) and math.isfinite(run.epochs[-1].val_acc)
    assert any(isinstance(e, Step) for e in run.events)


# ---------------------------------------------------------------- Lightning's ends

class Tiny:
    """A tiny LightningModule factory (Lightning is imported only by the tests using it)."""

    @staticmethod
    def module(fail_at_epoch: int | None = None, on_epoch_end=None):
        import lightning.pytorch as pl

        class Module(pl.LightningModule):
            def __init__(self, lr: float = 0.1) -> None:
                super().__init__()
                self.save_hyperparameters()
                self.net = nn.Linear(4, 2)

            def training_step(self, batch, index):
                if fail_at_epoch is not None and self.current_epoch + 1 == fail_at_epoch:
                    raise RuntimeError("a bad batch")
                x, y = batch
                loss = nn.functional.cross_entropy(self.net(x), y)
                self.log("loss", loss, on_epoch=True)
                return loss

            def validation_step(self, batch, index):
                x, y = batch
                self.log("val_loss", nn.functional.cross_entropy(self.net(x), y))

            def on_train_epoch_end(self) -> None:
                if on_epoch_end:
                    on_epoch_end(self)

            def configure_optimizers(self):
                return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)

        return Module()

    @staticmethod
    def fit(module, epochs: int, **trainer_kwargs) -> Path:
        import lightning.pytorch as pl

        from regtui.integrations.lightning import RegtuiLogger

        x = torch.randn(64, 4, generator=torch.Generator().manual_seed(0))
        data = DataLoader(TensorDataset(x, (x[:, 0] > 0).long()), batch_size=16)
        logger = RegtuiLogger(name="tiny", num_classes=2, print_alerts=False)
        trainer = pl.Trainer(max_epochs=epochs, logger=logger, accelerator="cpu",
                             enable_progress_bar=False, enable_model_summary=False,
                             log_every_n_steps=1, num_sanity_val_steps=0, **trainer_kwargs)
        try:
            trainer.fit(module, data, data)
        finally:
            path = logger.experiment.path
        return path


def test_lightning_records_checkpoints_failures_and_a_monitors_stop(
        runs_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # Lightning's default checkpoint folder
    path = Tiny.fit(Tiny.module(), epochs=2)
    events = read_events(path / "events.jsonl")
    checkpoints = [e for e in events if isinstance(e, Checkpoint)]
    assert [c.epoch for c in checkpoints] == [1, 2] and checkpoints[-1].path.endswith(".ckpt")
    assert Path(checkpoints[-1].path).is_file()
    assert isinstance(events[0], RunStarted) and events[0].user_config == {"lr": 0.1}
    assert events[-1].status == "completed"

    with pytest.raises(RuntimeError, match="a bad batch"):
        Tiny.fit(Tiny.module(fail_at_epoch=2), epochs=3, enable_checkpointing=False)
    failed = [r for r in list_runs(runs_dir) if r.status == "failed"]
    assert [r.summary["error"] for r in failed] == ["RuntimeError: a bad batch"]
    assert failed[0].summary["epochs_completed"] == 1

    monkeypatch.setattr("regtui.api.run.STOP_CHECK_SECONDS", 0.0)
    asked = Tiny.module(on_epoch_end=lambda module: request_stop(
        module.logger.experiment.path))  # what `s` in a watching regtui does
    path = Tiny.fit(asked, epochs=5, enable_checkpointing=False)
    finished = read_events(path / "events.jsonl")[-1]
    assert isinstance(finished, RunFinished)
    assert (finished.status, finished.reason) == ("stopped", "stop requested from a monitor")
    assert RunData.load(path).summary["epochs_completed"] == 2  # the epoch in hand ends


# ---------------------------------------------------------------- TensorBoard logs

def write_scalars(folder: Path, scalars: dict[str, list[tuple[int, float]]]) -> None:
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(log_dir=str(folder))
    for tag, points in scalars.items():
        for step, value in points:
            writer.add_scalar(tag, value, step)
    writer.close()


def test_import_tb_reads_lightning_and_keras_logs_with_alerts(tmp_path: Path,
                                                              runs_dir: Path) -> None:
    # Lightning's layout: `epoch` beside every logged step, per-step and per-epoch tags.
    val = [1.0, 0.8, 0.9, 1.1, 1.4, 1.8]
    lightning: dict[str, list[tuple[int, float]]] = {"epoch": [], "train_loss_step": []}
    for epoch in range(6):
        for step in range(epoch * 4, epoch * 4 + 4):
            lightning["epoch"].append((step, epoch))
            lightning["train_loss_step"].append((step, 1.0 / (step + 1)))
        lightning.setdefault("train_loss_epoch", []).append((epoch * 4 + 3, 1.0 / (epoch + 1)))
        lightning.setdefault("val_loss", []).append((epoch * 4 + 3, val[epoch]))
        lightning["epoch"].append((epoch * 4 + 3, epoch))
    write_scalars(tmp_path / "lightning" / "version_0", lightning)
    # Keras' layout: train/ and validation/ folders, epoch_* tags at step = epoch (from 0).
    write_scalars(tmp_path / "keras" / "train", {"epoch_loss": [(0, 2.0), (1, math.nan)],
                                                 "epoch_accuracy": [(0, 0.3), (1, 0.1)]})
    write_scalars(tmp_path / "keras" / "validation", {"epoch_loss": [(0, 2.1), (1, 2.2)]})

    result = CliRunner().invoke(app, ["import-tb", str(tmp_path / "lightning"),
                                      str(tmp_path / "keras"), "--num-classes", "10"])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("(1 alert)") == 2
    runs = {r.run_id.split("-")[2]: RunData.load(r.path) for r in list_runs(runs_dir)}
    imported = runs["lightning"]
    assert [e.epoch for e in imported.epochs] == [1, 2, 3, 4, 5, 6]
    assert [e.val_loss for e in imported.epochs] == pytest.approx(val)
    assert imported.epochs[1].train_loss == pytest.approx(0.5)
    steps = [e for e in imported.events if isinstance(e, Step)]
    assert len(steps) == 24 and steps[5].epoch == 2 and steps[5].loss == pytest.approx(1 / 6)
    assert [a.kind for a in imported.events if isinstance(a, Alert)] == ["overfitting"]
    assert imported.summary["source"] == "tensorboard" and imported.summary["status"] == "completed"
    keras = runs["keras"]
    assert [(e.epoch, e.train_acc, e.val_loss) for e in keras.epochs] == [
        (1, pytest.approx(0.3), pytest.approx(2.1)), (2, pytest.approx(0.1), pytest.approx(2.2))]
    assert math.isnan(keras.epochs[1].train_loss)  # NaN is a value: the run diverged
    assert [a["kind"] for a in keras.summary["alerts"]] == ["divergence"]


def test_an_export_to_tensorboard_imports_back(runs_dir: Path, tmp_path: Path) -> None:
    with regtui.init(name="original", num_classes=10, print_alerts=False) as run:
        for epoch in range(1, 5):
            run.log({"train_loss": 1 / epoch, "val_loss": 1.2 / epoch, "train_acc": 0.2 * epoch,
                     "val_acc": 0.18 * epoch, "lr": 0.01}, epoch=epoch)
    cli = CliRunner()
    assert cli.invoke(app, ["export", run.run_id, "-f", "tensorboard",
                            "-o", str(tmp_path / "tb")]).exit_code == 0
    result = cli.invoke(app, ["import-tb", str(tmp_path / "tb"), "--name", "back"])
    assert result.exit_code == 0, result.output
    back = RunData.load(next(r.path for r in list_runs(runs_dir) if "-back-" in r.run_id))
    original = RunData.load(run.path)
    for field in ("train_loss", "val_loss", "train_acc", "val_acc", "lr"):
        assert [getattr(e, field) for e in back.epochs] == pytest.approx(
            [getattr(e, field) for e in original.epochs])


@pytest.mark.parametrize("make, message", [
    (lambda tmp: tmp / "missing", "no such folder"),
    (lambda tmp: tmp, "no TensorBoard event files"),
])
def test_import_tb_refuses_a_folder_without_a_log(tmp_path: Path, runs_dir: Path, make,
                                                  message: str) -> None:
    result = CliRunner().invoke(app, ["import-tb", str(make(tmp_path))])
    assert result.exit_code == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert not runs_dir.exists()
