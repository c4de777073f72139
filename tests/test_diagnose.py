"""Detectors on scripted metric sequences: the exact epoch each fires, and no false alarms."""

from __future__ import annotations

import math
import random

import pytest

from regtui.config import AlertsConfig, build
from regtui.diagnose import Diagnoser, remedies_in_use, verdict
from regtui.events import Alert, Epoch

CFG = AlertsConfig()


def epoch(n: int, train_loss: float, val_loss: float, train_acc: float = 0.8,
          val_acc: float = 0.8, grad: float = 1.0, layers: list[float] | None = None) -> Epoch:
    norms = layers if layers is not None else [1.0, 1.0, 1.0]
    return Epoch(epoch=n, train_loss=train_loss, val_loss=val_loss, train_acc=train_acc,
                 val_acc=val_acc, grad_norm=grad,
                 extras={"layer_grad_norms": {f"l{i}.weight": v for i, v in enumerate(norms)}})


def feed(epochs: list[Epoch], in_use: frozenset[str] = frozenset(),
         classes: int = 10) -> list[Alert]:
    diagnoser = Diagnoser(CFG, classes, in_use)
    return [alert for e in epochs for alert in diagnoser.update(e)]


def healthy(count: int, seed: int) -> list[Epoch]:
    """Falling losses with 3% noise on val, train and val close together."""
    rng = random.Random(seed)
    result = []
    for n in range(1, count + 1):
        train = 2.0 * math.exp(-n / 15) + 0.05
        val = train * 1.05 * (1 + rng.uniform(-0.03, 0.03))
        acc = 1 - train / 2.2
        result.append(epoch(n, train, val, acc, acc - rng.uniform(0, 0.03),
                            grad=1 + rng.uniform(-0.3, 0.3)))
    return result


@pytest.mark.parametrize("seed", range(5))
def test_noisy_healthy_run_raises_no_alarm(seed: int) -> None:
    assert feed(healthy(40, seed)) == []


def overfitting_run() -> list[Epoch]:
    """Val loss best at epoch 7 (0.30), then 10% above it from epoch 8, later 60%."""
    val = [1.0, 0.8, 0.6, 0.5, 0.4, 0.35, 0.30, 0.33, 0.33, 0.34, 0.36, 0.40, 0.45, 0.48]
    return [epoch(n, train_loss=1.0 / n, val_loss=v, train_acc=0.9, val_acc=0.85)
            for n, v in enumerate(val, start=1)]


def test_overfitting_fires_after_patience_with_onset_and_numbers() -> None:
    alerts = [a for a in feed(overfitting_run()) if a.kind == "overfitting"]
    first, escalated = alerts
    assert (first.epoch, first.level, first.onset_epoch) == (10, "warning", 8)
    assert first.message == ("overfitting since epoch 8: val loss 0.340 is 13% above its "
                             "best 0.300 at epoch 7 while train loss fell 30%")
    assert first.evidence["best_epoch"] == 7
    assert first.suggest == ["dropout", "l2", "augment-light", "early-stopping",
                             "label-smoothing", "mixup"]
    # 0.45 is 50% above 0.30: the same condition, worse, fires once more as critical
    assert (escalated.epoch, escalated.level) == (13, "critical")


def test_suggestions_leave_out_remedies_in_use() -> None:
    alert = [a for a in feed(overfitting_run(), frozenset({"dropout", "mixup"}))
             if a.kind == "overfitting"][0]
    assert alert.suggest == ["l2", "augment-light", "early-stopping", "label-smoothing"]


def test_widening_accuracy_gap_fires_when_val_loss_stalls() -> None:
    # val loss reaches its best at epoch 4 and stays there; the gap keeps widening
    gaps = [0.02, 0.03, 0.05, 0.06, 0.08, 0.11, 0.14, 0.16]
    val = [1.0, 0.7, 0.55, 0.5, 0.5, 0.5, 0.5, 0.5]
    run = [epoch(n, 1.0 / n, v, 0.8 + g, 0.8) for n, (g, v) in enumerate(zip(gaps, val), 1)]
    (alert,) = [a for a in feed(run) if a.kind == "overfitting"]
    assert (alert.kind, alert.epoch, alert.onset_epoch) == ("overfitting", 7, 5)
    assert "train-val accuracy gap 0.140" in alert.message and "from 0.060" in alert.message


def test_underfitting_near_chance_fires_after_warmup_once() -> None:
    run = [epoch(n, 2.30, 2.30, 0.10, 0.10) for n in range(1, 12)]
    alerts = [a for a in feed(run) if a.kind == "underfitting"]
    assert [a.epoch for a in alerts] == [CFG.warmup]
    assert "near chance (0.100)" in alerts[0].message
    assert alerts[0].suggest == ["batchnorm", "he"]


