"""What `run.log` costs a training loop: a user-style loop with and without it.

The workload (for `regtui bench`): digits, regtui's cnn, batch 32, Adam 1e-3, on `device`;
a loop written the way a user writes one (index batches of in-memory tensors, loss and
accuracy accumulated on the device, validation every epoch, the epoch's numbers read
once). The logged loop adds `run.log({"train/loss": loss, "lr": lr}, step=step)` on every
step (the loss a device tensor: no sync of its own; one step in log_every is written) and
one `run.log({...}, epoch=epoch)` per epoch, into a real run directory with the detectors
on. The two loops take turns, each going first in half of the repeats; each figure is
the median over repeats. Goal: with / without <= 1.01.

    regtui bench -w A1                     # pairs interleaved with the other workloads
    python -m regtui.bench.api_log --epochs 20 --repeats 16 --threads 1
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

import torch
import torch.nn.functional as F

from regtui import config as config_module
from regtui.train.setup import Prepared, prepare

BATCH = 32


def workload(device: str = "cpu") -> Prepared:
    """Digits and regtui's cnn, as `regtui bench` sets them up."""
    layer = {"model": {"name": "cnn"},
             "train": {"batch_size": BATCH, "lr": 1e-3, "optimizer": "adam",
                       "device": device, "amp": "off"}}
    return prepare(config_module.build(config_module.check_layer(layer, "cost")))


def user_loop(prepared: Prepared, epochs: int, run: Any = None, seed: int = 0
              ) -> Iterator[float]:
    """Train a fresh copy of the model; yields each epoch's wall seconds. `run`: a regtui
    Run to log into (None: the same loop without logging)."""
    torch.manual_seed(seed)
    data, device = prepared.dataset, prepared.device
    model = copy.deepcopy(prepared.model)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    lr = optimizer.param_groups[0]["lr"]
    train, val = data.train, data.val
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    generator = torch.Generator(device=device).manual_seed(seed)
    step = 0
    for epoch in range(1, epochs + 1):
        sync()
        start = time.perf_counter()
        model.train()
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        order = torch.randperm(len(train), device=device, generator=generator)
        for begin in range(0, len(order), BATCH):
            index = order[begin:begin + BATCH]
            images, labels = data.normalize(train.images[index]), train.labels[index]
            logits = model(images)
            loss = F.cross_entropy(logits, labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            if run is not None:
                run.log({"train/loss": loss, "lr": lr}, step=step)
            loss_sum += loss.detach() * len(index)
            correct += (logits.argmax(1) == labels).sum()
        model.eval()
        with torch.no_grad():
            logits = model(data.normalize(val.images))
            val_loss = F.cross_entropy(logits, val.labels)
            val_acc = (logits.argmax(1) == val.labels).float().mean()
        numbers = torch.stack([loss_sum / len(order), correct / len(order), val_loss,
                               val_acc]).tolist()  # the epoch's one read-back, in both loops
        if run is not None:
            run.log(dict(zip(("train/loss", "train/acc", "val/loss", "val/acc"), numbers),
                         lr=lr), epoch=epoch)
        sync()
        yield time.perf_counter() - start


def pair(epochs: int, device: str, runs_dir: Path, index: int) -> tuple[float, float]:
    """One `regtui bench -w A1` pair: (with run.log, without) seconds, the logged loop
    taking the first turn of each epoch in even pairs."""
    return measure(epochs, repeats=1, device=device, runs_dir=runs_dir, first=index % 2)


def measure(epochs: int = 5, repeats: int = 4, device: str = "cpu",
            runs_dir: Path | None = None, threads: int | None = None,
            first: int = 0) -> tuple[float, float]:
    """(with_log_seconds, without_seconds): the median over `repeats` of each loop's time
    for `epochs` epochs, the two loops taking turns epoch by epoch (each first in half of
    the repeats), so that a machine's changing load falls on both alike. threads: torch's
    CPU threads for the measurement (default: as set); on a shared machine 1 keeps
    spinning worker threads from swamping a 0.1% effect."""
    from regtui.api import init

    if threads is not None:
        torch.set_num_threads(threads)
    prepared = workload(device)
    for _ in user_loop(prepared, 1):  # warm-up: first-call costs belong to neither
        pass
    logged: list[float] = []
    bare: list[float] = []
    with tempfile.TemporaryDirectory() as scratch:
        for repeat in range(repeats):
            with init(name="cost", runs_dir=runs_dir or Path(scratch), num_classes=10,
                      epochs=epochs, print_alerts=False) as run:
                loops = {"log": user_loop(prepared, epochs, run, seed=repeat),
                         "bare": user_loop(prepared, epochs, seed=repeat)}
                totals = {"log": 0.0, "bare": 0.0}
                turn = ("log", "bare") if (repeat + first) % 2 == 0 else ("bare", "log")
                for _ in range(epochs):
                    for kind in turn:
                        totals[kind] += next(loops[kind])
            logged.append(totals["log"])
            bare.append(totals["bare"])
    return statistics.median(logged), statistics.median(bare)


def call_cost(calls: int = 200_000, log_every: int = 50) -> tuple[float, float]:
    """(microseconds per run.log step call on average, of which a skipped call), logging a
    0-d CPU tensor every call into a real run (one in `log_every` written)."""
    from regtui.api import init

    value = torch.tensor(0.5)
    with tempfile.TemporaryDirectory() as scratch:
        with init(name="cost", runs_dir=scratch, log_every=log_every, print_alerts=False) as run:
            start = time.perf_counter()
            for step in range(1, calls + 1):
                run.log({"train/loss": value}, step=step)
            average = (time.perf_counter() - start) / calls * 1e6
            start = time.perf_counter()
            for _ in range(calls // 10):
                run.log({"train/loss": value}, step=step)  # never due: the skip path
            skipped = (time.perf_counter() - start) / (calls // 10) * 1e6
    return average, skipped


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="What run.log costs a training loop.")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    average, skipped = call_cost()
    print(f"run.log per step call: {average:.2f} µs on average ({skipped:.2f} µs when "
          "the step is not written)")
    with_log, without = measure(args.epochs, args.repeats, args.device)
    print(f"digits cnn, {args.epochs} epochs, median of {args.repeats}: with run.log "
          f"{with_log:.3f} s, without {without:.3f} s, ratio {with_log / without:.4f} "
          f"(goal <= 1.01; {torch.get_num_threads()} torch thread(s), {args.device})")


if __name__ == "__main__":
    main()
