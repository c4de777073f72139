"""Model builders: mlp, cnn and resnet18, each honouring model.dropout and model.batchnorm."""

from __future__ import annotations

import hashlib
import re
import warnings
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


def pretrained_weights_url() -> str:
    """Where torchvision publishes resnet18's ImageNet weights; the file name carries the
    first hex digits of the file's SHA-256 (`resnet18-f37072fd.pth`)."""
    from torchvision.models import ResNet18_Weights

    return ResNet18_Weights.IMAGENET1K_V1.url


def pretrained_weights_path() -> Path:
    """The weights' place in the torch cache ($TORCH_HOME/hub/checkpoints/<file name>)."""
    url = pretrained_weights_url()
    return Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]


_HASH_IN_NAME = re.compile(r"-([a-f0-9]{6,})\.")  # torch.hub's convention: name-<sha256 prefix>.ext


def _published_hash(url: str) -> str:
    match = _HASH_IN_NAME.search(url.rsplit("/", 1)[-1])
    if match is None:
        raise ModelError(f"{url}: the file name carries no hash to check the weights against")
    return match.group(1)


def _check_hash(path: Path, expected: str) -> None:
    """ModelError unless the file's SHA-256 starts with the published prefix."""
    with open(path, "rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    if not digest.startswith(expected):
        raise ModelError(f"{path}: its SHA-256 ({digest[:len(expected)]}…) is not the published "
                         f"one ({expected}…): the file is damaged or was replaced; delete it "
                         "and pass --download to fetch it again")


def _pretrained_state(download: bool) -> dict[str, torch.Tensor]:
    """The ImageNet weights from the torch cache (fetched with --download), checked
    against their published hash and read with weights_only=True: a file planted in the
    cache can neither pass for the weights nor run code. Raises ModelError."""
    url, path = pretrained_weights_url(), pretrained_weights_path()
    expected = _published_hash(url)
    if not path.is_file():
        if not download:
            raise ModelError(f"resnet18 ImageNet weights are not in the torch cache ({path}); "
                             "pass --download to fetch them once, or drop model.pretrained")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            torch.hub.download_url_to_file(url, str(path), hash_prefix=expected,
                                           progress=False)
        except (OSError, RuntimeError, ValueError) as error:  # RuntimeError: a wrong hash
            raise ModelError(f"could not fetch resnet18 ImageNet weights into {path}: "
                             f"{error}") from None
    try:
        _check_hash(path, expected)
        with warnings.catch_warnings():  # torch warns about foreign pickles, then refuses
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except ModelError:
        raise
    except Exception as error:  # noqa: BLE001 - torch raises many kinds for a bad file
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise ModelError(f"{path}: not loadable as plain weights (weights_only): "
                         f"{type(error).__name__}: {first[:160]}") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor)
                                              for v in state.values()):
        raise ModelError(f"{path}: does not hold a state dict of tensors")
    return state


def build_resnet18(cfg: ModelConfig, shape: tuple[int, int, int], classes: int,
                   download: bool = False) -> nn.Module:
    from torchvision.models import resnet18

    channels, height, _ = shape
    norm_layer = nn.BatchNorm2d if cfg.batchnorm or cfg.pretrained else _no_norm
    model = resnet18(norm_layer=norm_layer)
    if cfg.pretrained:
        state = _pretrained_state(download)
        try:
            model.load_state_dict(state)
        except RuntimeError as error:
            raise ModelError(f"{pretrained_weights_path()}: the weights do not fit resnet18: "
                             f"{str(error).splitlines()[0]}") from None
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