def test_underfitting_names_the_regularization_in_use() -> None:
    run = [epoch(n, 1.0, 1.0, 0.6, 0.6) for n in range(1, 8)]
    (alert,) = [a for a in feed(run, frozenset({"dropout", "l2"})) if a.kind == "underfitting"]
    assert alert.epoch == 5
    assert "stopped improving" in alert.message
    assert "less regularization (in use: dropout, l2)" in alert.message


def test_divergence_on_non_finite_or_huge_loss() -> None:
    nan_run = [epoch(1, 2.0, 2.0), epoch(2, 1.5, 1.5), epoch(3, math.nan, math.nan)]
    (alert,) = feed(nan_run)
    assert (alert.kind, alert.level, alert.epoch) == ("divergence", "critical", 3)
    huge = [epoch(1, 2.0, 2.0), epoch(2, 40.0, 30.0)]
    (alert,) = feed(huge)
    assert alert.kind == "divergence" and alert.epoch == 2
    assert "40 is 17.4× the loss of a uniform guess (2.303)" in alert.message


def test_exploding_gradients_need_a_jump_and_a_worse_loss() -> None:
    base = [epoch(n, 1.0 / n, 1.0 / n, grad=1.0) for n in range(1, 5)]
    spike = base + [epoch(5, 0.5, 0.5, grad=50.0)]
    (alert,) = feed(spike)
    assert (alert.kind, alert.epoch) == ("exploding_gradients", 5)
    assert "50× its running median 1" in alert.message
    recovering = base + [epoch(5, 0.1, 0.1, grad=50.0)]
    assert feed(recovering) == []


def test_vanishing_gradients_compare_first_and_last_layer() -> None:
    (alert,) = feed([epoch(1, 2.3, 2.3, 0.3, 0.3, layers=[1e-7, 1e-3, 1e-2])])
    assert (alert.kind, alert.epoch) == ("vanishing_gradients", 1)
    assert alert.suggest == ["he", "xavier", "batchnorm"]
    assert feed([epoch(1, 2.3, 2.3, 0.3, 0.3, layers=[1e-7, 1e-2])]) == []  # too shallow
    (alert,) = feed([epoch(1, 2.3, 2.3, 0.1, 0.1, layers=[5e-8, 6e-8, 3e-8])])
    assert "vanish before they reach the weights" in alert.message
    assert feed([epoch(1, 0.01, 0.05, 0.99, 0.97, layers=[5e-8, 6e-8, 3e-8])]) == []  # fitted


def test_plateau_is_info_and_fires_once() -> None:
    run = [epoch(n, 0.5, 0.400 + 0.001 * (n % 2), 0.95, 0.93) for n in range(1, 12)]
    alerts = feed(run)
    assert [(a.kind, a.level, a.epoch) for a in alerts] == [("plateau", "info", 5)]


def test_resumed_diagnoser_continues_like_an_unbroken_one() -> None:
    run = overfitting_run()
    unbroken = feed(run)
    first = Diagnoser(CFG, 10)
    before = [a for e in run[:9] for a in first.update(e)]
    second = Diagnoser(CFG, 10)
    second.load_state_dict(first.state_dict())
    after = [a for e in run[9:] for a in second.update(e)]
    strip = lambda alerts: [(a.kind, a.epoch, a.level, a.message) for a in alerts]  # noqa: E731
    assert strip(before + after) == strip(unbroken)


def test_remedies_in_use_follow_the_settings_not_only_preset_names() -> None:
    config = build({"model": {"dropout": 0.3}, "regularization": {"weight_decay": 0.01},
                    "augment": {"hflip": 0.5}})
    assert {"dropout", "l2", "augment-light"} <= remedies_in_use(config)
    assert remedies_in_use(build({}), ["mixup"]) == {"mixup"}


def test_verdicts() -> None:
    run = overfitting_run()
    over = verdict(run, feed(run), "completed", CFG)
    assert over["verdict"] == "overfitting since epoch 8" and over["onset_epoch"] == 8
    good = healthy(20, 0)
    assert verdict(good, [], "completed", CFG)["verdict"] == "good fit"
    assert verdict(good, [], "diverged", CFG)["verdict"] == "diverged at epoch 20"
    flat = [epoch(n, 2.3, 2.3, 0.1, 0.1) for n in range(1, 8)]
    assert verdict(flat, feed(flat), "completed", CFG)["verdict"] == "underfitting"
    vanish = [epoch(1, 2.0, 2.0, 0.5, 0.5, layers=[1e-8, 1.0, 1.0]), epoch(2, 1.0, 1.0, 0.7, 0.7)]
    assert verdict(vanish, feed(vanish), "completed", CFG)["verdict"] == "unstable gradients"
    assert verdict([], [], "failed", CFG) is None
