"""The optimizer and the learning-rate schedule of a run (config.OPTIMIZERS and
config.SCHEDULERS; tests/test_registries.py ties the names to what is built here)."""

from __future__ import annotations

import torch
from torch import nn

from regtui.config import RunConfig


def make_optimizer(config: RunConfig, model: nn.Module) -> torch.optim.Optimizer:
    """The configured optimizer, with PyTorch's fused kernel where this torch and device
    have one: a step in one kernel instead of a loop over the tensors in Python. For the
    digits cnn, an Adam step took 188 us fused against 761 us by default on a 2-core CPU,
    and on an H100 the default took ~19% of each step."""
    train, decay = config.train, config.regularization.weight_decay
    params = list(model.parameters())
    if train.optimizer == "sgd":
        kind, options = torch.optim.SGD, {"momentum": train.momentum}
    else:
        kind, options = torch.optim.Adam if train.optimizer == "adam" else torch.optim.AdamW, {}
    try:
        return kind(params, lr=train.lr, weight_decay=decay, fused=True, **options)
    except (RuntimeError, ValueError, TypeError):  # no fused kernel for this device or torch
        return kind(params, lr=train.lr, weight_decay=decay, **options)


PLATEAU_PATIENCE = 3  # epochs of flat val loss before the plateau scheduler decays the lr


def make_scheduler(config: RunConfig, optimizer: torch.optim.Optimizer, steps_per_epoch: int):
    """The lr scheduler, or None. Only onecycle steps per batch; the others per epoch."""
    train = config.train
    if train.scheduler == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=train.epochs)
    if train.scheduler == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, train.step_size, train.gamma)
    if train.scheduler == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=train.lr, total_steps=train.epochs * steps_per_epoch)
    if train.scheduler == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, factor=train.gamma, patience=PLATEAU_PATIENCE)
    return None
