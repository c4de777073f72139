"""The bench's larger workloads: W3 (CIFAR-shaped throughput) and T98 (time to 98%).

W3   50,000 random 3x32x32 uint8 images, 10 classes (the shape and dtype of CIFAR-10,
     which cannot be fetched on our machines) through resnet18 and cnn, batch 512, with
     flip + translate: regtui's samples/s vs the textbook loop's (PIL transforms, a
     DataLoader with worker processes). Goal: regtui >= 5x. Also the share of the GPU's
     peak bf16 throughput that regtui reaches.
T98  the real MNIST test set (8,000 train / 2,000 val): seconds until validation accuracy
     first reaches 98%, regtui vs the textbook loop, same model and recipe.
"""

from __future__ import annotations

import gzip
import os
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from regtui import config as config_module
from regtui.bench import TextbookDataset, regtui_trainer, textbook_epoch
from regtui.config import RunConfig
from regtui.control import Control
from regtui.events import Epoch
from regtui.rundir import RunStore
from regtui.train import models
from regtui.train.data import Dataset, Split, channel_stats
from regtui.train.loop import EVAL_BATCH
from regtui.train.precision import flops_per_sample
from regtui.train.setup import Prepared, SetupError, build_model, resolve_device

W3_BATCH = 512
W3_TRAIN = 50_000
W3_CPU_TRAIN = 2 * W3_BATCH  # resnet18 on a CPU: two steps take long enough to time
W3_AUGMENT = {"hflip": 0.5, "translate": 0.125}  # 4 pixels of 32, as CIFAR recipes pad-crop
T98_TARGET = 0.98
T98_MAX_EPOCHS = 40
T98_TRAIN_SHARE = 0.8  # of MNIST's 10,000 test images: 8,000 train, 2,000 validation

# Dense bf16 tensor-core peaks (FLOP/s) from the vendors' data sheets, matched on the name.
PEAK_BF16 = {"H200": 989e12, "H100 PCIe": 756e12, "H100": 989e12, "A100": 312e12,
             "L40S": 362e12, "L4": 121e12, "A10": 125e12, "RTX 4090": 165e12,
             "RTX 3090": 71e12}


def peak_flops(device_name: str) -> float | None:
    return next((peak for key, peak in PEAK_BF16.items() if key in device_name), None)


def _config(layer: dict) -> RunConfig:
    return config_module.build(config_module.check_layer(layer, "bench"))


def _normalized_dataset(name: str, train: Split, val: Split, device: torch.device) -> Dataset:
    # statistics of the first 4,096 images: all 50,000 as floats would take 600 MB
    mean, std = channel_stats(train.images[:4096])
    return Dataset(name, train.to(device), val.to(device), val.to(device),
                   [str(i) for i in range(10)], mean.to(device), std.to(device))


def cifar_shaped(count: int, seed: int = 0) -> tuple[Split, Split]:
    """Random uint8 images and labels in CIFAR-10's shape: throughput only."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (count + W3_BATCH, 3, 32, 32), dtype=torch.uint8,
                           generator=generator)
    labels = torch.randint(0, 10, (count + W3_BATCH,), generator=generator)
    return Split(images[:count], labels[:count]), Split(images[count:], labels[count:])


def _read_idx(path: Path) -> np.ndarray:
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


MNIST_T10K = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def _idx_file(folder: Path, stem: str) -> Path | None:
    return next((path for path in (folder / stem, folder / f"{stem}.gz") if path.is_file()), None)


def find_mnist_t10k(folder: Path | None) -> Path:
    """A folder with t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz]."""
    candidates = [folder] if folder else [
        Path(os.environ.get("REGTUI_DATA_DIR", Path.home() / ".cache/regtui/data")) / "MNIST/raw",
        Path("../shared/data/mnist-t10k")]
    for candidate in candidates:
        if all(_idx_file(candidate, stem) for stem in MNIST_T10K):
            return candidate
    where = ", ".join(str(c) for c in candidates)
    raise SetupError(f"T98 needs the MNIST test set (t10k-images-idx3-ubyte[.gz] and "
                     f"t10k-labels-idx1-ubyte[.gz]); not found in {where}; pass --mnist DIR")


def mnist_t10k(folder: Path) -> tuple[Split, Split]:
    """MNIST's 10,000 test images, shuffled once and split 80/20 into train and val."""
    images, labels = (_read_idx(_idx_file(folder, stem)) for stem in MNIST_T10K)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise SetupError(f"{folder}: the images ({images.shape}) and labels ({labels.shape}) "
                         "do not pair up")
    images = torch.from_numpy(images.copy()).unsqueeze(1)
    labels = torch.from_numpy(labels.astype(np.int64))
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))
    cut = round(T98_TRAIN_SHARE * len(labels))
    train, val = order[:cut], order[cut:]
    return Split(images[train], labels[train]), Split(images[val], labels[val])


