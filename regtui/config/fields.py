"""The settings of a run: the frozen dataclasses, each field with its documentation and
the values it accepts (`setting`), and the name lists the registries in train/ match."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable

Layer = dict[str, dict[str, Any]]


class ConfigError(ValueError):
    """A setting is unknown, of the wrong type or out of range; the message says which."""


def setting(
    default: Any,
    doc: str,
    *,
    choices: tuple[str, ...] | None = None,
    low: float | None = None,
    high: float | None = None,
    high_open: bool = False,
    low_open: bool = False,
    check: Callable[[Any], str | None] | None = None,
    private: bool = False,
) -> Any:
    """A dataclass field carrying its documentation and the values it accepts.

    check(value) returns what is wrong with a converted value, or None. A private
    setting (a webhook URL with its token) is never recorded: to_dict and to_toml leave
    it out, so it reaches neither config.toml nor the event stream."""
    meta = {"doc": doc, "choices": choices, "low": low, "high": high,
            "low_open": low_open, "high_open": high_open, "check": check,
            "private": private}
    return field(default=default, metadata=meta)


DATASETS = ("digits", "mnist", "fashion-mnist", "cifar10", "cifar100", "imagefolder")
MODELS = ("mlp", "cnn", "resnet18")
ACTIVATIONS = ("relu", "leaky_relu", "gelu", "tanh", "sigmoid")
INIT_SCHEMES = ("default", "xavier_uniform", "xavier_normal", "kaiming_uniform",
                "kaiming_normal", "orthogonal", "normal")
OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULERS = ("none", "cosine", "step", "onecycle", "plateau")
FILLS = ("auto", "zeros", "border", "reflection")
# Seeds go to torch.Generator.manual_seed, which takes any 64-bit integer, signed or not.
SEED_LOW, SEED_HIGH = -2 ** 63, 2 ** 64 - 1
# Every other integer setting must fit in 64 bits too (TOML's own integer range).
INT64_LOW, INT64_HIGH = -2 ** 63, 2 ** 63 - 1
DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


@dataclass(frozen=True)
class DataConfig:
    dataset: str = setting("digits", "which dataset to train on", choices=DATASETS)
    data_dir: str | None = setting(
        None, "where datasets are looked for (default ~/.cache/regtui/data); "
        "the class-folder root for imagefolder")
    download: bool = setting(False, "fetch torchvision datasets that are not on disk yet")
    val_fraction: float = setting(0.2, "fraction of the training split held out for "
                                  "validation (stratified)", low=0, high=1,
                                  low_open=True, high_open=True)
    test_fraction: float = setting(0.2, "fraction held out as the test split, for datasets "
                                   "without an official one (digits, imagefolder)",
                                   low=0, high=1, high_open=True)
    train_subset: int = setting(0, "keep only this many training samples, stratified "
                                "(0 = all); small subsets provoke overfitting", low=0)
    image_size: int = setting(32, "imagefolder images are resized to this many pixels "
                              "square", low=8, high=512)
    split_seed: int = setting(0, "seed of the train/val/test split, kept apart from "
                              "train.seed so runs with different seeds see the same split",
                              low=SEED_LOW, high=SEED_HIGH)


@dataclass(frozen=True)
class ModelConfig:
    name: str = setting("mlp", "the architecture", choices=MODELS)
    hidden: tuple[int, ...] = setting((256, 128), "mlp hidden layer widths", low=1)
    activation: str = setting("relu", "hidden-layer nonlinearity", choices=ACTIVATIONS)
    dropout: float = setting(0.0, "dropout probability after every hidden layer "
                             "(0 = off)", low=0, high=1, high_open=True)
    batchnorm: bool = setting(False, "batch normalization after every hidden linear/conv "
                              "layer (resnet18 has it built in; false removes it)")
    pretrained: bool = setting(False, "resnet18 only: start from ImageNet weights")
    freeze_epochs: int = setting(0, "keep the pretrained backbone frozen for this many "
                                 "epochs, training only the new head, then fine-tune all",
                                 low=0)


@dataclass(frozen=True)
class InitConfig:
    scheme: str = setting("default", "weight initialization of linear and conv layers "
                          "(biases are zeroed unless 'default')", choices=INIT_SCHEMES)
    std: float = setting(0.02, "standard deviation for scheme 'normal'", low=0,
                         low_open=True)
    gain: float = setting(0.0, "gain for xavier and orthogonal; 0 = the recommended gain "
                          "of model.activation", low=0)


@dataclass(frozen=True)
class RegularizationConfig:
    weight_decay: float = setting(0.0, "optimizer weight decay: coupled (an L2 term in the "
                                  "gradient) for sgd and adam, decoupled for adamw", low=0)
    l1: float = setting(0.0, "L1 penalty l1 * sum|w| over weights, added to the loss", low=0)
    l2: float = setting(0.0, "L2 penalty l2 * sum w^2 over weights, added to the loss; "
                        "with l1 this is elastic net", low=0)
    label_smoothing: float = setting(0.0, "share of the target spread over all classes",
                                     low=0, high=1, high_open=True)
    clip_norm: float = setting(0.0, "clip the global gradient norm to this (0 = off)", low=0)
    clip_value: float = setting(0.0, "clip every gradient element to +-this (0 = off)",
                                low=0)
    mixup_alpha: float = setting(0.0, "mixup Beta(alpha, alpha) mixing (0 = off)", low=0)
    cutmix_alpha: float = setting(0.0, "cutmix Beta(alpha, alpha) patch mixing (0 = off)",
                                  low=0)
    early_stopping: bool = setting(False, "stop when val loss has not improved for "
                                   "`patience` epochs")
    patience: int = setting(5, "early stopping: epochs without improvement", low=1)
    min_delta: float = setting(0.0, "early stopping: smallest val loss decrease that counts "
                               "as an improvement", low=0)


@dataclass(frozen=True)
class AugmentConfig:
    hflip: float = setting(0.0, "probability of a horizontal flip", low=0, high=1)
    vflip: float = setting(0.0, "probability of a vertical flip", low=0, high=1)
    rotation: float = setting(0.0, "rotation, uniform in +-degrees", low=0, high=180)
    shear: float = setting(0.0, "shear, uniform in +-degrees", low=0, high=60)
    translate: float = setting(0.0, "shift, uniform in +-this fraction of the image size",
                               low=0, high=0.5)
    scale: tuple[float, float] = setting((1.0, 1.0), "zoom factor, uniform in [min, max]",
                                         low=0.1, high=4)
    crop_padding: int = setting(0, "random crop after padding by this many pixels",
                                low=0, high=64)
    brightness: float = setting(0.0, "brightness factor, uniform in 1+-this", low=0, high=1,
                                high_open=True)
    contrast: float = setting(0.0, "contrast factor, uniform in 1+-this", low=0, high=1,
                              high_open=True)
    erasing: float = setting(0.0, "probability of erasing a random rectangle", low=0, high=1)
    fill: str | float = setting(
        "auto", "what rotation, shear, shift, zoom-out and padded crop show where the image "
        "moved away: zeros (black), border (the edge pixels repeated), reflection (the image "
        "mirrored at its edge) or a grey level in [0, 1]; auto = zeros for digits, mnist and "
        "fashion-mnist (their background is black, so zeros is the background) and "
        "reflection for cifar and image folders (natural images: no black frames, no "
        "streaks, as in the usual reflect-padded CIFAR crops)", choices=FILLS, low=0, high=1)


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = setting(10, "number of epochs", low=1, high=100_000)
    batch_size: int = setting(64, "samples per step", low=1, high=65_536)
    lr: float = setting(1e-3, "learning rate (peak rate for onecycle)", low=0, low_open=True)
    optimizer: str = setting("adam", "the optimizer", choices=OPTIMIZERS)
    momentum: float = setting(0.9, "sgd momentum", low=0, high=1, high_open=True)
    scheduler: str = setting("none", "learning-rate schedule", choices=SCHEDULERS)
    step_size: int = setting(10, "step scheduler: epochs between decays", low=1)
    gamma: float = setting(0.1, "step and plateau schedulers: decay factor", low=0, high=1,
                           low_open=True)
    device: str = setting("auto", "auto, cpu, cuda, cuda:N or mps")
    seed: int = setting(0, "seed for weights, shuffling, dropout and augmentation",
                        low=SEED_LOW, high=SEED_HIGH)
    amp: str = setting("auto", "bf16 autocast on CUDA: auto (where a step's work is large "
                       "enough to pay for the casts), on or off; ignored on CPU",
                       choices=("auto", "on", "off"))
    compile: bool = setting(False, "torch.compile the model (pays off on long GPU runs)")
    log_every: int = setting(20, "steps between `step` events (each one reads the loss "
                             "back from the device)", low=1)
    checkpoint_seconds: float = setting(5.0, "write last.pt/best.pt at most this often "
                                        "(seconds of the run; 0 = after every epoch): a "
                                        "kill -9 loses at most this much training", low=0)


@dataclass(frozen=True)
class AlertsConfig:
    """Detector thresholds; docs/alerts.md explains the reasoning behind each default."""
    enabled: bool = setting(True, "run the detectors and emit alerts")
    overfit_margin: float = setting(0.05, "overfitting: val loss this far above its best "
                                    "(relative, 0.05 = 5%) counts as rising", low=0)
    overfit_patience: int = setting(3, "overfitting: epochs in a row the val loss must stay "
                                    "above its best by the margin", low=1)
    overfit_critical: float = setting(0.5, "overfitting turns critical when val loss is this "
                                      "far above its best (0.5 = 50%)", low=0)
    gap_threshold: float = setting(0.1, "overfitting: train-val accuracy gap that counts as "
                                   "wide", low=0, high=1)
    gap_window: int = setting(3, "overfitting: epochs over which a wide gap must have "
                              "widened (by at least 0.02)", low=1)
    warmup: int = setting(5, "epochs before underfitting and plateaus are judged", low=1)
    chance_factor: float = setting(1.5, "underfitting: train accuracy below chance times this "
                                   "is near chance", low=1)
    stall_acc: float = setting(0.9, "underfitting: a stalled train loss only counts while "
                               "train accuracy is below this", low=0, high=1)
    stall_window: int = setting(5, "underfitting and plateau: epochs looked back over", low=2)
    stall_tolerance: float = setting(0.01, "underfitting and plateau: relative change below "
                                     "this counts as flat (0.01 = 1%)", low=0)
    divergence_factor: float = setting(10.0, "divergence: train loss above this many times the "
                                       "loss of a uniform guess, ln(classes)", low=1)
    explode_factor: float = setting(10.0, "exploding gradients: grad norm above this many "
                                    "times the median of the epochs before", low=1)
    vanish_ratio: float = setting(1e-3, "vanishing gradients: first layer's grad norm below "
                                  "this fraction of the last layer's", low=0, high=1)


ALERT_LEVELS = ("info", "warning", "critical")
WEBHOOK_URL = re.compile(r"^https?://[^/\s?#]+(?:[/?#]\S*)?$", re.IGNORECASE)


def check_webhook_urls(urls: tuple[str, ...]) -> str | None:
    """What is wrong with a list of webhook URLs (None: nothing)."""
    for url in urls:
        if not WEBHOOK_URL.match(url):
            return f"{json.dumps(url)} is not an http:// or https:// URL with a host"
    return None


@dataclass(frozen=True)
class MonitorConfig:
    system_interval: float = setting(
        5.0, "seconds between `system` events (CPU, RAM, RSS, NVIDIA GPUs, torch's peak "
        "CUDA memory), read on a background thread; 0 = off", low=0, high=3600)


@dataclass(frozen=True)
class NotifyConfig:
    """Where to tell someone that a run needs attention or has ended (docs/notifications.md)."""
    urls: tuple[str, ...] = setting(
        (), "http(s) webhook URLs that get a JSON POST (Slack, Discord, any JSON consumer); "
        "never recorded in the run (they hold tokens)", check=check_webhook_urls,
        private=True)
    command: str = setting(
        "", "a shell command run per notification, the message on stdin and the fields "
        "in REGTUI_* environment variables (mail, ntfy, notify-send); never recorded",
        private=True)
    min_level: str = setting("warning", "alerts at or above this level are sent; the end "
                             "of the run always is (off: only the end)",
                             choices=(*ALERT_LEVELS, "off"))
    timeout: float = setting(5.0, "seconds one attempt may take (a webhook's answer, a "
                             "command's run)", low=0, low_open=True, high=300)
    retries: int = setting(2, "further attempts after a webhook fails to answer or answers "
                           "5xx/429, 1 s then 2 s apart (commands are not retried)",
                           low=0, high=5)


@dataclass(frozen=True)
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    init: InitConfig = field(default_factory=InitConfig)
    regularization: RegularizationConfig = field(default_factory=RegularizationConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    monitor: MonitorConfig = field(default_factory=MonitorConfig)
    notify: NotifyConfig = field(default_factory=NotifyConfig)


SECTIONS: dict[str, type] = {f.name: f.default_factory for f in dataclasses.fields(RunConfig)}  # type: ignore[misc]
# Per section, the settings that are never recorded (see setting(private=True)).
PRIVATE: dict[str, frozenset[str]] = {
    name: frozenset(f.name for f in dataclasses.fields(cls) if f.metadata.get("private"))
    for name, cls in SECTIONS.items()}
