"""Model builders: mlp, cnn and resnet18, each honouring model.dropout and model.batchnorm."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch
from torch import nn

from regtui.config import ModelConfig

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
}


class ModelError(RuntimeError):
    """A model cannot be built as configured (pretrained weights missing, ...)."""


def _hidden_block(layer: nn.Module, width: int, cfg: ModelConfig, conv: bool) -> list[nn.Module]:
    """layer -> batch norm -> activation -> dropout, as the switches say."""
    block = [layer]
    if cfg.batchnorm:
        block.append(nn.BatchNorm2d(width) if conv else nn.BatchNorm1d(width))
    block.append(ACTIVATIONS[cfg.activation]())
    if cfg.dropout and not conv:
        block.append(nn.Dropout(cfg.dropout))
    return block


def build_mlp(cfg: ModelConfig, shape: tuple[int, int, int], classes: int) -> nn.Module:
    channels, height, width = shape
    layers: list[nn.Module] = [nn.Flatten()]
    fan_in = channels * height * width
    for size in cfg.hidden:
        layers += _hidden_block(nn.Linear(fan_in, size), size, cfg, conv=False)
        fan_in = size
    layers.append(nn.Linear(fan_in, classes))
    return nn.Sequential(*layers)


def build_cnn(cfg: ModelConfig, shape: tuple[int, int, int], classes: int) -> nn.Module:
    """conv32 -> pool -> conv64 -> pool -> fc64 -> classes, sized to the input."""
    channels, height, width = shape
    flat = 64 * (height // 4) * (width // 4)
    layers: list[nn.Module] = []
    layers += _hidden_block(nn.Conv2d(channels, 32, 3, padding=1), 32, cfg, conv=True)
    layers.append(nn.MaxPool2d(2))
    layers += _hidden_block(nn.Conv2d(32, 64, 3, padding=1), 64, cfg, conv=True)
    layers += [nn.MaxPool2d(2), nn.Flatten()]
    if cfg.dropout:
        layers.append(nn.Dropout(cfg.dropout))
    layers += _hidden_block(nn.Linear(flat, 64), 64, cfg, conv=False)
    layers.append(nn.Linear(64, classes))
    return nn.Sequential(*layers)


def pretrained_weights_path() -> Path:
    from torchvision.models import ResNet18_Weights

    url = ResNet18_Weights.IMAGENET1K_V1.url
    return Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]


def _pretrained_state(download: bool) -> dict[str, torch.Tensor]:
    from torchvision.models import ResNet18_Weights

    path = pretrained_weights_path()
    if not path.is_file() and not download:
        raise ModelError(f"resnet18 ImageNet weights are not in the torch cache ({path}); "
                         "pass --download to fetch them once, or drop model.pretrained")
    try:
        return ResNet18_Weights.IMAGENET1K_V1.get_state_dict(progress=False, check_hash=False)
    except OSError as error:
        raise ModelError(f"could not fetch resnet18 ImageNet weights into {path}: {error}") from None


def build_resnet18(cfg: ModelConfig, shape: tuple[int, int, int], classes: int,
                   download: bool = False) -> nn.Module:
    from torchvision.models import resnet18

    channels, height, _ = shape
    norm_layer = nn.BatchNorm2d if cfg.batchnorm or cfg.pretrained else _no_norm
    model = resnet18(norm_layer=norm_layer)
    if cfg.pretrained:
        model.load_state_dict(_pretrained_state(download))
    fresh = ["fc"]
    if height <= 64:
        # Small images: a 3x3 stride-1 stem without max pooling keeps the spatial size
        # (the ImageNet stem would shrink 32x32 to 8x8 before the first block).
        model.conv1 = nn.Conv2d(channels, 64, 3, stride=1, padding=1, bias=False)
        model.maxpool = nn.Identity()
        fresh.append("conv1")
    elif channels != 3:
        model.conv1 = nn.Conv2d(channels, 64, 7, stride=2, padding=3, bias=False)
        fresh.append("conv1")
    head = nn.Linear(model.fc.in_features, classes)
    model.fc = nn.Sequential(nn.Dropout(cfg.dropout), head) if cfg.dropout else head
    model.fresh_modules = tuple(fresh)  # what set_backbone_frozen leaves trainable
    return model


def _no_norm(num_features: int) -> nn.Module:
    return nn.Identity()


# The registry of models: config.MODELS lists these names (tests/test_registries.py ties them).
BUILDERS: dict[str, Callable[..., nn.Module]] = {
    "mlp": lambda cfg, shape, classes, download: build_mlp(cfg, shape, classes),
    "cnn": lambda cfg, shape, classes, download: build_cnn(cfg, shape, classes),
    "resnet18": build_resnet18,
}


def build(cfg: ModelConfig, shape: tuple[int, int, int], classes: int,
          download: bool = False) -> nn.Module:
    """The configured model for images of `shape` (C, H, W) and `classes` outputs.

    Raises ModelError for an unknown name or missing pretrained weights."""
    if cfg.name not in BUILDERS:
        raise ModelError(f"unknown model {cfg.name!r}; known: {', '.join(BUILDERS)}")
    return BUILDERS[cfg.name](cfg, shape, classes, download)


def head_parameters(model: nn.Module) -> set[int]:
    """ids of the parameters that are new on top of a pretrained backbone."""
    names = getattr(model, "fresh_modules", ())
    return {id(p) for name in names for p in model.get_submodule(name).parameters()}


def set_backbone_frozen(model: nn.Module, frozen: bool) -> None:
    """Freeze (or thaw) everything but the new head and stem."""
    fresh = head_parameters(model)
    for parameter in model.parameters():
        if id(parameter) not in fresh:
            parameter.requires_grad_(not frozen)


def describe(model: nn.Module) -> dict:
    """Parameter counts and one line per layer, for the run_started event."""
    layers = []
    for name, module in model.named_modules():
        if next(module.children(), None) is None:  # leaves only
            count = sum(p.numel() for p in module.parameters())
            layers.append(f"{name}: {module.__class__.__name__}" + (f" ({count:,})" if count else ""))
    return {
        "params": sum(p.numel() for p in model.parameters()),
        "trainable": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "layers": layers,
    }
