"""Shared fixtures: every test gets its own runs dir, config home and torch cache.

Helpers that tests call (tiny configs, spawned runs, waits) are in helpers.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from helpers import TrainingHold


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("REGTUI_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    return tmp_path / "runs"


@pytest.fixture
def held_training(monkeypatch: pytest.MonkeyPatch) -> Iterator[TrainingHold]:
    """Runs started in this test (regtui.train.start) hold after their first epoch until
    their Control is asked to stop; whatever the test left held is stopped at the end."""
    from regtui import train

    hold = TrainingHold(epoch=1, give_up=_textual_worker_cancelled)
    monkeypatch.setattr(train, "start", hold.wrap(train.start))
    yield hold
    hold.release()


def _textual_worker_cancelled() -> bool:
    """The App that trains on this thread has exited (a test failed while its run was held):
    without this, the event loop's shutdown would wait for the held thread."""
    from textual.worker import NoActiveWorker, get_current_worker

    try:
        return get_current_worker().is_cancelled
    except NoActiveWorker:
        return False