def prepared_for(config: RunConfig, train: Split, val: Split, name: str) -> Prepared:
    """What prepare() builds, on data the bench made instead of a named dataset."""
    device = resolve_device(config.train.device)
    dataset = _normalized_dataset(name, train, val, device)
    return Prepared(config, device, dataset, build_model(config, dataset, device))


# ---------------------------------------------------------------- regtui's side

def regtui_epochs(prepared: Prepared, runs_dir: Path,
                  until: Callable[[Epoch], bool] = lambda epoch: False) -> list[tuple[Epoch, float]]:
    """Train with regtui's Trainer (a real run directory); each epoch with the wall seconds
    since training began. `until` ends the run early (the time to reach a target)."""
    control = Control()
    seen: list[tuple[Epoch, float]] = []
    with RunStore.create(runs_dir, "bench", config_module.to_toml(prepared.config)) as store:
        def emit(event) -> None:
            store.write(event)
            if isinstance(event, Epoch):
                seen.append((event, time.perf_counter() - started))
                if until(event):
                    control.stop("stopped")

        trainer = regtui_trainer(prepared, store, emit, control)
        started = time.perf_counter()
        trainer.run(store.run_id)
    return seen


# ---------------------------------------------------------------- the textbook side

class SameOrder(torch.utils.data.Sampler):
    """The permutation regtui's trainer draws each epoch (same seed, same device; exact
    while no augmentation draws from the generator too), so both loops see the same
    batches and reach the target at the same epoch: the time to it then differs by speed
    alone, not by the luck of the shuffle."""

    def __init__(self, count: int, seed: int, device: torch.device) -> None:
        self.count = count
        self.device = device
        self.generator = torch.Generator(device=device).manual_seed(seed)

    def __len__(self) -> int:
        return self.count

    def __iter__(self):
        return iter(torch.randperm(self.count, generator=self.generator,
                                   device=self.device).tolist())


def textbook_workers() -> int:
    return min(4, os.cpu_count() or 1)


def textbook_epochs(prepared: Prepared, augment: bool,
                    until: Callable[[float], bool] = lambda acc: False
                    ) -> list[tuple[float, float, float]]:
    """The tutorial loop: torchvision transforms on PIL images, a DataLoader with worker
    processes (pinned memory on CUDA), loss.item() every step, validation every epoch.
    Returns (train samples/s, val acc, seconds since training began) per epoch."""
    from torchvision import transforms

    cfg, data, model, device = prepared.config, prepared.dataset, prepared.model, prepared.device
    normalize = [transforms.ToTensor(), transforms.Normalize(data.mean.cpu().tolist(),
                                                             data.std.cpu().tolist())]
    moves = [transforms.RandomHorizontalFlip(cfg.augment.hflip),
             transforms.RandomAffine(0, translate=(cfg.augment.translate,) * 2)] if augment else []
    loader = torch.utils.data.DataLoader(
        TextbookDataset(data.train.images, data.train.labels, transforms.Compose(moves + normalize)),
        batch_size=cfg.train.batch_size, sampler=SameOrder(len(data.train), cfg.train.seed, device),
        num_workers=textbook_workers(),
        pin_memory=device.type == "cuda", persistent_workers=True)
    val = torch.utils.data.DataLoader(TextbookDataset(data.val.images, data.val.labels, transforms.Compose(normalize)),
                                      batch_size=EVAL_BATCH)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.train.lr)
    results = []
    started = time.perf_counter()
    for _ in range(cfg.train.epochs):
        epoch_start = time.perf_counter()
        _, seen = textbook_epoch(model, loader, optimizer, device)
        rate = seen / (time.perf_counter() - epoch_start)
        acc = _accuracy(model, val, device)
        results.append((rate, acc, time.perf_counter() - started))
        if until(acc):
            break
    return results


