"""The trainer's whole state as a checkpoint holds it, and back: what a resume restores.

capture() copies the state at the end of an epoch (the copy later training leaves alone);
load_into() puts a run's last.pt (and best.pt) back into a freshly built trainer.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import torch

from regtui.rundir import BEST_CHECKPOINT, LAST_CHECKPOINT, RunDirError
from regtui.train import checkpoint
from regtui.train.checkpoint import clone_tree

if TYPE_CHECKING:
    from regtui.train.loop import Trainer


def _state(trainer: Trainer) -> dict:
    return {
        "epoch": trainer.epoch,
        "global_step": trainer.global_step,
        "model": trainer.model.state_dict(),
        "optimizer": trainer.optimizer.state_dict(),
        "scheduler": trainer.scheduler.state_dict() if trainer.scheduler else {},
        "rng_torch": torch.get_rng_state(),
        "rng_cuda": torch.cuda.get_rng_state(trainer.device) if trainer.device.type == "cuda"
        else torch.empty(0, dtype=torch.uint8),
        "rng_data": trainer.generator.get_state(),
        "mixer": trainer.mixer.state_dict(),
        "early_stopping": trainer.early_stopping.state_dict(),
        "best_epoch": trainer.best_epoch,
        "best_val_acc": trainer.best_val_acc,
    }


def capture(trainer: Trainer) -> dict:
    """A copy of the trainer's state now, which later training leaves alone."""
    state = clone_tree(_state(trainer))
    # Not walked by clone_tree: its history grows with the run and is a copy already.
    state["diagnoser"] = trainer.diagnoser.state_dict() if trainer.diagnoser else {}
    state["ending"] = list(trainer.ending) if trainer.ending else None
    return state


def load_into(trainer: Trainer) -> None:
    """Continue from the run's last.pt (and best.pt). Raises RunDirError, in one line,
    for a file that is not a readable checkpoint (empty, truncated, foreign bytes) or
    does not fit this run (another model)."""
    try:
        state = checkpoint.load(trainer.store.path / LAST_CHECKPOINT, trainer.device)
    except Exception as error:  # torch raises many kinds for a damaged file
        raise RunDirError(f"{LAST_CHECKPOINT} is not a checkpoint regtui can read (empty, "
                          f"truncated or damaged): {checkpoint.first_line(error)}") from None
    try:
        _restore(trainer, state)
    except Exception as error:
        raise RunDirError(f"{LAST_CHECKPOINT} does not fit this run's model and settings: "
                          f"{checkpoint.first_line(error)}") from None
    try:
        trainer.checkpoints.load_best(trainer.device)
    except Exception as error:
        raise RunDirError(f"{BEST_CHECKPOINT} is not a checkpoint regtui can read: "
                          f"{checkpoint.first_line(error)}") from None


def _restore(trainer: Trainer, state: dict) -> None:
    trainer.model.load_state_dict(state["model"])
    trainer.optimizer.load_state_dict(state["optimizer"])
    if trainer.scheduler and state["scheduler"]:
        trainer.scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng_torch"].cpu())
    if trainer.device.type == "cuda" and state["rng_cuda"].numel():
        torch.cuda.set_rng_state(state["rng_cuda"].cpu(), trainer.device)
    # Generator states are CPU byte tensors whatever the generator's device.
    trainer.generator.set_state(state["rng_data"].cpu())
    trainer.mixer.load_state_dict(state["mixer"])
    trainer.early_stopping.load_state_dict(state["early_stopping"])
    trainer.epoch, trainer.global_step = state["epoch"], state["global_step"]
    trainer.best_epoch, trainer.best_val_acc = state["best_epoch"], state["best_val_acc"]
    if trainer.diagnoser:  # the detectors go on where they were: history, what has fired
        trainer.diagnoser.load_state_dict(json.loads(state["diagnoser"]))
    ending = state.get("ending")
    trainer.ending = (str(ending[0]), str(ending[1])) if ending else None
