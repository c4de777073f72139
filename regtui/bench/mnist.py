"""T98's data: MNIST's 10,000 test images, from a folder the user names.

The folder comes from `--mnist DIR` or the environment variable REGTUI_MNIST_DIR and holds
t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz] (the files as MNIST's site and
torchvision's MNIST/raw folder have them).
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import torch

from regtui.train.data import Split
from regtui.train.setup import SetupError

MNIST_ENV = "REGTUI_MNIST_DIR"
MNIST_T10K = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
T98_TRAIN_SHARE = 0.8  # of MNIST's 10,000 test images: 8,000 train, 2,000 validation
_FILES = f"{MNIST_T10K[0]}[.gz] and {MNIST_T10K[1]}[.gz]"


def _idx_file(folder: Path, stem: str) -> Path | None:
    return next((path for path in (folder / stem, folder / f"{stem}.gz") if path.is_file()), None)


def find_mnist_t10k(folder: Path | None) -> Path:
    """The folder given (else $REGTUI_MNIST_DIR), checked to hold both t10k files."""
    if folder is None:
        folder = Path(os.environ[MNIST_ENV]) if os.environ.get(MNIST_ENV) else None
    if folder is None:
        raise SetupError(f"T98 needs MNIST's test set: pass --mnist DIR or set {MNIST_ENV} "
                         f"to a folder with {_FILES}")
    missing = [stem for stem in MNIST_T10K if _idx_file(folder, stem) is None]
    if missing:
        raise SetupError(f"T98 needs MNIST's test set ({_FILES}); {folder} has no "
                         f"{missing[0]}[.gz]; pass --mnist DIR or set {MNIST_ENV}")
    return folder


def read_idx(path: Path) -> np.ndarray:
    """An IDX file of unsigned bytes, gzipped or not (torchvision's reader takes no .gz)."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    dims = raw[3] if len(raw) > 3 else 0
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    header = 4 + 4 * dims
    if raw[:3] != b"\x00\x00\x08" or not dims or len(raw) != header + int(np.prod(shape)):
        raise SetupError(f"{path}: not an IDX file of unsigned bytes (MNIST's format)")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def mnist_t10k(folder: Path) -> tuple[Split, Split]:
    """MNIST's 10,000 test images, shuffled once and split 80/20 into train and val."""
    images, labels = (read_idx(_idx_file(folder, stem)) for stem in MNIST_T10K)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise SetupError(f"{folder}: the images ({images.shape}) and labels ({labels.shape}) "
                         "do not pair up")
    images = torch.from_numpy(images.copy()).unsqueeze(1)
    labels = torch.from_numpy(labels.astype(np.int64))
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))
    cut = round(T98_TRAIN_SHARE * len(labels))
    train, val = order[:cut], order[cut:]
    return Split(images[train], labels[train]), Split(images[val], labels[val])
