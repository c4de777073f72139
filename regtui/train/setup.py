"""Everything a run needs before its first step: its device, data and initialized model
(the optimizer and schedule are in train/optim.py).

Setup errors (no CUDA, no dataset, no pretrained weights) are raised here, before a run
directory exists, so bad input never leaves an empty run behind.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from regtui.config import RunConfig
from regtui.train import data as data_module
from regtui.train import models
from regtui.train.devices import SetupError, resolve_device  # SetupError: raised from here too
from regtui.train.initializers import initializer


@dataclass
class Prepared:
    config: RunConfig
    device: torch.device
    dataset: data_module.Dataset
    model: nn.Module


def prepare(config: RunConfig) -> Prepared:
    """Resolve the device, load the data and build the initialized model (seeded)."""
    device = resolve_device(config.train.device)
    try:
        dataset = data_module.load(config.data, device)
    except data_module.DataError as error:
        raise SetupError(str(error)) from None
    model = build_model(config, dataset, device)
    check_batches(config, dataset, model)
    return Prepared(config, device, dataset, model)


def check_batches(config: RunConfig, dataset: data_module.Dataset, model: nn.Module) -> None:
    """Refuse a model with batch norm when a training batch would hold one sample:
    PyTorch raises "Expected more than 1 value per channel" at the first step. The trainer
    drops a last batch of one sample, so that happens only when train.batch_size is 1
    (refused by the config already) or the training split holds a single sample."""
    has_batch_norm = any(isinstance(module, nn.modules.batchnorm._BatchNorm)
                         for module in model.modules())
    if has_batch_norm and min(config.train.batch_size, len(dataset.train)) < 2:
        raise SetupError(f"a training batch would hold 1 sample ({len(dataset.train)} "
                         f"training samples, train.batch_size = {config.train.batch_size}) "
                         "and batch norm needs at least 2; accepted: train.batch_size >= 2 "
                         "and more training samples (data.train_subset, data.val_fraction, "
                         "data.test_fraction), or model.batchnorm = false")


def uses_channels_last(config: RunConfig, device: torch.device) -> bool:
    """Conv models on CUDA keep weights and batches channels_last (cuDNN's fast layout)."""
    return device.type == "cuda" and config.model.name != "mlp"


def build_model(config: RunConfig, dataset: data_module.Dataset, device: torch.device) -> nn.Module:
    """The seeded, initialized model on the device (channels_last for conv models on CUDA)."""
    torch.manual_seed(config.train.seed)
    try:
        model = models.build(config.model, dataset.shape, dataset.num_classes,
                             download=config.data.download)
    except models.ModelError as error:
        raise SetupError(str(error)) from None
    init = initializer(config.init, config.model.activation)
    if config.model.pretrained:  # only the new stem and head: keep the ImageNet weights
        for name in getattr(model, "fresh_modules", ()):
            model.get_submodule(name).apply(init)
    else:
        model.apply(init)
    model.to(device)
    if uses_channels_last(config, device):
        model.to(memory_format=torch.channels_last)
    return model
