"""L1000 and S100k: regtui reading run directories at the scale the house must hold.

L1000  list 1,000 finished runs of 200 epochs, as `regtui runs` and the Runs screen do:
       the seconds of list_runs. Goal: under 1 s.
S100k  open one run of 100,000 epochs (and S100K_STEPS step events) as `show` and the
       monitor do, in a fresh process: its summary and the series the monitor draws;
       the seconds, and how much the process's peak memory grew. Goal: within 2 s.

The runs are synthetic but real: regtui's RunStore writes them event by event as the
trainer does (run_started with a digits cnn's config, env, model and data; per epoch the
step events and an epoch event with its extras; one alert; run_finished with a confusion
matrix and sample images; summary.json as the store keeps it). No checkpoint files.
"""

from __future__ import annotations

import base64
import math
import random
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from regtui import config as config_module
from regtui.events import Alert, Epoch, RunFinished, RunStarted, Step
from regtui.sources import ReplaySource
from regtui.tui.state import RunState
from regtui.rundir import RunStore, list_runs

L1000_RUNS = 1_000
L1000_EPOCHS = 200
S100K_EPOCHS = 100_000
S100K_STEPS = 100_000  # the scale is 1,000,000: `regtui bench --steps 1000000`
LABELS = ("baseline", "dropout", "l2", "augment-light", "he+dropout")
STATUSES = ("completed", "completed", "completed", "stopped")
MONITOR_SERIES = ("train_loss", "val_loss", "train_acc", "val_acc", "lr", "grad_norm")
_LAYERS = ("0.weight", "3.weight", "7.weight", "9.weight")
_STEPS_PER_EPOCH = 17  # a digits cnn at batch 64; one step event every 20 steps


# ---------------------------------------------------------------- writing runs

def synthetic_runs(runs_dir: Path, count: int = L1000_RUNS,
                   epochs: int = L1000_EPOCHS) -> Path:
    """`count` finished runs of `epochs` epochs each (one step event per epoch, as a
    digits run logs them) under runs_dir; the labels and statuses vary."""
    for index in range(count):
        write_run(runs_dir, epochs, steps=epochs, label=LABELS[index % len(LABELS)],
                  status=STATUSES[index % len(STATUSES)], seed=index)
    return runs_dir


