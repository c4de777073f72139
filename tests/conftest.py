"""Shared fixtures: every test gets its own runs dir, config home and torch cache."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pytest

from regtui import presets

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
         seed: int = 0) -> presets.Resolved:
    """A resolved config for a tiny CPU run."""
    flags = {"train": {"epochs": epochs, "seed": seed, "device": "cpu"}}
    return presets.resolve(preset_names, [*TINY, *assignments], flags)
