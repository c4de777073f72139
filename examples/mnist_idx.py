"""MNIST-style IDX files from a folder, as tensors: shared by the examples.

Looks for `*images-idx3-ubyte` and `*labels-idx1-ubyte` (gzipped or not; train- or
t10k-), e.g. a folder holding MNIST's t10k files, or torchvision's <root>/MNIST/raw/.
"""

from __future__ import annotations

import argparse
import gzip
import struct
import sys
from pathlib import Path

import torch


def example_arguments(description: str, epochs: int) -> argparse.ArgumentParser:
    """The arguments every example takes: the data folder, epochs, a size limit, the batch
    size and the runs dir; an example adds its own."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("data_dir", help="folder with *images-idx3-ubyte[.gz] and labels")
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--limit", type=int, default=0, help="use this many images (0 = all)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--runs-dir", default=None, help="default: $REGTUI_RUNS_DIR or ./runs")
    return parser


def read_idx(path: Path) -> torch.Tensor:
    """One IDX file (magic 0, 0, type 0x08 = uint8, ndim; big-endian sizes; raw bytes)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        data = handle.read()
    zero, kind, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or kind != 0x08:
        raise ValueError(f"{path}: not a uint8 IDX file")
    shape = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    return torch.frombuffer(bytearray(data[4 + 4 * ndim:]), dtype=torch.uint8).reshape(shape)


def find(folder: Path, kind: str) -> Path:
    matches = sorted(folder.glob(f"*{kind}-idx*-ubyte*"))
    if not matches:
        sys.exit(f"{folder}: no *{kind}-idx*-ubyte[.gz] file (an MNIST IDX folder expected)")
    return matches[0]


def load(folder: str | Path, limit: int = 0, val_fraction: float = 0.2, seed: int = 0
         ) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor], int]:
    """((train x, train y), (val x, val y), classes): images as float [N, 1, H, W] in [0, 1],
    split at random (seeded); `limit` keeps that many images (0 = all)."""
    folder = Path(folder)
    images = read_idx(find(folder, "images")).float().div_(255).unsqueeze(1)
    labels = read_idx(find(folder, "labels")).long()
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    if limit:
        order = order[:limit]
    n_val = max(1, int(len(order) * val_fraction))
    val, train = order[:n_val], order[n_val:]
    classes = int(labels.max()) + 1
    return (images[train], labels[train]), (images[val], labels[val]), classes
