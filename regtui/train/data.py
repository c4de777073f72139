"""Datasets as uint8 tensors on the training device; stratified splits; batch normalization.

Everything here fits in memory: a dataset is one uint8 tensor (N, C, H, W) on the
training device, batches are index slices and are turned into floats only per batch.
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
                "warnings": self.warnings}


# Raw loaders return (train images, train labels, test images or None, test labels, classes).
Raw = tuple[Tensor, Tensor, "Tensor | None", "Tensor | None", list[str], list[str]]


def default_data_dir() -> Path:
    return Path(os.environ.get("REGTUI_DATA_DIR", Path.home() / ".cache" / "regtui" / "data"))


def _digits(cfg: DataConfig) -> Raw:
    from sklearn.datasets import load_digits  # ships inside scikit-learn: works offline

    digits = load_digits()
    images = torch.from_numpy(digits.images).float().mul(255.0 / 16.0).round().to(torch.uint8)
    labels = torch.from_numpy(digits.target).long()
    return images.unsqueeze(1), labels, None, None, [str(i) for i in range(10)], []


def _torchvision(cls_name: str) -> Callable[[DataConfig], Raw]:
    def load(cfg: DataConfig) -> Raw:
        import torchvision.datasets as tvd

        cls = getattr(tvd, cls_name)
        root = Path(cfg.data_dir).expanduser() if cfg.data_dir else default_data_dir()
        try:
            train = cls(str(root), train=True, download=cfg.download)
            test = cls(str(root), train=False, download=cfg.download)
        except RuntimeError as error:
            if cfg.download:
                raise DataError(f"{cfg.dataset}: download into {root} failed: {error}") from None
            raise DataError(f"{cfg.dataset} not found in {root}; pass --download to fetch it, "
                            "or --data-dir to point at where it is") from None
        except OSError as error:  # network errors while downloading
            raise DataError(f"{cfg.dataset}: download into {root} failed: {error}") from None
        return (*_as_tensors(train), *_as_tensors(test), list(train.classes), [])

    return load


def _as_tensors(dataset) -> tuple[Tensor, Tensor]:
    data = torch.as_tensor(dataset.data)
    images = data.unsqueeze(1) if data.ndim == 3 else data.permute(0, 3, 1, 2)  # NHWC -> NCHW
    return images.contiguous().to(torch.uint8), torch.as_tensor(dataset.targets).long()


def _imagefolder(cfg: DataConfig) -> Raw:
    from PIL import Image, UnidentifiedImageError
    from torchvision.datasets import ImageFolder

    root = Path(cfg.data_dir or "").expanduser()
    if not root.is_dir():
        raise DataError(f"imagefolder: {root} is not a folder; --data-dir takes a folder with "
                        "one subfolder of images per class")
    try:
        folder = ImageFolder(str(root))
    except (FileNotFoundError, RuntimeError):
        raise DataError(f"imagefolder: no images found in {root}; expected one subfolder per "
                        "class holding .png/.jpg/.jpeg/.bmp/.webp files") from None
    images, labels, skipped = [], [], []
    mode = None
    for path, label in folder.samples:
        try:
            with Image.open(path) as image:
                mode = mode or ("L" if image.mode in ("1", "L", "I", "I;16") else "RGB")
                image = image.convert(mode).resize((cfg.image_size, cfg.image_size),
                                                   Image.Resampling.BILINEAR)
                images.append(torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8)
                              .view(cfg.image_size, cfg.image_size, -1))
                labels.append(label)
        except (OSError, UnidentifiedImageError, ValueError):
            skipped.append(path)
    if not images:
        raise DataError(f"imagefolder: none of the {len(folder.samples)} files in {root} "
                        "could be read as an image")
    warnings = [f"skipped unreadable image {path}" for path in skipped]
    stacked = torch.stack(images).permute(0, 3, 1, 2).contiguous()
    return stacked, torch.tensor(labels), None, None, list(folder.classes), warnings


LOADERS: dict[str, Callable[[DataConfig], Raw]] = {
    "digits": _digits,
    "mnist": _torchvision("MNIST"),
    "fashion-mnist": _torchvision("FashionMNIST"),
    "cifar10": _torchvision("CIFAR10"),
    "cifar100": _torchvision("CIFAR100"),
    "imagefolder": _imagefolder,
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
    """Load, split and move a dataset to the device."""
    if cfg.dataset not in LOADERS:
        raise DataError(f"unknown dataset {cfg.dataset!r}; known: {', '.join(LOADERS)}")
    images, labels, test_images, test_labels, classes, warnings = LOADERS[cfg.dataset](cfg)
    generator = torch.Generator().manual_seed(cfg.split_seed)
    if test_images is None:
        test_idx, keep = stratified_take(labels, round(cfg.test_fraction * len(labels)), generator)
        test_images, test_labels = images[test_idx], labels[test_idx]
        images, labels = images[keep], labels[keep]
    val_idx, train_idx = stratified_take(labels, max(1, round(cfg.val_fraction * len(labels))),
                                         generator)
    if cfg.train_subset and cfg.train_subset < len(train_idx):
        picked, _ = stratified_take(labels[train_idx], cfg.train_subset, generator)
        train_idx = train_idx[picked]
    train = Split(images[train_idx], labels[train_idx])
    mean, std = channel_stats(train.images)
    return Dataset(cfg.dataset, train.to(device), Split(images[val_idx], labels[val_idx]).to(device),
                   Split(test_images, test_labels).to(device), classes, mean.to(device),
                   std.to(device), warnings)
