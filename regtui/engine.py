"""The one door from the views (CLI, TUI) into training: start or resume a live run, list
the devices, preview the augmentation.

Views never import torch or regtui.train themselves; they ask here. Every function
imports torch only when it is called, so importing this module costs nothing.
"""

from __future__ import annotations

from pathlib import Path

from regtui.config import ConfigError, RunConfig
from regtui.presets import Resolved
from regtui.sources import LiveSource


def _bad_input() -> tuple[type[BaseException], ...]:
    from regtui.train import RunDirError, SetupError

    return (SetupError, RunDirError, ConfigError)


def live_run(resolved: Resolved, runs_dir: Path, name: str | None = None,
             buffered: bool = True) -> LiveSource:
    """A new run, trained when the source's run() is called (on the caller's thread);
    buffered=False when only subscribers read it (headless)."""
    def launch(**kwargs):
        from regtui import train

        return train.start(resolved, runs_dir, name=name, **kwargs)

    return LiveSource(launch, _bad_input(), buffered)


def resumed_run(run_dir: Path, epochs: int | None = None, device: str | None = None,
                buffered: bool = True, notify: dict | None = None) -> LiveSource:
    """An interrupted run continued from its last.pt (see train.resume); `notify`: the
    [notify] settings of this process (--notify, --notify-command)."""
    def launch(on_created=None, **kwargs):
        from regtui import train

        if on_created:
            on_created(run_dir)
        return train.resume(run_dir, epochs=epochs, device=device, notify=notify, **kwargs)

    return LiveSource(launch, _bad_input(), buffered)


def accelerators() -> list[str]:
    """The CUDA devices (cuda:0, ...) and MPS this machine has, for a device list."""
    import torch

    devices = [f"cuda:{index}" for index in range(torch.cuda.device_count())]
    if torch.backends.mps.is_available():
        devices.append("mps")
    return devices


def augmentation_preview(config: RunConfig, count: int, roll: int):
    """`count` training images before and after the configured augmentation (roll picks
    the random draw): two uint8 arrays of shape (count, C, H, W), whether any
    augmentation is configured, and what fills the places images move away from
    (augment.fill, e.g. "reflection (auto for cifar10)"). Raises the data loader's error
    (a missing dataset)."""
    import torch

    from regtui.train import data as data_module
    from regtui.train.augment import Augmenter, describe_fill

    dataset = data_module.load(config.data, torch.device("cpu"))
    images = dataset.train.images[:count]
    # manual_seed takes 64 bits: a seed near the top of the range still re-rolls
    generator = torch.Generator().manual_seed((config.train.seed + roll) % 2 ** 64)
    augmenter = Augmenter(config.augment, generator, config.data.dataset)
    floats = augmenter.before_standardize(images.float() / 255.0)
    after = (floats * 255).round().clamp(0, 255).to(torch.uint8)
    fill = describe_fill(config.augment.fill, config.data.dataset)
    return images.numpy(), after.numpy(), augmenter.active, fill
