"""Regularization pieces: explicit L1/L2 penalties, clipping, label smoothing, mixup/cutmix,
early stopping."""

from __future__ import annotations

import array
import functools
import math
import random
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from regtui.config import RegularizationConfig


def weight_parameters(model: nn.Module) -> list[Tensor]:
    """Weights of linear and conv layers: the ones penalties act on (not biases, not norms)."""
    return [p for p in model.parameters() if p.ndim > 1]


def penalty(weights: list[Tensor], l1: float, l2: float) -> Tensor | None:
    """l1 * sum|w| + l2 * sum w^2 (both set: elastic net); None when both are 0."""
    terms = []
    if l1:
        terms.append(l1 * sum(w.abs().sum() for w in weights))
    if l2:
        terms.append(l2 * sum(w.pow(2).sum() for w in weights))
    return sum(terms) if terms else None


def clip_gradients(parameters: list[Tensor], cfg: RegularizationConfig) -> Tensor:
    """Clip in place (by norm or by value); return a 0-dim bool tensor: was this step clipped."""
    if cfg.clip_norm:
        total = nn.utils.clip_grad_norm_(parameters, cfg.clip_norm)
        return total > cfg.clip_norm
    grads = [p.grad.detach() for p in parameters if p.grad is not None]
    largest = torch.stack([g.abs().amax() for g in grads]).amax()
    nn.utils.clip_grad_value_(parameters, cfg.clip_value)
    return largest > cfg.clip_value


def grad_norms(parameters: list[Tensor]) -> Tensor:
    """L2 norm of each parameter's gradient (0 where it has none), as one device tensor."""
    grads = [p.grad.detach() for p in parameters if p.grad is not None]
    if not grads:
        return torch.zeros(len(parameters))
    norms = iter(torch._foreach_norm(grads))
    zero = torch.zeros((), device=grads[0].device)
    return torch.stack([next(norms) if p.grad is not None else zero for p in parameters])


@dataclass
class Mixed:
    images: Tensor
    targets_a: Tensor
    targets_b: Tensor
    lam: float  # weight of targets_a

    def loss(self, criterion: Criterion, logits: Tensor) -> Tensor:
        return self.lam * criterion(logits, self.targets_a) + \
            (1 - self.lam) * criterion(logits, self.targets_b)

    def correct(self, predictions: Tensor) -> Tensor:
        return self.lam * (predictions == self.targets_a).sum() + \
            (1 - self.lam) * (predictions == self.targets_b).sum()


class Mixer:
    """Mixup and CutMix; with both on, each batch uses one of them at random.

    The mixing weight is drawn on the host (one number per batch, no device sync); the
    partner permutation on the device.
    """

    def __init__(self, cfg: RegularizationConfig, seed: int, generator: torch.Generator) -> None:
        self.mixup_alpha = cfg.mixup_alpha
        self.cutmix_alpha = cfg.cutmix_alpha
        self.rng = random.Random(seed)
        self.generator = generator

    @property
    def active(self) -> bool:
        return bool(self.mixup_alpha or self.cutmix_alpha)

    def __call__(self, images: Tensor, targets: Tensor) -> Mixed:
        use_cutmix = bool(self.cutmix_alpha) and (not self.mixup_alpha or self.rng.random() < 0.5)
        alpha = self.cutmix_alpha if use_cutmix else self.mixup_alpha
        lam = self.rng.betavariate(alpha, alpha)
        partner = torch.randperm(images.shape[0], generator=self.generator, device=images.device)
        if use_cutmix:
            images, lam = self._paste_box(images, partner, lam)
        else:
            images = lam * images + (1 - lam) * images[partner]
        return Mixed(images, targets, targets[partner], lam)

    def _paste_box(self, images: Tensor, partner: Tensor, lam: float) -> tuple[Tensor, float]:
        height, width = images.shape[-2:]
        cut = math.sqrt(1.0 - lam)
        box_h, box_w = int(height * cut), int(width * cut)
        cy, cx = self.rng.randrange(height), self.rng.randrange(width)
        top, bottom = max(cy - box_h // 2, 0), min(cy + box_h // 2, height)
        left, right = max(cx - box_w // 2, 0), min(cx + box_w // 2, width)
        mixed = images.clone()
        mixed[:, :, top:bottom, left:right] = images[partner, :, top:bottom, left:right]
        pasted = (bottom - top) * (right - left) / (height * width)
        return mixed, 1.0 - pasted  # the label weight follows the area actually pasted

    def state_dict(self) -> dict:
        version, internal, gauss = self.rng.getstate()
        # One tensor, not 625 ints: torch.save pickles each int as an object of its own.
        words = torch.frombuffer(array.array("q", internal), dtype=torch.int64).clone()
        return {"version": version, "internal": words, "gauss": gauss}

    def load_state_dict(self, state: dict) -> None:
        internal = state["internal"]  # a list in older checkpoints
        values = internal.tolist() if isinstance(internal, Tensor) else internal
        self.rng.setstate((state["version"], tuple(values), state["gauss"]))


class EarlyStopping:
    """Counts as Lightning's EarlyStopping does for a monitored loss (mode 'min'):
    an epoch improves when val_loss < best - min_delta; `patience` epochs in a row
    without improvement stop the run."""

    def __init__(self, patience: int, min_delta: float) -> None:
        self.patience = patience
        self.min_delta = min_delta
        self.best = math.inf
        self.wait = 0

    def update(self, val_loss: float) -> tuple[bool, str]:
        """(should_stop, reason)."""
        if val_loss < self.best - self.min_delta:
            self.best, self.wait = val_loss, 0
            return False, ""
        self.wait += 1
        if self.wait >= self.patience:
            return True, (f"val loss has not improved on {self.best:.4f} by more than "
                          f"{self.min_delta:g} for {self.wait} epochs")
        return False, ""

    def state_dict(self) -> dict:
        return {"best": self.best, "wait": self.wait}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.wait = state["best"], state["wait"]


Criterion = Callable[[Tensor, Tensor], Tensor]


def criterion(cfg: RegularizationConfig) -> Criterion:
    """Mean cross-entropy with the configured label smoothing (the function, not an
    nn.Module: a module call costs ~10 us of hooks bookkeeping every step)."""
    return functools.partial(F.cross_entropy, label_smoothing=cfg.label_smoothing)


def cross_entropy_sum(logits: Tensor, targets: Tensor) -> Tensor:
    """Summed (not averaged) plain cross-entropy, for evaluation."""
    return F.cross_entropy(logits.float(), targets, reduction="sum")
