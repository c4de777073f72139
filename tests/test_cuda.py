"""The CUDA path: bf16 autocast, channels_last, no host sync per step, exact resume.

These run only where a CUDA device is present (CI's machines have none; the README says
where they last ran).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import traceback
import warnings
from pathlib import Path

import pytest
import torch

from helpers import new_store, tiny
from regtui import train
from regtui.control import Control
from regtui.events import Epoch, read_events
from regtui.train.loop import Trainer
from regtui.train.setup import prepare

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

CNN = ("model.name=cnn", "train.log_every=1000")


def syncs_during(action) -> tuple[object, list[str]]:
    """action()'s result and the call stack of each time it made the host wait for the GPU."""
    stacks = []

    def record(message, category, filename, lineno, file=None, line=None) -> None:
        if "called a synchronizing" in str(message):
            stacks.append("".join(traceback.format_stack(limit=6)[:-1]))

    torch.cuda.synchronize()
    previous = torch.cuda.get_sync_debug_mode()
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = record
        torch.cuda.set_sync_debug_mode("warn")
        try:
            result = action()
        finally:
            torch.cuda.set_sync_debug_mode(previous)
    return result, stacks


@pytest.mark.parametrize("presets", [[], ["dropout"], ["augment-strong"], ["gradclip"],
                                     ["mixup"], ["cutmix"], ["label-smoothing", "l2"],
                                     ["batchnorm", "elasticnet"]])
def test_a_training_epoch_waits_for_the_gpu_only_at_its_end(presets, runs_dir: Path) -> None:
    prepared = prepare(tiny(*CNN, preset_names=presets, device="cuda").config)
    trainer = Trainer(prepared, new_store(runs_dir), emit=lambda event: None)
    trainer.epoch = 1
    trainer._train_epoch()  # warm-up: cuDNN's algorithm search and lazy inits may sync
    result, syncs = syncs_during(trainer._train_epoch)
    assert trainer.steps_per_epoch == 8
    assert len(syncs) <= 2, "\n".join(syncs)  # the epoch totals and the layer norms
    assert math.isfinite(result["loss"])


def test_amp_on_trains_in_bf16_with_channels_last(runs_dir: Path) -> None:
    prepared = prepare(tiny(*CNN, "train.amp=on", device="cuda").config)
    trainer = Trainer(prepared, new_store(runs_dir), emit=lambda event: None)
    conv = next(m for m in trainer.model.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    split = prepared.dataset.train
    batch = trainer._batch(split, slice(0, 32))
    assert batch.is_cuda and batch.is_contiguous(memory_format=torch.channels_last)
    loss, logits, _ = trainer._forward(batch, split.labels[:32])
    assert logits.dtype == torch.bfloat16 and loss.dtype == torch.float32


@pytest.mark.parametrize("optimizer", ["adam", "adamw"])
def test_adam_runs_fused_on_cuda(optimizer: str, runs_dir: Path) -> None:
    prepared = prepare(tiny(*CNN, f"train.optimizer={optimizer}", device="cuda").config)
    trainer = Trainer(prepared, new_store(runs_dir), emit=lambda event: None)
    assert trainer.optimizer.defaults["fused"]
    trainer.epoch = 1
    assert math.isfinite(trainer._train_epoch()["loss"])


def test_amp_auto_keeps_a_small_model_in_fp32(runs_dir: Path) -> None:
    prepared = prepare(tiny(*CNN, device="cuda").config)
    trainer = Trainer(prepared, new_store(runs_dir), emit=lambda event: None)
    assert not trainer.use_amp
    split = prepared.dataset.train
    _, logits, _ = trainer._forward(trainer._batch(split, slice(0, 32)), split.labels[:32])
    assert logits.dtype == torch.float32
    assert trainer.started_event("x").env["precision"] == "fp32 (amp=auto)"


def test_a_cuda_run_completes_and_names_the_gpu(runs_dir: Path) -> None:
    seen = []
    run_dir, finished = train.start(tiny(*CNN, epochs=2, device="cuda"), runs_dir,
                                    listeners=[seen.append])
    assert finished.status == "completed", finished.error
    assert finished.test_acc is not None and finished.test_acc > 0.5
    started = next(e for e in read_events(run_dir / "events.jsonl") if e.type == "run_started")
    assert started.env["device"].startswith("cuda")
    assert started.env["device_name"] == torch.cuda.get_device_name(0)
    state = torch.load(run_dir / "last.pt", weights_only=True)
    assert state["rng_cuda"].numel() > 0


def test_a_cuda_run_resumes_where_it_stopped(runs_dir: Path) -> None:
    # dropout, augmentation and mixup draw from the CUDA generator: the resumed run must
    # continue its stream. An MLP keeps cuDNN's algorithm choice out of the comparison.
    assignments = ("model.dropout=0.2", "augment.rotation=10", "regularization.mixup_alpha=0.2")
    seen = []
    train.start(tiny(*assignments, epochs=4, device="cuda"), runs_dir, listeners=[seen.append])
    unbroken = [e for e in seen if isinstance(e, Epoch)]
    control = Control()

    def stop_after_two(event) -> None:
        if isinstance(event, Epoch) and event.epoch == 2:
            control.stop("interrupted")

    run_dir, finished = train.start(tiny(*assignments, epochs=4, device="cuda"), runs_dir,
                                    listeners=[stop_after_two], control=control)
    assert finished.status == "interrupted"
    resumed = []
    train.resume(run_dir, listeners=[resumed.append])
    again = [e for e in resumed if isinstance(e, Epoch)]
    assert [e.epoch for e in again] == [3, 4]
    assert [e.train_loss for e in again] == pytest.approx([e.train_loss for e in unbroken[2:]],
                                                          rel=1e-5)


def test_regtui_run_on_cuda_from_the_command_line(runs_dir: Path) -> None:
    env = {**os.environ, "REGTUI_RUNS_DIR": str(runs_dir)}
    done = subprocess.run([sys.executable, "-m", "regtui.cli", "run", "--headless",
                           "--preset", "dropout", "--device", "cuda", "--epochs", "2"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    header = " ".join((done.stdout + done.stderr).split())  # however rich wrapped it
    assert torch.cuda.get_device_name(0) in header and "fp32 (amp=auto)" in header
