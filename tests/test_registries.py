"""Every name the config accepts has an implementation behind it, and every implementation
a name: the config's name lists (torch-free) and train/'s registries (torch) are one fact."""

from __future__ import annotations

import pytest
import torch

from regtui import config
from regtui.train import data, initializers, models, optim


def test_datasets_are_the_loaders() -> None:
    assert set(config.DATASETS) == set(data.LOADERS)


def test_models_are_the_builders() -> None:
    assert set(config.MODELS) == set(models.BUILDERS)


def test_activations_are_the_modules() -> None:
    assert set(config.ACTIVATIONS) == set(models.ACTIVATIONS)


def test_init_schemes_are_the_initializers() -> None:
    assert set(config.INIT_SCHEMES) == {"default", *initializers.SCHEMES}


@pytest.mark.parametrize("name", config.OPTIMIZERS)
def test_every_optimizer_name_builds_an_optimizer(name: str) -> None:
    cfg = config.build({"train": {"optimizer": name}})
    optimizer = optim.make_optimizer(cfg, torch.nn.Linear(2, 2))
    assert type(optimizer).__name__.lower() == name


@pytest.mark.parametrize("name", config.SCHEDULERS)
def test_every_scheduler_name_builds_its_scheduler(name: str) -> None:
    cfg = config.build({"train": {"scheduler": name}})
    optimizer = optim.make_optimizer(cfg, torch.nn.Linear(2, 2))
    scheduler = optim.make_scheduler(cfg, optimizer, steps_per_epoch=3)
    assert (scheduler is None) == (name == "none")