def write_run(runs_dir: Path, epochs: int, steps: int = 0, label: str = "baseline",
              status: str = "completed", seed: int = 0) -> Path:
    """One finished run with `epochs` epoch events and `steps` step events spread over
    them, written by RunStore; returns its directory."""
    rng = random.Random(seed)
    config = config_module.build(config_module.check_layer(
        {"model": {"name": "cnn"}, "train": {"epochs": epochs, "device": "cpu"}}, "bench"))
    clock = time.time() - epochs * 0.2
    with RunStore.create(runs_dir, label, config_module.to_toml(config)) as store:
        store.write(RunStarted(t=clock, run_id=store.run_id,
                               presets=[] if label == "baseline" else label.split("+"),
                               config=config_module.to_dict(config), **_started_fields()))
        best: Epoch | None = None
        steps_written = 0
        for number in range(1, epochs + 1):
            clock += 0.2
            while steps_written < steps * number // epochs:
                steps_written += 1
                store.write(Step(t=clock, epoch=number, step=steps_written * 20,
                                 loss=rng.uniform(0.05, 2.3), lr=1e-3,
                                 grad_norm=rng.uniform(0.1, 2.0)))
            epoch = _epoch(number, epochs, clock, rng)
            store.write(epoch)
            best = epoch if best is None or epoch.val_acc > best.val_acc else best
            if number == max(1, epochs // 2):
                store.write(_alert(number, clock))
        store.write(_finished(status, best, clock, rng))
    return store.path


def _started_fields() -> dict[str, Any]:
    return {"env": {"torch": "synthetic", "python": sys.version.split()[0], "device": "cpu",
                    "device_name": "x86_64", "threads": 2},
            "model": {"params": 56_714, "trainable": 56_714,
                      "layers": ["0: Conv2d (320)", "1: ReLU", "2: MaxPool2d", "3: Conv2d (9,248)",
                                 "4: ReLU", "5: MaxPool2d", "6: Flatten", "7: Linear (16,448)",
                                 "8: ReLU", "9: Linear (1,290)"]},
            "data": {"name": "digits", "shape": [1, 8, 8], "classes": 10, "train": 1078,
                     "val": 360, "test": 359, "warnings": [],
                     "steps_per_epoch": _STEPS_PER_EPOCH}}


def _epoch(number: int, epochs: int, clock: float, rng: random.Random) -> Epoch:
    """Curves of a model that learns, then starts to overfit past the middle."""
    progress = number / epochs
    train_loss = 2.3 * math.exp(-6 * progress) + 0.02 + rng.uniform(0, 0.01)
    val_loss = 2.3 * math.exp(-5 * progress) + 0.08 + 0.2 * max(0.0, progress - 0.5) \
        + rng.uniform(0, 0.02)
    return Epoch(t=clock, epoch=number, train_loss=train_loss,
                 train_acc=min(1.0, 1.02 - train_loss / 2.3), val_loss=val_loss,
                 val_acc=min(1.0, 0.98 - val_loss / 2.5), lr=1e-3,
                 grad_norm=rng.uniform(0.1, 2.0), seconds=rng.uniform(0.15, 0.25),
                 samples_per_s=rng.uniform(4_000, 6_000),
                 extras={"weight_norm": 11 + progress, "sparsity": rng.uniform(0.01, 0.02),
                         "layer_grad_norms": {name: rng.uniform(0.1, 0.5) for name in _LAYERS}})


def _alert(number: int, clock: float) -> Alert:
    return Alert(t=clock, epoch=number, kind="overfitting", level="warning",
                 message="val loss has risen for 3 epochs while train loss falls",
                 suggest=["dropout", "l2", "augment-light"], onset_epoch=number - 3,
                 evidence={"best_val_loss": 0.1, "val_loss": 0.12})


def _finished(status: str, best: Epoch | None, clock: float, rng: random.Random) -> RunFinished:
    labels = [rng.randrange(10) for _ in range(12)]
    pixels = [base64.b64encode(rng.randbytes(64)).decode("ascii") for _ in labels]
    confusion = [[36 if row == col else rng.randrange(2) for col in range(10)]
                 for row in range(10)]
    return RunFinished(t=clock + 0.1, status=status,
                       reason="stopped by user" if status == "stopped" else "",
                       best_epoch=best.epoch if best else None,
                       best_val_acc=best.val_acc if best else None,
                       test_acc=best.val_acc - 0.01 if best else None, test_loss=0.1,
                       confusion_matrix=confusion, classes=[str(i) for i in range(10)],
                       samples={"shape": [1, 8, 8], "pixels": pixels, "labels": labels,
                                "predictions": labels})


# ---------------------------------------------------------------- reading them

def time_listing(runs_dir: Path, expected: int) -> float:
    """Seconds of list_runs(runs_dir), checked to have read all `expected` runs."""
    started = time.perf_counter()
    records = list_runs(runs_dir)
    seconds = time.perf_counter() - started
    if len(records) != expected:
        raise RuntimeError(f"list_runs read {len(records)} runs of {expected} in {runs_dir}")
    return seconds


def open_run(run_dir: Path) -> tuple[dict[str, Any], dict[str, tuple[list, list]]]:
    """What `show` does to open a run: its source read to the end and folded into the
    monitor's state (in the batches the monitor polls), then the summary and the series
    the plots draw (downsampled, as the monitor draws them)."""
    source = ReplaySource.from_dir(run_dir)
    state = RunState()
    while True:  # as the monitor polls, without its pauses
        events = source.poll()
        for event in events:
            state.add(event)
        if not events and source.wait_until_read(0.005) and not source.pending():
            break
    series = {key: state.epochs.downsampled(key) for key in MONITOR_SERIES}
    return state.summary.to_dict(), series


def measure_open(run_dir: Path) -> tuple[float, int]:
    """(seconds, bytes) of open_run: its wall time and how much it raised the process's
    peak resident memory (meaningful in a fresh process, where nothing raised it yet)."""
    before = _peak_rss()
    started = time.perf_counter()
    opened = open_run(run_dir)
    seconds = time.perf_counter() - started
    grown = _peak_rss() - before
    del opened
    return seconds, grown


def measure_open_in_a_fresh_process(run_dir: Path) -> tuple[float, int]:
    """measure_open in a process of its own (`python -m regtui.bench open RUN_DIR`), as
    `regtui show` opens a run: the bench's own heap neither helps nor hides its memory."""
    result = subprocess.run([sys.executable, "-m", "regtui.bench", "open", str(run_dir)],
                            capture_output=True, text=True, check=True)
    seconds, grown = result.stdout.split()[-2:]
    return float(seconds), int(grown)


def _peak_rss() -> int:
    """The process's peak resident memory in bytes.

    Linux: VmHWM, the peak of this program's own memory. Not ru_maxrss there: a process
    started from a large one (the bench, after writing its runs) inherits the parent's
    peak through fork and exec, and would show no growth at all.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024  # kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, else KiB
