"""Whether a run computes in bf16 (CUDA autocast): on, off, or auto, where it pays.

Autocast adds a cast kernel per weight and activation in the forward pass and their
gradients in the backward pass. On a GPU that waits for Python to launch its kernels,
those casts are pure cost: the digits cnn (0.06 GFLOP per step) trained 18% slower on an
H100 with autocast than without. bf16 only pays once the step is large enough for the
GPU's arithmetic, not the launches, to set the pace.
"""

from __future__ import annotations

import torch
from torch import nn

# Forward + backward FLOPs per step above which `auto` turns bf16 on: about 1 ms of fp32
# work on an H100, as much as Python takes to launch a small model's step.
AUTO_MIN_FLOP_PER_STEP = 50e9


def flops_per_sample(model: nn.Module, shape: tuple[int, int, int],
                     device: torch.device) -> float:
    """Training FLOPs per sample: forward counted by torch's FlopCounterMode, times 3."""
    from torch.utils.flop_counter import FlopCounterMode

    sample = torch.zeros((2, *shape), device=device)
    was_training = model.training
    model.eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(sample)
    model.train(was_training)
    return 3 * counter.get_total_flops() / 2


def bf16_pays(model: nn.Module, shape: tuple[int, int, int], batch_size: int,
              device: torch.device) -> bool:
    """Whether a training step's FLOPs reach AUTO_MIN_FLOP_PER_STEP."""
    return flops_per_sample(model, shape, device) * batch_size >= AUTO_MIN_FLOP_PER_STEP


def use_bf16(setting: str, model: nn.Module, shape: tuple[int, int, int], batch_size: int,
             device: torch.device) -> bool:
    """Whether to train under bf16 autocast: never off CUDA; with `auto`, where it pays."""
    if device.type != "cuda" or setting == "off":
        return False
    return setting == "on" or bf16_pays(model, shape, batch_size, device)


def describe(enabled: bool, setting: str) -> str:
    """What a CUDA run's header says, e.g. "bf16 autocast (amp=auto)"."""
    return f"{'bf16 autocast' if enabled else 'fp32'} (amp={setting})"
