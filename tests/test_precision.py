"""When a run trains in bf16: the `train.amp` setting and its `auto` rule."""

from __future__ import annotations

import pytest
import torch

from regtui import config
from regtui.train import models
from regtui.train.precision import bf16_pays, flops_per_sample, use_bf16

CPU = torch.device("cpu")


def test_training_flops_are_three_forward_passes() -> None:
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(10, 5))
    # forward: one 10x5 multiply-add per sample = 100 FLOPs; backward twice that
    assert flops_per_sample(model, (1, 2, 5), CPU) == 300


def _model(name: str, shape: tuple[int, int, int]) -> torch.nn.Module:
    return models.build(config.build({"model": {"name": name}}).model, shape, 10)


def test_auto_leaves_small_steps_in_fp32_and_turns_bf16_on_for_large_ones() -> None:
    # the digits cnn at batch 32 is launch-bound on a GPU; resnet18 on CIFAR at 512 is not
    assert not bf16_pays(_model("cnn", (1, 8, 8)), (1, 8, 8), 32, CPU)
    assert not bf16_pays(_model("cnn", (1, 28, 28)), (1, 28, 28), 256, CPU)
    assert bf16_pays(_model("resnet18", (3, 32, 32)), (3, 32, 32), 512, CPU)


@pytest.mark.parametrize("setting", ["auto", "on", "off"])
def test_bf16_is_never_used_off_cuda(setting: str) -> None:
    assert not use_bf16(setting, _model("resnet18", (3, 32, 32)), (3, 32, 32), 512, CPU)


@pytest.mark.parametrize(("written", "read"), [(True, "on"), (False, "off"), ("auto", "auto")])
def test_amp_takes_auto_on_off_and_the_older_booleans(written, read) -> None:
    layer = config.check_layer({"train": {"amp": written}}, "test")
    assert config.build(layer).train.amp == read


def test_an_unknown_amp_setting_names_what_is_accepted() -> None:
    with pytest.raises(config.ConfigError, match="accepted: one of auto, on, off"):
        config.check_layer({"train": {"amp": "fp16"}}, "test")
