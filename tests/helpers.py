"""Helpers shared by the test files (fixtures are in conftest.py, the scripted event source
in scripted.py); test files never import each other.

Tests that drive real training never race it: a run is held after an epoch until the test
asks it to stop (`TrainingHold`, in this process or in a spawned `regtui run`), and waits
for the UI or a file have a deadline only so that a broken test fails instead of hanging.
"""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Sequence

import torch
from rich.console import Console

from regtui import presets
from regtui.control import Control
from regtui.events import Epoch, Event, read_events

# Small and fast: a 240-sample digits subset and a narrow MLP train in well under a second.
TINY = ["data.train_subset=240", "model.hidden=[32]", "train.batch_size=32"]

# The built-in presets the project promises (the README's preset table).
REQUIRED_PRESETS = ["baseline", "dropout", "l1", "l2", "elasticnet", "batchnorm", "gradclip",
                    "label-smoothing", "early-stopping", "xavier", "he", "orthogonal",
                    "bad-init", "augment-light", "augment-strong", "mixup", "cutmix",
                    "transfer"]

# A deadline that only turns a hang into a failure: nothing a test checks is timed by it.
HANG_SECONDS = 120.0

HELD_RUN_SCRIPT = Path(__file__).with_name("held_run.py")


def tiny(*assignments: str, preset_names: Sequence[str] = (), epochs: int = 1,
         seed: int = 0, device: str = "cpu") -> presets.Resolved:
    """A resolved config for a tiny run (on the CPU unless `device` says otherwise)."""
    flags = {"train": {"epochs": epochs, "seed": seed, "device": device}}
    return presets.resolve(preset_names, [*TINY, *assignments], flags)


def new_store(runs_dir: Path):
    """A fresh run directory's writer, for tests that build a Trainer by hand."""
    from regtui.rundir import RunStore

    return RunStore.create(runs_dir, "test", "")


class TrainingHold:
    """Wraps `train.start` so that every run it starts, once it has written epoch `epoch`,
    waits (between steps, training nothing) until its Control is asked to stop.

    A test can then press keys, send signals or kill the process while the run is certain
    to be alive, whatever the machine's speed; stopping (s, q then y, Ctrl-C) releases it.
    """

    def __init__(self, epoch: int = 1, give_up: Callable[[], bool] = lambda: False,
                 limit_seconds: float = 600.0) -> None:
        """give_up() and limit_seconds end a hold whose test is gone (it failed or crashed
        before stopping its run); the run is then stopped, never left training."""
        self.epoch = epoch
        self.give_up = give_up
        self.limit_seconds = limit_seconds
        self.reached = threading.Event()
        self.controls: list[Control] = []

    def wrap(self, start: Callable) -> Callable:
        def held_start(*args, listeners: Sequence[Callable[[Event], None]] = (),
                       control: Control | None = None, **kwargs):
            control = control or Control()
            self.controls.append(control)
            return start(*args, listeners=[*listeners, self._listener(control)],
                         control=control, **kwargs)
        return held_start

    def _listener(self, control: Control) -> Callable[[Event], None]:
        def hold(event: Event) -> None:
            if not (isinstance(event, Epoch) and event.epoch == self.epoch):
                return
            self.reached.set()
            deadline = time.monotonic() + self.limit_seconds
            # Polling (not an Event wait) lets a Ctrl-C handler run on this, the main, thread.
            while not control.stop_requested:
                if self.give_up() or time.monotonic() > deadline:
                    control.stop()
                    break
                time.sleep(0.01)
        return hold

    def release(self) -> None:
        """Stop every run that was held (a test that failed before stopping its own)."""
        for control in self.controls:
            control.stop()


def spawn_run(runs_dir: Path, *assignments: str, hold_at_epoch: int,
              epochs: int = 100) -> subprocess.Popen:
    """A real `regtui run --headless` in its own process (to kill, interrupt or watch), held
    after `hold_at_epoch` epochs until it is asked to stop (Ctrl-C, SIGTERM) or killed."""
    env = {**os.environ, "REGTUI_RUNS_DIR": str(runs_dir), "PYTHONUNBUFFERED": "1"}
    settings = [arg for a in [*TINY[:2], "train.batch_size=8", *assignments]
                for arg in ("--set", a)]
    command = [sys.executable, str(HELD_RUN_SCRIPT), str(hold_at_epoch), "run", "--headless",
               "--device", "cpu", *settings, "--epochs", str(epochs)]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def wait_for_epochs(runs_dir: Path, count: int, process: subprocess.Popen) -> Path:
    """The spawned run's directory, once it has written `count` epochs."""
    deadline = time.monotonic() + HANG_SECONDS
    while time.monotonic() < deadline:
        for events in runs_dir.glob("*/events.jsonl"):
            if sum(isinstance(e, Epoch) for e in read_events(events)) >= count:
                return events.parent
        assert process.poll() is None, process.stdout.read()
        time.sleep(0.05)
    raise AssertionError(f"the run wrote fewer than {count} epochs in {HANG_SECONDS:.0f} s")


def write_idx(path: Path, array: torch.Tensor) -> None:
    """The MNIST IDX format: magic (0, 0, uint8 type, ndim), big-endian dims, raw bytes."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    header += b"".join(struct.pack(">I", size) for size in array.shape)
    path.write_bytes(header + array.to(torch.uint8).numpy().tobytes())


def text_of(widget) -> str:
    """What a Static shows, as plain text."""
    console = Console(width=200, file=io.StringIO(), record=True)
    console.print(widget.content)
    return console.export_text()


async def wait_for(pilot, condition: Callable[[], object],
                   timeout: float = HANG_SECONDS) -> None:
    """Let the app work until condition() holds (the timeout only catches a hang)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the UI"
        await pilot.pause(0.05)


def modules_imported_by(code: str, roots: tuple[str, ...] = ("torch", "regtui")) -> list[str]:
    """The modules under `roots` that a fresh interpreter has imported after running `code`."""
    import subprocess
    import sys

    probe = (f"{code}\nimport sys\n"
             f"print(sorted(m for m in sys.modules if m.split('.')[0] in {roots!r}))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return eval(result.stdout.strip().splitlines()[-1])


def plant_pretrained_weights(monkeypatch, payload: bytes | None = None,
                             matching_hash: bool = True) -> Path:
    """Stand-in for the download: a file in this test's torch cache where regtui looks for
    resnet18's ImageNet weights (by default real resnet18 weights, randomly initialized).

    With matching_hash, the published URL is patched to carry this file's own SHA-256
    prefix (as torchvision's real name carries the real file's), so the hash check passes;
    without, the file sits under the real name and its hash does not match."""
    import hashlib
    import io

    from torchvision.models import resnet18

    from regtui.train import models

    if payload is None:
        buffer = io.BytesIO()
        torch.save(resnet18().state_dict(), buffer)
        payload = buffer.getvalue()
    if matching_hash:
        prefix = hashlib.sha256(payload).hexdigest()[:8]
        url = f"https://download.pytorch.org/models/resnet18-{prefix}.pth"
        monkeypatch.setattr(models, "pretrained_weights_url", lambda: url)
    path = models.pretrained_weights_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload)
    return path


def last_event_of_the_run(runs_dir: Path) -> Event:
    """The last event of the one run in `runs_dir` (a test that started exactly one)."""
    (run_dir,) = runs_dir.iterdir()
    return read_events(run_dir / "events.jsonl")[-1]
