"""Engine tier: real one-epoch CPU runs on tiny digits subsets, with numbers that can fail."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from helpers import REQUIRED_PRESETS, new_store, plant_pretrained_weights, tiny
from regtui import train
from regtui.config import InitConfig, ModelConfig
from regtui.control import Control
from regtui.events import Epoch, Step, read_events
from regtui.train import models, regularize
from regtui.train.initializers import initializer
from regtui.train.loop import Trainer
from regtui.train.setup import prepare


def run_events(resolved, runs_dir: Path, control: Control | None = None):
    seen = []
    run_dir, finished = train.start(resolved, runs_dir, listeners=[seen.append], control=control)
    return run_dir, finished, seen


def epochs_of(events) -> list[Epoch]:
    return [e for e in events if isinstance(e, Epoch)]


@pytest.mark.parametrize("name", REQUIRED_PRESETS + ["cosine"])
def test_every_preset_trains_one_epoch(name: str, runs_dir: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    extra = []
    if name == "transfer":
        plant_pretrained_weights(monkeypatch)
        extra = ["data.train_subset=64", "data.val_fraction=0.05", "data.test_fraction=0.05"]
    run_dir, finished, seen = run_events(tiny(*extra, preset_names=[name]), runs_dir)
    assert finished.status == "completed", finished.error
    (epoch,) = epochs_of(seen)
    assert math.isfinite(epoch.train_loss) and 0 <= epoch.val_acc <= 1
    assert finished.test_acc is not None
    assert (run_dir / "best.pt").is_file() and (run_dir / "last.pt").is_file()


def test_pretrained_without_cached_weights_says_how_to_get_them() -> None:
    with pytest.raises(train.SetupError, match="pass --download"):
        prepare(tiny(preset_names=["transfer"]).config)


def test_transfer_freezes_the_backbone_then_fine_tunes(runs_dir: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    plant_pretrained_weights(monkeypatch)
    resolved = tiny("data.train_subset=32", "data.val_fraction=0.05", "data.test_fraction=0.05",
                    "model.freeze_epochs=1", preset_names=["transfer"], epochs=2)
    _, finished, seen = run_events(resolved, runs_dir)
    first, second = epochs_of(seen)
    assert first.extras["frozen"] is True and second.extras["frozen"] is False
    layer_norms = first.extras["layer_grad_norms"]
    assert layer_norms["layer1.0.conv1.weight"] == 0.0  # frozen: no gradient
    assert layer_norms["fc.weight"] > 0.0
    assert second.extras["layer_grad_norms"]["layer1.0.conv1.weight"] > 0.0


def test_seeded_cpu_runs_repeat_exactly(runs_dir: Path) -> None:
    first = epochs_of(run_events(tiny(epochs=2), runs_dir)[2])
    second = epochs_of(run_events(tiny(epochs=2), runs_dir)[2])
    assert [e.train_loss for e in first] == [e.train_loss for e in second]
    other_seed = epochs_of(run_events(tiny(epochs=2, seed=1), runs_dir)[2])
    assert other_seed[0].train_loss != first[0].train_loss


def _initialized_layer(scheme: str, activation: str) -> nn.Linear:
    """A 400-in, 300-out linear layer initialized by regtui's scheme for `activation`."""
    torch.manual_seed(0)
    layer = nn.Linear(400, 300)
    layer.apply(initializer(InitConfig(scheme=scheme), activation))
    return layer


FAN_IN, FAN_OUT = 400, 300
TANH_GAIN, RELU_GAIN = 5 / 3, math.sqrt(2)  # torch's recommended gains (calculate_gain)