@torch.no_grad()
def _accuracy(model, loader, device) -> float:
    model.eval()
    correct = total = 0
    for images, targets in loader:
        correct += (model(images.to(device)).argmax(dim=1).cpu() == targets).sum().item()
        total += len(targets)
    return correct / max(total, 1)


# ---------------------------------------------------------------- the workloads

def w3_config(model: str, device: str, seed: int = 0) -> RunConfig:
    return _config({"model": {"name": model}, "augment": W3_AUGMENT,
                    "train": {"batch_size": W3_BATCH, "lr": 1e-3, "optimizer": "adam",
                              "epochs": 1, "device": device, "seed": seed}})


def w3_data(device: str) -> tuple[Split, Split]:
    return cifar_shaped(W3_CPU_TRAIN if resolve_device(device).type == "cpu" else W3_TRAIN)


def w3_regtui(model: str, device: str, data: tuple[Split, Split], runs_dir: Path) -> float:
    """regtui's training samples/s over one epoch of the CIFAR-shaped data."""
    prepared = prepared_for(w3_config(model, device), *data, "cifar-shaped")
    (epoch, _), = regtui_epochs(prepared, runs_dir)
    return epoch.samples_per_s


def w3_textbook(model: str, device: str, data: tuple[Split, Split]) -> float:
    prepared = prepared_for(w3_config(model, device), *data, "cifar-shaped")
    (rate, _, _), = textbook_epochs(prepared, augment=True)
    return rate


def t98_config(device: str) -> RunConfig:
    # batch norm: 98% is then crossed on the way up (epoch 2-3 here), not grazed at the
    # plateau, where the epoch that first touches it is down to floating-point luck
    return _config({"model": {"name": "cnn", "batchnorm": True},
                    "train": {"batch_size": 64, "lr": 1e-3, "optimizer": "adam",
                              "epochs": T98_MAX_EPOCHS, "device": device, "seed": 0}})


def t98_regtui(device: str, data: tuple[Split, Split], runs_dir: Path) -> float:
    """Seconds of training until val accuracy first reaches 98% (inf if it never does)."""
    prepared = prepared_for(t98_config(device), *data, "mnist-t10k")
    seen = regtui_epochs(prepared, runs_dir, until=lambda e: e.val_acc >= T98_TARGET)
    return next((s for e, s in seen if e.val_acc >= T98_TARGET), float("inf"))


def t98_textbook(device: str, data: tuple[Split, Split]) -> float:
    prepared = prepared_for(t98_config(device), *data, "mnist-t10k")
    results = textbook_epochs(prepared, augment=False, until=lambda acc: acc >= T98_TARGET)
    return next((s for _, acc, s in results if acc >= T98_TARGET), float("inf"))


def gpu_share(model_name: str, device: str, samples_per_s: float) -> str:
    """Achieved training FLOP/s, and on a known GPU its share of the bf16 peak."""
    from regtui.train.setup import device_name

    resolved = resolve_device(device)
    config = w3_config(model_name, "cpu")
    model = models.build(config.model, (3, 32, 32), 10)
    achieved = flops_per_sample(model, (3, 32, 32), torch.device("cpu")) * samples_per_s
    name = device_name(resolved)
    peak = peak_flops(name) if resolved.type == "cuda" else None
    text = f"{achieved / 1e12:.3f} TFLOP/s"
    return f"{text}, {achieved / peak:.1%} of the {name} bf16 peak" if peak else text
