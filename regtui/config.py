"""RunConfig: frozen, validated settings for one training run.

A config is built from layers of partial settings (nested dicts `{section: {key: value}}`):
defaults, then presets left to right, then `--set`, then explicit flags. Every layer is
checked against the dataclass fields below before it is merged, so an error names the
layer it came from (a preset file, `--set`, a flag) and the key.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

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


# ---------------------------------------------------------------- checking one value

def _accepted(meta: Mapping[str, Any], hint: Any) -> str:
    if meta["choices"]:
        words = "one of " + ", ".join(meta["choices"])
        if float not in _members(hint):
            return words
        return f"{words}, or {_numeric_range(meta, 'a number')}"
    if meta["low"] is None and meta["high"] is None:
        return _type_name(hint)
    return _numeric_range(meta, _type_name(hint))


def _numeric_range(meta: Mapping[str, Any], kind: str) -> str:
    low, high = meta["low"], meta["high"]
    # An unbounded end is open: [0, inf) takes every number from 0 up.
    left = "(" if meta["low_open"] or low is None else "["
    right = ")" if meta["high_open"] or high is None else "]"
    return f"{kind} in {left}{bound_text(low, '-inf')}, {bound_text(high, 'inf')}{right}"


def bound_text(value: float | None, unbounded: str) -> str:
    """A range bound as messages and docs write it: integers exactly, floats short."""
    if value is None or (isinstance(value, float) and math.isinf(value)):
        return unbounded
    return str(value) if isinstance(value, int) else f"{value:g}"


def _members(hint: Any) -> tuple[Any, ...]:
    """The types a `X | Y | None` hint accepts, in order, without None."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return tuple(arg for arg in typing.get_args(hint) if arg is not type(None))
    return (hint,)