@pytest.mark.parametrize("scheme, activation, expected_std", [
    # xavier: gain * sqrt(2 / (fan_in + fan_out)); kaiming (fan_in mode): gain / sqrt(fan_in)
    ("xavier_uniform", "tanh", TANH_GAIN * math.sqrt(2 / (FAN_IN + FAN_OUT))),
    ("xavier_normal", "tanh", TANH_GAIN * math.sqrt(2 / (FAN_IN + FAN_OUT))),
    ("xavier_uniform", "relu", RELU_GAIN * math.sqrt(2 / (FAN_IN + FAN_OUT))),
    ("kaiming_normal", "tanh", TANH_GAIN / math.sqrt(FAN_IN)),
    ("kaiming_uniform", "tanh", TANH_GAIN / math.sqrt(FAN_IN)),
    ("kaiming_normal", "relu", RELU_GAIN / math.sqrt(FAN_IN)),
    ("normal", "tanh", 0.02),  # init.std's default, whatever the activation
])
def test_init_statistics_match_the_formulas(scheme: str, activation: str,
                                            expected_std: float) -> None:
    layer = _initialized_layer(scheme, activation)
    assert layer.weight.std().item() == pytest.approx(expected_std, rel=0.03)
    assert torch.count_nonzero(layer.bias) == 0


def test_orthogonal_init_has_orthogonal_rows_scaled_by_the_gain() -> None:
    layer = _initialized_layer("orthogonal", "tanh")
    rows = layer.weight / TANH_GAIN
    assert torch.allclose(rows @ rows.T, torch.eye(FAN_OUT), atol=1e-4)
    assert torch.count_nonzero(layer.bias) == 0


def test_l1_raises_the_share_of_near_zero_weights(runs_dir: Path) -> None:
    # With sgd the L1 pull settles weights at zero (Adam makes them hover within ~lr of it).
    def sparsity(*assignments: str) -> float:
        sgd = ("train.optimizer=sgd", "train.lr=0.05", "train.batch_size=8")
        seen = run_events(tiny(*sgd, *assignments, epochs=4), runs_dir)[2]
        return epochs_of(seen)[-1].extras["sparsity"]

    baseline = sparsity()
    with_l1 = sparsity("regularization.l1=3e-3")
    assert with_l1 > baseline + 0.1, (baseline, with_l1)


def test_l2_penalty_shrinks_the_weight_norm(runs_dir: Path) -> None:
    def weight_norm(*assignments: str) -> float:
        resolved = tiny("train.batch_size=8", *assignments, epochs=4)
        return epochs_of(run_events(resolved, runs_dir)[2])[-1].extras["weight_norm"]

    assert weight_norm("regularization.l2=0.1") < 0.8 * weight_norm()


def test_penalty_is_elastic_net_of_weights_only() -> None:
    weights = [torch.tensor([[1.0, -2.0]]), torch.tensor([[3.0]])]
    assert regularize.penalty(weights, 0.5, 0.0).item() == pytest.approx(3.0)
    assert regularize.penalty(weights, 0.0, 0.1).item() == pytest.approx(1.4)
    assert regularize.penalty(weights, 0.5, 0.1).item() == pytest.approx(4.4)
    assert regularize.penalty(weights, 0.0, 0.0) is None
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    assert [p.shape for p in regularize.weight_parameters(model)] == \
        [torch.Size([4, 3]), torch.Size([2, 4])]


def test_batchnorm_changes_output_between_train_and_eval() -> None:
    torch.manual_seed(0)
    model = models.build(ModelConfig(batchnorm=True, hidden=(16,)), (1, 8, 8), 10)
    batch = torch.randn(8, 1, 8, 8) * 3 + 1
    model.train()
    train_out = model(batch)
    model.eval()
    eval_out = model(batch)
    assert not torch.allclose(train_out, eval_out, atol=1e-3)
    assert any(isinstance(m, nn.BatchNorm1d) for m in model.modules())


@pytest.mark.parametrize("name", ["mlp", "cnn", "resnet18"])
def test_models_honour_dropout_and_batchnorm(name: str) -> None:
    on = models.build(ModelConfig(name=name, dropout=0.3, batchnorm=True), (3, 16, 16), 7)
    off = models.build(ModelConfig(name=name, dropout=0.0, batchnorm=False), (3, 16, 16), 7)
    kinds_on = {type(m) for m in on.modules()}
    kinds_off = {type(m) for m in off.modules()}
    assert nn.Dropout in kinds_on and nn.Dropout not in kinds_off
    assert kinds_on & {nn.BatchNorm1d, nn.BatchNorm2d}
    assert not kinds_off & {nn.BatchNorm1d, nn.BatchNorm2d}
    assert on(torch.randn(4, 3, 16, 16)).shape == (4, 7)


