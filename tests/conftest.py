"""Shared fixtures: every test gets its own runs dir, config home and torch cache."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

import pytest
import torch

from regtui import presets
from regtui.events import Epoch, read_events

# Small and fast: a 240-sample digits subset and a narrow MLP train in well under a second.
TINY = ["data.train_subset=240", "model.hidden=[32]", "train.batch_size=32"]


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("REGTUI_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    return tmp_path / "runs"


def tiny(*assignments: str, preset_names: Sequence[str] = (), epochs: int = 1,
         seed: int = 0, device: str = "cpu") -> presets.Resolved:
    """A resolved config for a tiny run (on the CPU unless `device` says otherwise)."""
    flags = {"train": {"epochs": epochs, "seed": seed, "device": device}}
    return presets.resolve(preset_names, [*TINY, *assignments], flags)


def new_store(runs_dir: Path):
    """A fresh run directory's writer, for tests that build a Trainer by hand."""
    from regtui.rundir import RunStore

    return RunStore.create(runs_dir, "test", "")


def spawn_run(runs_dir: Path, epochs: int, *assignments: str) -> subprocess.Popen:
    """A real `regtui run` in its own process (to kill, interrupt or watch)."""
    env = {**os.environ, "REGTUI_RUNS_DIR": str(runs_dir), "PYTHONUNBUFFERED": "1"}
    settings = [arg for a in [*TINY[:2], "train.batch_size=8", *assignments]
                for arg in ("--set", a)]
    command = [sys.executable, "-m", "regtui.cli", "run", "--headless", "--device", "cpu",
               *settings, "--epochs", str(epochs)]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def wait_for_epochs(runs_dir: Path, count: int, process: subprocess.Popen) -> Path:
    """The spawned run's directory, once it has written `count` epochs."""
    deadline = time.time() + 120
    while time.time() < deadline:
        for events in runs_dir.glob("*/events.jsonl"):
            if sum(isinstance(e, Epoch) for e in read_events(events)) >= count:
                return events.parent
        assert process.poll() is None, process.stdout.read()
        time.sleep(0.05)
    raise AssertionError("the run did not reach its epochs in time")


def write_idx(path: Path, array: torch.Tensor) -> None:
    """The MNIST IDX format: magic (0, 0, uint8 type, ndim), big-endian dims, raw bytes."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    header += b"".join(struct.pack(">I", size) for size in array.shape)
    path.write_bytes(header + array.to(torch.uint8).numpy().tobytes())


def plant_pretrained_weights(monkeypatch: pytest.MonkeyPatch, payload: bytes | None = None,
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