def _type_name(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin is tuple:
        args = typing.get_args(hint)
        plural = {int: "integers", float: "numbers", str: "strings"}[args[0]]
        if args[-1] is Ellipsis:
            return f"a list of {plural}"
        return f"a list of {len(args)} {plural}"
    if origin is not None:  # `X | None`, `str | float`
        return " or ".join(_type_name(member) for member in _members(hint))
    return {bool: "true/false", int: "an integer", float: "a number", str: "a string"}[hint]


def _coerce_scalar(value: Any, hint: Any) -> Any:
    """Return value converted to hint, or raise TypeError."""
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                return float(value)
            except OverflowError:  # an integer beyond any float: as infinite as it gets
                return math.inf if value > 0 else -math.inf
    elif hint is str:
        if isinstance(value, str):
            return value
    raise TypeError


def _coerce(value: Any, hint: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin is tuple:
        args = typing.get_args(hint)
        if not isinstance(value, (list, tuple)):
            raise TypeError
        if args[-1] is not Ellipsis and len(value) != len(args):
            raise TypeError
        return tuple(_coerce_scalar(item, args[0]) for item in value)
    if origin is not None:  # `X | None`: None is never written; `str | float`: either
        for member in _members(hint):
            try:
                return _coerce_scalar(value, member)
            except TypeError:
                continue
        raise TypeError
    return _coerce_scalar(value, hint)


def _in_range(value: Any, meta: Mapping[str, Any]) -> bool:
    if isinstance(value, str):
        return not meta["choices"] or value in meta["choices"]
    items = value if isinstance(value, tuple) else (value,)
    for item in items:
        if isinstance(item, float) and math.isnan(item):
            return False
        low, high = meta["low"], meta["high"]
        if low is not None and (item < low or (meta["low_open"] and item == low)):
            return False
        if high is not None and (item > high or (meta["high_open"] and item == high)):
            return False
    return True


def check_value(section: str, key: str, value: Any, source: str) -> Any:
    """Validate and convert one setting; raise ConfigError naming source, key and what is accepted."""
    if section not in SECTIONS:
        raise ConfigError(f"{source}: unknown section [{section}]; "
                          f"known sections: {', '.join(SECTIONS)}")
    cls = SECTIONS[section]
    fields = {f.name: f for f in dataclasses.fields(cls)}
    if key not in fields:
        raise ConfigError(f"{source}: unknown key {section}.{key}; "
                          f"known keys in [{section}]: {', '.join(fields)}")
    hint = typing.get_type_hints(cls)[key]
    meta = fields[key].metadata
    if isinstance(value, bool) and meta["choices"] and "on" in meta["choices"]:
        value = "on" if value else "off"  # `amp = true`, as written before it had `auto`
    try:
        converted = _coerce(value, hint)
    except TypeError:
        raise ConfigError(f"{source}: {section}.{key} = {_show(value)} is not "
                          f"{_accepted(meta, hint)}") from None
    if meta["choices"] and isinstance(converted, str) and converted not in meta["choices"]:
        raise ConfigError(f"{source}: {section}.{key} = {_show(value)} is unknown; "
                          f"accepted: {_accepted(meta, hint)}")
    items = converted if isinstance(converted, tuple) else (converted,)
    if any(isinstance(item, float) and not math.isfinite(item) for item in items):
        # inf, -inf, nan and overflowing literals (1e999): nothing can train on them
        raise ConfigError(f"{source}: {section}.{key} = {_show(value)} is not a finite "
                          f"number; accepted: {_accepted(meta, hint)}")
    if any(isinstance(item, int) and not isinstance(item, bool) and meta["high"] is None
           and not INT64_LOW <= item <= INT64_HIGH for item in items):
        raise ConfigError(f"{source}: {section}.{key} = {_show(value)} does not fit in 64 "
                          f"bits; accepted: {_accepted(meta, hint)}")
    if not _in_range(converted, meta):
        raise ConfigError(f"{source}: {section}.{key} = {_show(value)} is out of range; "
                          f"accepted: {_accepted(meta, hint)}")
    problem = meta["check"](converted) if meta["check"] else None
    if problem:
        raise ConfigError(f"{source}: {section}.{key}: {problem}")
    return converted


def _show(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10 ** 30:
        return f"{str(value)[:12]}... (a {len(str(abs(value)))}-digit integer)"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def check_layer(layer: Mapping[str, Any], source: str) -> Layer:
    """Validate a partial config (nested dict) and return it with converted values."""
    checked: Layer = {}
    for section, values in layer.items():
        if section not in SECTIONS:
            raise ConfigError(f"{source}: unknown section [{section}]; "
                              f"known sections: {', '.join(SECTIONS)}")
        if not isinstance(values, Mapping):
            raise ConfigError(f"{source}: [{section}] must be a table of settings")
        for key, value in values.items():
            checked.setdefault(section, {})[key] = check_value(section, key, value, source)
    return checked


# ---------------------------------------------------------------- building a RunConfig

def merge(*layers: Mapping[str, Mapping[str, Any]]) -> Layer:
    """Later layers override earlier ones key by key."""
    merged: Layer = {}
    for layer in layers:
        for section, values in layer.items():
            merged.setdefault(section, {}).update(values)
    return merged


def build(layer: Mapping[str, Mapping[str, Any]], source: str = "config") -> RunConfig:
    """Turn a checked, merged layer into a RunConfig and check settings that go together."""
    sections = {name: cls(**layer.get(name, {})) for name, cls in SECTIONS.items()}
    config = RunConfig(**sections)
    _check_combinations(config, source)
    return config


def from_recorded(recorded: Any) -> RunConfig:
    """The typed config a run recorded (run_started's `config`), for readers of runs.

    Lenient where build() is strict: a section, key or value this version does not accept
    (an older or newer run, a hand-edited file) keeps its default, so a reader never fails
    on a run it can otherwise show."""
    layer: Layer = {}
    for section, values in (recorded.items() if isinstance(recorded, Mapping) else ()):
        if section not in SECTIONS or not isinstance(values, Mapping):
            continue
        for key, value in values.items():
            try:
                layer.setdefault(section, {})[key] = check_value(section, key, value, "run")
            except (ConfigError, TypeError):
                continue
    return RunConfig(**{name: cls(**layer.get(name, {})) for name, cls in SECTIONS.items()})


def _check_combinations(config: RunConfig, source: str) -> None:
    low, high = config.augment.scale
    if low > high:
        raise ConfigError(f"{source}: augment.scale = [{low:g}, {high:g}] must be [min, max] "
                          "with min <= max")
    if not DEVICE_PATTERN.match(config.train.device):
        raise ConfigError(f"{source}: train.device = {config.train.device!r} is not a device; "
                          "accepted: auto, cpu, cuda, cuda:N, mps")
    if config.model.pretrained and config.model.name != "resnet18":
        raise ConfigError(f"{source}: model.pretrained needs model.name = \"resnet18\" "
                          f"(got {config.model.name!r})")
    _check_batch_norm(config, source)
    if config.data.dataset == "imagefolder" and not config.data.data_dir:
        raise ConfigError(f"{source}: data.dataset = \"imagefolder\" needs data.data_dir "
                          "(--data-dir), the folder with one subfolder per class")


def uses_batch_norm(model: ModelConfig) -> bool:
    """Whether the model will hold batch norm layers (resnet18 keeps them when pretrained)."""
    return model.batchnorm or (model.name == "resnet18" and model.pretrained)


def _check_batch_norm(config: RunConfig, source: str) -> None:
    """Batch norm in training mode needs 2+ samples per batch (PyTorch raises "Expected
    more than 1 value per channel" on one). The trainer drops a last batch of one sample;
    every other batch has train.batch_size samples, or data.train_subset when fewer."""
    if not uses_batch_norm(config.model):
        return
    why = ("batch norm (" + ("built into pretrained resnet18" if config.model.pretrained
                             else "model.batchnorm = true")
           + "), which needs at least 2 samples per training batch")
    if config.train.batch_size == 1:
        raise ConfigError(f"{source}: train.batch_size = 1 cannot work with {why}; accepted: "
                          "train.batch_size >= 2, or model.batchnorm = false")
    if config.data.train_subset == 1:
        raise ConfigError(f"{source}: data.train_subset = 1 cannot work with {why}; "
                          "accepted: data.train_subset >= 2 (or 0 for all), or "
                          "model.batchnorm = false")


def parse_assignment(text: str) -> tuple[str, str, Any]:
    """Parse `section.key=value`; the value is TOML, or a bare word taken as a string."""
    source = f"--set {text}"
    name, sep, raw = text.partition("=")
    section, dot, key = name.strip().partition(".")
    if not sep or not dot or not key:
        raise ConfigError(f"{source}: expected section.key=value, e.g. --set model.dropout=0.3")
    raw = raw.strip()
    try:
        value = tomllib.loads(f"value = {raw}")["value"]
    except tomllib.TOMLDecodeError:
        value = raw  # a bare word: --set train.optimizer=sgd
    return section, key, check_value(section, key, value, source)


def layer_from_assignments(assignments: list[str]) -> Layer:
    layer: Layer = {}
    for text in assignments:
        section, key, value = parse_assignment(text)
        layer.setdefault(section, {})[key] = value
    return layer


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file. Raises ConfigError naming the file when it is missing, a
    directory, a device or pipe, unreadable, not UTF-8 text (a binary file) or not
    valid TOML."""
    if path.exists() and not path.is_file() and not path.is_dir():
        # /dev/zero would be read forever, a FIFO would wait for a writer
        raise ConfigError(f"{path}: not a regular file, not a TOML file")
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a TOML file") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not a TOML file: byte {error.object[error.start]:#04x} "
                          f"at offset {error.start} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: TOML syntax error: {error}") from None
    except OSError as error:  # permissions, a FIFO that errors, an I/O error
        raise ConfigError(f"{path}: cannot be read: {error.strerror or error}") from None


def load_file(path: Path) -> Layer:
    """A config file (such as runs/<id>/config.toml) as a checked layer."""
    return check_layer(read_toml(path), str(path))


# ---------------------------------------------------------------- writing

def to_dict(config: RunConfig) -> dict[str, dict[str, Any]]:
    """Plain nested dict (tuples as lists) for JSON and TOML, without the private
    settings (notify.urls, notify.command): what a run records of its config."""
    plain = dataclasses.asdict(config)
    return {section: {key: list(value) if isinstance(value, tuple) else value
                      for key, value in values.items() if key not in PRIVATE[section]}
            for section, values in plain.items()}


def to_toml(config: RunConfig, header: str = "") -> str:
    """The resolved config as TOML that load_file reads back to the same RunConfig."""
    lines = [f"# {line}" for line in header.splitlines()]
    for section, values in to_dict(config).items():
        lines += ["", f"[{section}]"]
        if PRIVATE[section]:
            lines.append(f"# not recorded: {', '.join(sorted(PRIVATE[section]))}")
        lines += [f"{key} = {toml_value(value)}" for key, value in values.items()
                  if value is not None]  # TOML has no null: None is the default
    return "\n".join(lines).lstrip("\n") + "\n"


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    return "[" + ", ".join(toml_value(item) for item in value) + "]"


def describe_fields() -> list[tuple[str, str, str, str]]:
    """(key, default, accepted, doc) for every setting: for help screens and docs/configuration.md."""
    rows = []
    for section, cls in SECTIONS.items():
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            default = "" if f.default is None else toml_value(
                list(f.default) if isinstance(f.default, tuple) else f.default)
            rows.append((f"{section}.{f.name}", default, _accepted(f.metadata, hints[f.name]),
                         f.metadata["doc"]))
    return rows