def test_resume_after_two_of_four_epochs_equals_four_unbroken(runs_dir: Path) -> None:
    # dropout, augmentation and mixup all draw random numbers: all must resume exactly
    assignments = ("model.dropout=0.2", "augment.rotation=10", "regularization.mixup_alpha=0.2",
                   "train.scheduler=cosine")
    unbroken = epochs_of(run_events(tiny(*assignments, epochs=4), runs_dir)[2])

    control = Control()

    def stop_after_two(event) -> None:
        if isinstance(event, Epoch) and event.epoch == 2:
            control.stop("interrupted")

    seen = []
    run_dir, finished = train.start(tiny(*assignments, epochs=4), runs_dir,
                                    listeners=[seen.append, stop_after_two], control=control)
    assert finished.status == "interrupted"
    assert len(epochs_of(seen)) == 2
    resumed = []
    _, finished = train.resume(run_dir, listeners=[resumed.append])
    assert finished.status == "completed"
    assert [e.epoch for e in epochs_of(resumed)] == [3, 4]
    assert [e.train_loss for e in epochs_of(resumed)] == [e.train_loss for e in unbroken[2:]]
    assert [e.val_loss for e in epochs_of(resumed)] == [e.val_loss for e in unbroken[2:]]
    stream = read_events(run_dir / "events.jsonl")
    assert [e.type for e in stream].count("run_started") == 2


def test_resume_of_a_finished_run_says_how_to_extend_it(runs_dir: Path) -> None:
    run_dir, _, _ = run_events(tiny(epochs=1), runs_dir)
    with pytest.raises(train.RunDirError, match="pass --epochs N"):
        train.resume(run_dir)
    _, finished = train.resume(run_dir, epochs=2)
    assert finished.status == "completed"
    assert "epochs = 2" in (run_dir / "config.toml").read_text()


def test_control_pauses_and_stops_between_steps(runs_dir: Path) -> None:
    control = Control()

    def stop_on_first_step(event) -> None:
        if isinstance(event, Step):
            control.stop()

    resolved = tiny("train.log_every=2", epochs=5)
    _, finished = train.start(resolved, runs_dir, listeners=[stop_on_first_step],
                              control=control)
    assert finished.status == "stopped" and finished.reason == "stopped by user"
    assert finished.best_epoch is None  # stopped inside the first epoch: nothing finished


def test_early_stopping_ends_the_run_and_tests_the_best_epoch(runs_dir: Path) -> None:
    resolved = tiny("regularization.early_stopping=true", "regularization.patience=2",
                    "regularization.min_delta=10", epochs=20)
    _, finished, seen = run_events(resolved, runs_dir)
    assert finished.status == "completed" and finished.reason == "early stopping"
    # epoch 1 improves on infinity; with min_delta 10 no later epoch does: 1 + patience
    assert len(epochs_of(seen)) == 3
    stop_alerts = [e for e in seen if e.type == "alert" and e.kind == "early_stop"]
    assert len(stop_alerts) == 1 and stop_alerts[0].level == "info"


def test_early_stopping_counts_like_lightning() -> None:
    stopper = regularize.EarlyStopping(patience=2, min_delta=0.1)
    decisions = [stopper.update(loss)[0] for loss in (1.0, 0.95, 0.85, 0.84, 0.83)]
    # 1.0 improves on inf; 0.95 is not 0.1 better (wait 1); 0.85 is (reset); 0.84, 0.83 wait 1, 2
    assert decisions == [False, False, False, False, True]


def test_divergence_stops_the_run(runs_dir: Path) -> None:
    resolved = tiny("train.optimizer=sgd", "train.lr=1e6", epochs=5)
    _, finished, seen = run_events(resolved, runs_dir)
    assert finished.status == "diverged"
    assert len(epochs_of(seen)) < 5


