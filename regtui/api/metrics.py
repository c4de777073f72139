"""Metric names and values: which of a script's keys are regtui's curves, and their numbers.

A script logs whatever names it likes (`train/loss`, `val_loss`, `valid_loss`,
`accuracy/val`, `val_acc_epoch`, `lr-Adam`, ...). A key is split into words (at `/`, `_`,
`.`, `-`, spaces, digits and camelCase); a word naming the split (`train`, `val`, `valid`,
`validation`, `eval`, `dev`, ...) says which split, anywhere in the key; what is left must
be exactly `loss`, `acc` / `accuracy` / `top1`, `lr` / `learning rate` or `grad norm`
(give or take `mean`, `avg`, `epoch`, `metrics` and Lightning's `_epoch` suffix). Anything
else (`test_acc`, `kl_loss`, `val_acc_top5`, `train_loss_step`) is kept under its own name
as an extra. `regtui.init(metrics={...})` maps a key by hand, or keeps it apart (None).
docs/api.md lists the rules with examples. Torch-free.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

# The Epoch fields a script's keys can land in.
CURVES = ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "grad_norm")
TARGETS = CURVES + ("seconds", "samples_per_s")

_SPLITS = {"train": "train", "training": "train", "trn": "train", "tr": "train",
           "val": "val", "valid": "val", "validation": "val", "eval": "val", "dev": "val",
           "evaluation": "val"}
_IGNORED = frozenset({"mean", "avg", "average", "epoch", "metrics", "metric", "total"})
_WORDS = re.compile(r"[a-z]+|[0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def words(key: str) -> list[str]:
    """`valAcc_epoch` -> ['val', 'acc', 'epoch']; `lr-Adam` -> ['lr', 'adam']."""
    return _WORDS.findall(_CAMEL.sub(" ", key).lower())


def recognise(key: str) -> str | None:
    """The Epoch field a key names (`train/loss` -> train_loss), or None for an extra."""
    parts = words(key)
    if not parts or parts[-1] == "step":  # Lightning's per-step value, not the epoch's
        return None
    splits = {_SPLITS[w] for w in parts if w in _SPLITS}
    rest = [w for w in parts if w not in _SPLITS and w not in _IGNORED]
    if len(splits) > 1 or not rest:
        return None
    split = splits.pop() if splits else "train"
    if rest[0] == "lr" or rest == ["learning", "rate"]:
        return "lr" if split == "train" else None  # lr-Adam, lr-SGD/pg1, train/lr
    if rest[0] in ("grad", "gradient") and "norm" in rest and len(rest) <= 4:
        return "grad_norm" if split == "train" else None  # grad_norm, grad_2.0_norm_total
    if rest == ["loss"]:
        return f"{split}_loss"
    if rest in (["acc"], ["accuracy"], ["acc", "1"], ["top", "1"]):
        return f"{split}_acc"
    return None


class MetricNames:
    """A script's keys mapped to Epoch fields, the first key to claim a field keeping it.

    overrides: {key: field or None}; a field must be one of TARGETS (ValueError)."""

    def __init__(self, overrides: Mapping[str, str | None] | None = None) -> None:
        self.overrides: dict[str, str | None] = {}
        for key, target in (overrides or {}).items():
            if not isinstance(key, str):
                raise TypeError(f"metrics: key {key!r} is not a string")
            if target is not None and target not in TARGETS:
                raise ValueError(f"metrics: {key!r} -> {target!r}: unknown field; accepted: "
                                 f"{', '.join(TARGETS)} or None (keep it as an extra)")
            self.overrides[key] = target
        # field -> the key that owns it: a key mapped by hand owns its field from the start
        self._claimed: dict[str, str] = {target: key for key, target in self.overrides.items()
                                         if target is not None}
        self._cache: dict[str, str | None] = {}

    def field(self, key: str) -> str | None:
        """The Epoch field `key` fills, or None (an extra, under its own name)."""
        cached = self._cache.get(key, "")
        if cached != "":
            return cached
        target = self.overrides[key] if key in self.overrides else recognise(key)
        if target is not None:
            if self._claimed.setdefault(target, key) != key:
                target = None  # `loss` after `train/loss`: the first spelling keeps the curve
        self._cache[key] = target
        return target


def to_float(value: Any) -> float:
    """A Python number, a NumPy scalar, or a 0-d / one-element tensor or array as a float.

    A CUDA tensor is copied to the host here (one device sync). Raises TypeError or
    ValueError for anything else (strings, several elements, complex numbers)."""
    if isinstance(value, (bool, int, float)):
        return float(value)
    if isinstance(value, (str, bytes)):
        raise TypeError("a string")
    item = getattr(value, "item", None)
    if callable(item):
        try:
            value = item()
        except RuntimeError as error:  # torch: "a Tensor with 10 elements cannot be ..."
            raise ValueError(str(error).split("\n")[0]) from None
    return float(value)


def describe(value: Any) -> str:
    """A short, printable description of a value that is not a number."""
    shape = getattr(value, "shape", None)
    kind = type(value).__name__
    text = f"a {kind} of shape {tuple(shape)}" if shape is not None else f"{kind} {value!r}"
    return printable(text[:80])


def printable(text: str) -> str:
    """User text as it may be printed: control characters removed."""
    return "".join(ch for ch in text if ch.isprintable() or ch == " ")
