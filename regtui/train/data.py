"""Datasets as uint8 tensors on the training device; stratified splits; batch normalization.

Everything here fits in memory: a dataset is one uint8 tensor (N, C, H, W) on the
training device, batches are index slices and are turned into floats only per batch.
The loaders in LOADERS read the files (datasets.py: MNIST-style IDX files and CIFAR
batches; imagefolder.py: folders of pictures) into a Raw pool; load() carves the splits
the files do not define and refuses split settings that leave one empty.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor

from regtui.config import DataConfig


class DataError(RuntimeError):
    """A dataset cannot be loaded; the message says where regtui looked and what to do."""


@dataclass
class Split:
    images: Tensor  # uint8 (N, C, H, W)
    labels: Tensor  # int64 (N,)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def to(self, device: torch.device) -> Split:
        return Split(self.images.to(device), self.labels.to(device))


@dataclass
class Dataset:
    name: str
    train: Split
    val: Split
    test: Split
    classes: list[str]
    mean: Tensor  # per channel, in [0, 1] units
    std: Tensor
    warnings: list[str] = field(default_factory=list)
    source: str = ""  # how the files were read (train/ and val/ folders, ...), for headers

    @property
    def shape(self) -> tuple[int, int, int]:
        channels, height, width = self.train.images.shape[1:]
        return int(channels), int(height), int(width)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @functools.cached_property
    def _scale_shift(self) -> tuple[Tensor, Tensor]:
        return ((1.0 / (255.0 * self.std)).view(1, -1, 1, 1),
                (-self.mean / self.std).view(1, -1, 1, 1))

    def normalize(self, images: Tensor) -> Tensor:
        """uint8 batch -> float batch with zero mean and unit variance per channel."""
        scale, shift = self._scale_shift
        return torch.addcmul(shift, images.float(), scale)

    def describe(self) -> dict:
        return {"name": self.name, "shape": list(self.shape), "classes": len(self.classes),
                "train": len(self.train), "val": len(self.val), "test": len(self.test),
                "warnings": self.warnings, **({"source": self.source} if self.source else {})}


@dataclass
class Raw:
    """What a loader reads: the pool the splits are carved from, and the splits the files
    already define (an official test set, val/ and test/ folders) or None to carve them."""
    images: Tensor  # uint8 (N, C, H, W)
    labels: Tensor  # int64 (N,)
    classes: list[str]
    test: Split | None = None
    val: Split | None = None
    warnings: list[str] = field(default_factory=list)
    source: str = ""  # how the files were read, for the run header


def default_data_dir() -> Path:
    return Path(os.environ.get("REGTUI_DATA_DIR", Path.home() / ".cache" / "regtui" / "data"))


def data_root(cfg: DataConfig) -> Path:
    """Where a torchvision dataset is looked for: data.data_dir, else the default."""
    return Path(cfg.data_dir).expanduser() if cfg.data_dir else default_data_dir()


def _digits(cfg: DataConfig) -> Raw:
    from sklearn.datasets import load_digits  # ships inside scikit-learn: works offline

    digits = load_digits()
    images = torch.from_numpy(digits.images).float().mul(255.0 / 16.0).round().to(torch.uint8)
    labels = torch.from_numpy(digits.target).long()
    return Raw(images.unsqueeze(1), labels, [str(i) for i in range(10)])


def _lazy(module: str, function: str, *args: str) -> Callable[[DataConfig], Raw]:
    """A loader imported when it runs: Pillow and the file readers cost nothing until then."""
    def load(cfg: DataConfig) -> Raw:
        import importlib

        return getattr(importlib.import_module(module), function)(cfg, *args)

    return load


LOADERS: dict[str, Callable[[DataConfig], Raw]] = {
    "digits": _digits,
    "mnist": _lazy("regtui.train.datasets", "load_idx", "mnist"),
    "fashion-mnist": _lazy("regtui.train.datasets", "load_idx", "fashion-mnist"),
    "cifar10": _lazy("regtui.train.datasets", "load_cifar", "cifar10"),
    "cifar100": _lazy("regtui.train.datasets", "load_cifar", "cifar100"),
    "imagefolder": _lazy("regtui.train.imagefolder", "load_folder"),
}


def stratified_take(labels: Tensor, count: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Split indices into (taken, rest) with `count` taken, every class in proportion.

    Each sample gets a key (its random rank within its class + jitter) / class size; the
    `count` smallest keys take the same share of every class.
    """
    total = int(labels.shape[0])
    order = torch.randperm(total, generator=generator)
    shuffled = labels[order]
    rank = torch.empty(total, dtype=torch.float64)
    for cls in torch.unique(shuffled):
        members = (shuffled == cls).nonzero().squeeze(1)
        rank[members] = (torch.arange(len(members), dtype=torch.float64) + 0.5) / len(members)
    by_key = order[torch.argsort(rank, stable=True)]
    return by_key[:count], by_key[count:]


