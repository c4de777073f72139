"""The bench's larger training workloads: W3 (CIFAR-shaped throughput) and T98 (time to 98%).

W3   50,000 random 3x32x32 uint8 images, 10 classes (the shape and dtype of CIFAR-10,
     which cannot be fetched on our machines) through resnet18 and cnn, batch 512, with
     flip + translate: regtui's samples/s vs the textbook loop's (PIL transforms, a
     DataLoader with worker processes). Goal: regtui >= 5x. Also the share of the GPU's
     peak bf16 throughput that regtui reaches.
T98  the real MNIST test set (8,000 train / 2,000 val, see bench.mnist): seconds until
     validation accuracy first reaches 98%, regtui vs the textbook loop, same model,
     recipe and batches.
"""

from __future__ import annotations

from pathlib import Path

import torch

from regtui import config as config_module
from regtui.bench.reference import textbook_epochs
from regtui.bench.trainer import regtui_epochs
from regtui.config import RunConfig
from regtui.train import models
from regtui.train.data import Dataset, Split, channel_stats
from regtui.train.precision import flops_per_sample
from regtui.train.devices import resolve_device
from regtui.train.setup import Prepared, build_model

W3_BATCH = 512
W3_TRAIN = 50_000
W3_CPU_TRAIN = 2 * W3_BATCH  # resnet18 on a CPU: two steps take long enough to time
W3_AUGMENT = {"hflip": 0.5, "translate": 0.125}  # 4 pixels of 32, as CIFAR recipes pad-crop
T98_TARGET = 0.98
T98_MAX_EPOCHS = 40

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


def prepared_for(config: RunConfig, train: Split, val: Split, name: str) -> Prepared:
    """What prepare() builds, on data the bench made instead of a named dataset."""
    device = resolve_device(config.train.device)
    dataset = _normalized_dataset(name, train, val, device)
    return Prepared(config, device, dataset, build_model(config, dataset, device))


# ---------------------------------------------------------------- W3

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


def gpu_share(model_name: str, device: str, samples_per_s: float) -> str:
    """Achieved training FLOP/s, and on a known GPU its share of the bf16 peak."""
    from regtui.train.devices import device_name

    resolved = resolve_device(device)
    config = w3_config(model_name, "cpu")
    model = models.build(config.model, (3, 32, 32), 10)
    achieved = flops_per_sample(model, (3, 32, 32), torch.device("cpu")) * samples_per_s
    name = device_name(resolved)
    peak = peak_flops(name) if resolved.type == "cuda" else None
    text = f"{achieved / 1e12:.3f} TFLOP/s"
    return f"{text}, {achieved / peak:.1%} of the {name} bf16 peak" if peak else text


# ---------------------------------------------------------------- T98

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