def test_gradient_clipping_reports_the_clipped_share(runs_dir: Path) -> None:
    seen = run_events(tiny("regularization.clip_norm=0.01"), runs_dir)[2]
    assert epochs_of(seen)[0].extras["clipped"] == 1.0
    seen = run_events(tiny("regularization.clip_norm=1000"), runs_dir)[2]
    assert epochs_of(seen)[0].extras["clipped"] == 0.0


def test_confusion_matrix_counts_the_test_split(runs_dir: Path) -> None:
    run_dir, finished, _ = run_events(tiny(epochs=2), runs_dir)
    matrix = torch.tensor(finished.confusion_matrix)
    assert matrix.shape == (10, 10)
    assert matrix.sum().item() == 359  # 20% of 1797 digits, stratified
    assert matrix.diag().sum().item() / 359 == pytest.approx(finished.test_acc)


def test_sample_predictions_are_the_best_models(runs_dir: Path) -> None:
    resolved = tiny(epochs=2)
    run_dir, finished, _ = run_events(resolved, runs_dir)
    prepared = prepare(resolved.config)
    prepared.model.load_state_dict(torch.load(run_dir / "best.pt", weights_only=True))
    prepared.model.eval()
    test, samples = prepared.dataset.test, finished.samples
    index = torch.arange(12) * (len(test) // 12)
    with torch.no_grad():
        predictions = prepared.model(prepared.dataset.normalize(test.images[index])).argmax(1)
    assert samples["labels"] == test.labels[index].tolist()
    assert samples["predictions"] == predictions.tolist()
    assert len(samples["pixels"]) == 12 and samples["shape"] == [1, 8, 8]


@pytest.mark.parametrize("scheduler", ["cosine", "step", "onecycle", "plateau"])
def test_schedulers_change_the_lr_and_checkpoint_safely(scheduler: str, runs_dir: Path) -> None:
    resolved = tiny(f"train.scheduler={scheduler}", "train.step_size=1", epochs=2)
    run_dir, finished, seen = run_events(resolved, runs_dir)
    assert finished.status == "completed"
    state = torch.load(run_dir / "last.pt", weights_only=True)
    assert state["epoch"] == 2 and state["scheduler"]
    if scheduler != "plateau":
        assert epochs_of(seen)[1].lr != pytest.approx(1e-3)


@pytest.mark.parametrize("seconds, writes", [(0, 3), (1000, 1)])
def test_checkpoint_files_are_written_at_most_every_checkpoint_seconds(
        seconds: float, writes: int, runs_dir: Path) -> None:
    resolved = tiny(f"train.checkpoint_seconds={seconds}", epochs=3)
    run_dir, finished, seen = run_events(resolved, runs_dir)
    last = [e for e in seen if e.type == "checkpoint" and not e.best]
    assert [e.epoch for e in last] == [1, 2, 3][-writes:]  # 1000 s: only when the run ends
    assert torch.load(run_dir / "last.pt", weights_only=True)["epoch"] == 3


def test_trainer_reads_the_loss_once_per_epoch_not_per_step(runs_dir: Path, monkeypatch) -> None:
    prepared = prepare(tiny("train.log_every=1000", epochs=1).config)
    trainer = Trainer(prepared, new_store(runs_dir), emit=lambda event: None)
    calls = {"item": 0, "tolist": 0}
    original_item, original_tolist = torch.Tensor.item, torch.Tensor.tolist

    def counting(name, original):
        # Count reads made by regtui's own code (torch's optimizers read their CPU step
        # counters, which is no device sync).
        def wrapper(self, *args, **kwargs):
            if "regtui" in sys._getframe(1).f_code.co_filename:
                calls[name] += 1
            return original(self, *args, **kwargs)
        return wrapper

    monkeypatch.setattr(torch.Tensor, "item", counting("item", original_item))
    monkeypatch.setattr(torch.Tensor, "tolist", counting("tolist", original_tolist))
    trainer.epoch = 1
    result = trainer._train_epoch()
    assert trainer.steps_per_epoch == 8
    assert calls["item"] == 0
    assert calls["tolist"] <= 2  # the epoch totals and the per-layer gradient norms
    assert math.isfinite(result["loss"])


def test_real_overfitting_run_raises_an_alert_and_a_diagnosis(runs_dir: Path) -> None:
    resolved = tiny("data.train_subset=200", "model.hidden=[256, 128]", "train.batch_size=64",
                    preset_names=["baseline"], epochs=40)
    run_dir, finished, seen = run_events(resolved, runs_dir)
    overfitting = [e for e in seen if e.type == "alert" and e.kind == "overfitting"]
    assert overfitting and overfitting[0].onset_epoch is not None
    import json
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["diagnosis"]["verdict"].startswith("overfitting since epoch")
    assert summary["alerts"][0]["kind"] == "overfitting"


def test_bad_init_in_a_deep_mlp_shows_vanishing_gradients(runs_dir: Path) -> None:
    deep = "model.hidden=[64, 64, 64, 64, 64, 64]"
    seen = run_events(tiny(deep, preset_names=["bad-init"]), runs_dir)[2]
    assert [e.kind for e in seen if e.type == "alert"] == ["vanishing_gradients"]
    seen = run_events(tiny(deep, preset_names=["he"]), runs_dir)[2]
    assert [e for e in seen if e.type == "alert"] == []


OPTIMIZER_CLASSES = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW"}


def _optimizer_recording_fused(monkeypatch: pytest.MonkeyPatch, optimizer: str,
                               missing_kernel: Exception | None) -> list[object]:
    """Replaces torch's optimizer class with one that records each `fused` it is asked for;
    with `missing_kernel`, asking for fused=True raises it, as a torch or a device without
    the fused kernel does. The recorded list is returned."""
    real_class = getattr(torch.optim, OPTIMIZER_CLASSES[optimizer])
    fused_requests: list[object] = []

    class Recording(real_class):
        def __init__(self, params, **options) -> None:
            fused_requests.append(options.get("fused"))
            if options.pop("fused", None) and missing_kernel is not None:
                raise missing_kernel
            super().__init__(params, **options)  # never fused: the installed torch is not tested

    monkeypatch.setattr(torch.optim, OPTIMIZER_CLASSES[optimizer], Recording)
    return fused_requests


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw"])
def test_optimizers_ask_for_their_fused_kernel(optimizer: str, runs_dir: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    fused_requests = _optimizer_recording_fused(monkeypatch, optimizer, missing_kernel=None)
    resolved = tiny(f"train.optimizer={optimizer}", "train.lr=0.01", "train.momentum=0.5")
    trainer = Trainer(prepare(resolved.config), new_store(runs_dir), emit=lambda event: None)
    assert fused_requests == [True]  # offered, so taken: no second, unfused optimizer
    assert trainer.optimizer.defaults["lr"] == 0.01
    if optimizer == "sgd":
        assert trainer.optimizer.defaults["momentum"] == 0.5


NO_FUSED_KERNEL = "`fused=True` requires all the params to be floating point Tensors of " \
    "supported devices"  # torch's words where the device or dtype has no fused kernel


@pytest.mark.parametrize("optimizer, missing_kernel", [
    pytest.param("sgd", RuntimeError(NO_FUSED_KERNEL), id="sgd-unsupported-device"),
    pytest.param("adam", RuntimeError(NO_FUSED_KERNEL), id="adam-unsupported-device"),
    pytest.param("adamw", TypeError("__init__() got an unexpected keyword argument 'fused'"),
                 id="adamw-torch-without-fused"),
    pytest.param("adam", ValueError("`fused` and `foreach` cannot be `True` together."),
                 id="adam-fused-refused"),
])
def test_optimizers_without_a_fused_kernel_fall_back_and_train(
        optimizer: str, missing_kernel: Exception, runs_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    fused_requests = _optimizer_recording_fused(monkeypatch, optimizer, missing_kernel)
    resolved = tiny(f"train.optimizer={optimizer}", "train.lr=0.01", epochs=2)
    _, finished, seen = run_events(resolved, runs_dir)
    assert fused_requests == [True, None]  # asked for fused, then the default kernel
    assert finished.status == "completed", finished.error
    losses = [epoch.train_loss for epoch in epochs_of(seen)]
    assert losses[1] < losses[0]  # and it trains