def channel_stats(images: Tensor) -> tuple[Tensor, Tensor]:
    """Per-channel mean and std of uint8 images, in [0, 1] units (std at least 1e-3)."""
    scaled = images.float().div(255.0)
    return scaled.mean(dim=(0, 2, 3)), scaled.std(dim=(0, 2, 3)).clamp_min(1e-3)


def load(cfg: DataConfig, device: torch.device) -> Dataset:
    """Load, split and move a dataset to the device.

    Raises DataError when it cannot be read, or when the split settings leave a split
    empty (no training, validation or, with data.test_fraction > 0, test samples)."""
    if cfg.dataset not in LOADERS:
        raise DataError(f"unknown dataset {cfg.dataset!r}; known: {', '.join(LOADERS)}")
    raw = LOADERS[cfg.dataset](cfg)
    images, labels = raw.images, raw.labels
    generator = torch.Generator().manual_seed(cfg.split_seed)
    test = raw.test
    if test is None:
        test_count = _test_count(cfg, len(labels))
        test_idx, keep = stratified_take(labels, test_count, generator)
        test = Split(images[test_idx], labels[test_idx])
        images, labels = images[keep], labels[keep]
    if raw.val is None:
        val_idx, train_idx = stratified_take(labels, _val_count(cfg, len(labels), raw.test),
                                             generator)
        val = Split(images[val_idx], labels[val_idx])
    else:
        train_idx, val = torch.arange(len(labels)), raw.val
    if cfg.train_subset and cfg.train_subset < len(train_idx):
        picked, _ = stratified_take(labels[train_idx], cfg.train_subset, generator)
        train_idx = train_idx[picked]
    train = Split(images[train_idx], labels[train_idx])
    for name, split in (("training", train), ("validation", val), ("test", test)):
        if not len(split) and (name != "test" or raw.test is not None):
            raise DataError(f"{cfg.dataset}: the {name} split is empty")
    mean, std = channel_stats(train.images)
    return Dataset(cfg.dataset, train.to(device), val.to(device), test.to(device), raw.classes,
                   mean.to(device), std.to(device), raw.warnings, raw.source)


def _test_count(cfg: DataConfig, total: int) -> int:
    """Samples carved out for testing; refuses a fraction that leaves a split empty."""
    count = round(cfg.test_fraction * total)
    if cfg.test_fraction > 0 and count == 0:
        raise DataError(f"data.test_fraction = {cfg.test_fraction:g} of {total} samples "
                        "leaves no test samples; accepted: a larger fraction, or 0 for no "
                        "test split")
    if total - count < 2:
        raise DataError(f"data.test_fraction = {cfg.test_fraction:g} of {total} samples "
                        f"leaves {total - count} for training and validation, which need "
                        "one each; accepted: a smaller fraction")
    return count


def _val_count(cfg: DataConfig, total: int, official_test: Split | None) -> int:
    """Samples held out for validation (at least one); refuses a fraction that leaves
    no training sample."""
    count = max(1, round(cfg.val_fraction * total))
    if count >= total:
        after = "" if official_test is not None else " left after the test split"
        raise DataError(f"data.val_fraction = {cfg.val_fraction:g} of the {total} samples"
                        f"{after} leaves no training samples; accepted: a smaller fraction")
    return count
