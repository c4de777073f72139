"""regtui's side of the training workloads: the Trainer as `regtui run` sets it up (a real
run store, the alerts' diagnoser), timed; and W2's two ways of watching it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Callable

import torch

from regtui import config as config_module
from regtui.config import RunConfig
from regtui.control import Control
from regtui.events import Epoch, Event
from regtui.presets import Resolved
from regtui.rundir import RunStore
from regtui.train.loop import Trainer
from regtui.train.setup import Prepared, prepare

W1_AUGMENT = {"hflip": 0.5, "rotation": 10.0, "shear": 10.0, "scale": [0.8, 1.2]}


def bench_config(device: str, augment: bool = False, epochs: int = 10) -> RunConfig:
    """W0-W2's run: digits, cnn, batch 32, Adam 1e-3 (W1: with W1_AUGMENT)."""
    layer = {"model": {"name": "cnn"},
             "train": {"batch_size": 32, "lr": 1e-3, "optimizer": "adam", "epochs": epochs,
                       "device": device, "log_every": 20},
             "augment": W1_AUGMENT if augment else {}}
    return config_module.build(config_module.check_layer(layer, "bench"))


def regtui_trainer(prepared: Prepared, store: RunStore, emit: Callable[[Event], None],
                   control: Control | None = None) -> Trainer:
    """regtui's Trainer as `regtui run --headless` sets it up: writing into a real run
    store (emit is expected to call store.write) and with the alerts' diagnoser."""
    from regtui.train import diagnoser_for

    diagnoser = diagnoser_for(prepared.config, (), prepared.dataset.num_classes)
    return Trainer(prepared, store, emit, control, diagnoser)


def run_regtui(config: RunConfig, runs_dir: Path) -> float:
    """Wall seconds of Trainer.run with a real run store and the alerts."""
    prepared = prepare(config)
    with RunStore.create(runs_dir, "bench", config_module.to_toml(config)) as store:
        trainer = regtui_trainer(prepared, store, store.write)
        started = time.perf_counter()
        trainer.run(store.run_id)
        sync(prepared.device)
        return time.perf_counter() - started


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


def epochs_with_monitor(config: RunConfig, runs_dir: Path) -> float:
    """Seconds spent in epochs with the monitor attached to the run's events (a headless
    Textual app: it draws every frame as it would on a terminal, into no terminal)."""
    return monitor_costs(config, runs_dir)[0]


def monitor_costs(config: RunConfig, runs_dir: Path) -> tuple[float, float]:
    """(seconds spent in epochs, the UI thread's CPU seconds per training second) with the
    monitor attached, its plots at their dearest: log-y and smoothing on.

    The second number is a CPU time, not a difference of two noisy wall times: it tells
    a monitor that costs 3% from one that costs 2% in a single run."""
    from regtui.engine import live_run
    from regtui.tui.app import RegtuiApp
    from regtui.tui.widgets.metric_plot import PlotOptions

    app = RegtuiApp(runs_dir, source=live_run(Resolved(config, ()), runs_dir))
    app.plot_options = PlotOptions(log_y=True, smoothing=0.6)
    app.quit_when_done = True  # exit as soon as the run has finished
    asyncio.run(app.run_async(headless=True, size=(120, 36)))
    return sum(app.monitor.state.epochs.columns["seconds"]), app.ui_cpu_share or 0.0


def epochs_headless(config: RunConfig, runs_dir: Path) -> float:
    """Seconds spent in epochs without a UI (the same measure as epochs_with_monitor)."""
    from regtui import train

    seconds: list[float] = []
    train.start(Resolved(config, ()), runs_dir,
                listeners=[lambda e: seconds.append(e.seconds) if e.type == "epoch" else None])
    return sum(seconds)


def sync(device: torch.device) -> None:
    """Wait for the device's queued work, so that a wall time covers it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
