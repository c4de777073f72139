"""Checkpoints: the training state kept in memory at every epoch, written at most every
train.checkpoint_seconds through the run's store, and read back to resume.

Files hold plain state dicts (tensors, numbers, strings) and load with
torch.load(..., weights_only=True).
"""

from __future__ import annotations

import io
import json
import time
import warnings
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor

from regtui.events import Checkpoint, Event
from regtui.rundir import BEST_CHECKPOINT, LAST_CHECKPOINT, RunStore


def clone_tree(obj):
    """Copy the tensors of nested dicts and lists (much faster than copy.deepcopy)."""
    if isinstance(obj, Tensor):
        return obj.detach().clone()
    if isinstance(obj, dict):
        return {key: clone_tree(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        if not any(isinstance(value, (Tensor, dict, list, tuple)) for value in obj):
            return type(obj)(obj)  # plain values (Python's RNG state): one shallow copy
        return type(obj)(clone_tree(value) for value in obj)
    return obj


def serialize(obj: object) -> memoryview:
    """torch.save into memory: one write of the finished buffer costs less than torch.save
    to a path, which writes record by record."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getbuffer()


def load(path: Path, device: torch.device) -> dict:
    """A checkpoint file, tensors mapped to `device` (weights_only: no code runs).

    Raises whatever torch raises for a damaged file (UnpicklingError, RuntimeError,
    EOFError, ...), and TypeError when it holds something other than a dict."""
    with warnings.catch_warnings():  # torch warns about foreign pickles before refusing them
        warnings.simplefilter("ignore")
        state = torch.load(path, map_location=device, weights_only=True)
    if not isinstance(state, dict):
        raise TypeError(f"it holds a {type(state).__name__}, not a dict of state")
    return state


def first_line(error: BaseException, limit: int = 200) -> str:
    """An exception as one short line: torch's messages run over many lines ("Error(s) in
    loading state_dict for Sequential:\n\tsize mismatch for ...")."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = " ".join(lines[:2]) if lines and lines[0].endswith(":") else (lines[0] if lines else "")
    text = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return text if len(text) <= limit else text[:limit - 1] + "…"


class Checkpointer:
    """Holds the state of the last finished epoch and the best model; writes them when due.

    Writing (serializing) a checkpoint costs milliseconds, which is several percent of a
    short epoch, so files are written at most every `every_seconds` of the run (and
    whenever it ends). A kill -9 loses at most that much training; every finished epoch
    is in events.jsonl regardless."""

    def __init__(self, store: RunStore, emit: Callable[[Event], None],
                 every_seconds: float) -> None:
        self.store = store
        self.emit = emit
        self.every_seconds = every_seconds
        self.best_state: dict[str, Tensor] | None = None
        self.best_epoch: int | None = None
        self._best_unsaved = False
        self._pending: dict | None = None
        self._last_write = time.perf_counter()

    def restart_clock(self) -> None:
        self._last_write = time.perf_counter()

    def keep(self, snapshot: dict, model_state: dict[str, Tensor] | None,
             best_epoch: int | None) -> None:
        """Keep this epoch's snapshot (and, when it improved, a copy of the model)."""
        if model_state is not None:
            self.best_state = clone_tree(model_state)
            self.best_epoch = best_epoch
            self._best_unsaved = True
        self._pending = snapshot
        if time.perf_counter() - self._last_write >= self.every_seconds:
            self.write()

    def write(self) -> None:
        """Write the state kept at the last finished epoch (and best.pt if it changed)."""
        if self._pending is None:
            return
        epoch = self._pending["epoch"]
        if self._best_unsaved and self.best_state is not None:
            self.store.write_file(BEST_CHECKPOINT, serialize(self.best_state))
            self.emit(Checkpoint(epoch=self.best_epoch or epoch, path=BEST_CHECKPOINT,
                                 best=True))
            self._best_unsaved = False
        # The diagnoser's state as one JSON string: one object for torch.save to pickle.
        diagnoser = json.dumps(self._pending["diagnoser"])
        self.store.write_file(LAST_CHECKPOINT, serialize({**self._pending,
                                                          "diagnoser": diagnoser}))
        self.emit(Checkpoint(epoch=epoch, path=LAST_CHECKPOINT, best=False))
        self._pending = None
        self._last_write = time.perf_counter()

    def write_quietly(self) -> None:
        """After a failure: keep what can be kept, without hiding the original error."""
        try:
            self.write()
        except Exception:  # noqa: BLE001 - the run's own error is what gets reported
            pass

    def load_best(self, device: torch.device) -> None:
        path = self.store.path / BEST_CHECKPOINT
        if path.is_file():
            self.best_state = load(path, device)
