"""`regtui bench`: regtui's trainer against hand-written loops, interleaved, medians.

W0  the loop: digits, cnn, batch 32, Adam 1e-3, 10 epochs, no augmentation;
    regtui (events, summary, checkpoints, alerts) vs a bare loop over in-memory tensors
    that does the same work (train, accumulate loss and accuracy on the device, validate
    every epoch, test at the end), the two taking turns epoch by epoch; a pair is the
    mean of four such runs, two with each going first.
                                                                     goal regtui/bare <= 1.03
W1  augmentation: the same with per-sample hflip 0.5, rotation 10, shear 10, scale
    0.8-1.2; regtui vs the textbook loop (torchvision Dataset with PIL transforms,
    DataLoader batch 32, loss.item() every step).                    goal textbook/regtui >= 3
W2  the TUI: W0's training with the monitor attached (a headless Textual app consuming
    the events) vs headless, each pair in one fresh process.         goal tui/headless <= 1.03
W3, T98  CIFAR-shaped throughput and time to 98% on MNIST: see bench_scale.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterator

import torch
import torch.nn.functional as F

from regtui import config as config_module
from regtui.config import RunConfig
from regtui.control import Control
from regtui.events import Epoch, Event
from regtui.presets import Resolved
from regtui.rundir import RunStore
from regtui.train.loop import EVAL_BATCH, Trainer
from regtui.train.setup import Prepared, prepare

W0_RUNS_PER_PAIR = 4  # two with regtui first in every epoch's turn, two with bare
W1_AUGMENT = {"hflip": 0.5, "rotation": 10.0, "shear": 10.0, "scale": [0.8, 1.2]}


def bench_config(device: str, augment: bool = False, epochs: int = 10) -> RunConfig:
    layer = {"model": {"name": "cnn"},
             "train": {"batch_size": 32, "lr": 1e-3, "optimizer": "adam", "epochs": epochs,
                       "device": device, "log_every": 20},
             "augment": W1_AUGMENT if augment else {}}
    return config_module.build(config_module.check_layer(layer, "bench"))


# ---------------------------------------------------------------- the contenders

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
        _sync(prepared.device)
        return time.perf_counter() - started


def bare_loop(prepared: Prepared, epochs: int | None = None) -> list[float]:
    """The hand-written loop over in-memory tensors; returns each epoch's train loss."""
    return [loss for loss in bare_epochs(prepared, epochs) if loss is not None]


def bare_epochs(prepared: Prepared, epochs: int | None = None) -> Iterator[float | None]:
    """The bare loop one epoch at a time: yields each epoch's train loss, then None once
    the test set is evaluated."""
    cfg, data, model, device = prepared.config, prepared.dataset, prepared.model, prepared.device
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.train.lr)
    generator = torch.Generator(device=device).manual_seed(cfg.train.seed)
    size, count = cfg.train.batch_size, len(data.train)
    for _ in range(epochs or cfg.train.epochs):
        model.train()
        order = torch.randperm(count, generator=generator, device=device)
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device)
        for start in range(0, count, size):
            index = order[start:start + size]
            targets = data.train.labels[index]
            logits = model(data.normalize(data.train.images[index]))
            loss = F.cross_entropy(logits, targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * len(index)
            correct += (logits.detach().argmax(dim=1) == targets).sum()
        correct.item()
        _evaluate(model, data, data.val)
        yield loss_sum.item() / count
    _evaluate(model, data, data.test)
    yield None


def lockstep(config: RunConfig, runs_dir: Path, bare_first: bool = False) -> tuple[float, float]:
    """(regtui seconds, bare seconds) for one run of each, taken in turns epoch by epoch.

    Each of regtui's epoch events runs the bare loop's next epoch, timed apart and taken
    out of regtui's time (with `bare_first`, the bare loop's first epoch runs before
    regtui's). This machine's speed drifts by 10-20% within seconds; epochs 0.2 s apart
    see nearly the same machine, so a pair's ratio varies by about 3% instead of the 10%
    of two whole runs one after the other.
    """
    ours, theirs = prepare(config), prepare(config)
    bare = bare_epochs(theirs)
    inside = 0.0  # bare seconds that fell inside regtui's timed run

    def bare_turn() -> float:
        started = time.perf_counter()
        next(bare, None)
        _sync(theirs.device)
        return time.perf_counter() - started

    before = bare_turn() if bare_first else 0.0
    with RunStore.create(runs_dir, "bench", config_module.to_toml(config)) as store:
        def emit(event: Event) -> None:
            nonlocal inside
            store.write(event)
            if isinstance(event, Epoch):
                inside += bare_turn()

        trainer = regtui_trainer(ours, store, emit)
        started = time.perf_counter()
        trainer.run(store.run_id)
        _sync(ours.device)
        regtui_seconds = time.perf_counter() - started - inside
    started = time.perf_counter()
    for _ in bare:  # the rest: the test set, or epochs regtui did not run (an early stop)
        pass
    _sync(theirs.device)
    return regtui_seconds, before + inside + time.perf_counter() - started


def lockstep_runs(config: RunConfig, runs_dir: Path, runs: int) -> tuple[float, float]:
    """Mean (regtui, bare) seconds per run over `runs` lockstep runs: one W0 pair.

    One epoch here takes 0.1-0.2 s and varies by about 10% from one to the next, so a
    10-epoch run still varies by about 3%, as much as W0's whole margin; a pair of four
    runs still varies by about 2.5% (15 pairs: SD 0.026). The runs alternate which loop
    takes the first turn of every epoch: going first may cost about 1% (two bare loops in
    turns, 20 pairs each way: 1.008 going first, 0.998 going second, each +-0.008).
    """
    times = [lockstep(config, runs_dir, bare_first=bool(run % 2)) for run in range(runs)]
    return statistics.fmean(t[0] for t in times), statistics.fmean(t[1] for t in times)


@torch.no_grad()
def _evaluate(model, data, split) -> tuple[float, float]:
    """Loss and accuracy, as regtui reports them every epoch."""
    model.eval()
    loss = torch.zeros((), device=split.labels.device)
    correct = torch.zeros((), device=split.labels.device)
    for start in range(0, len(split), EVAL_BATCH):
        targets = split.labels[start:start + EVAL_BATCH]
        logits = model(data.normalize(split.images[start:start + EVAL_BATCH]))
        loss += F.cross_entropy(logits, targets, reduction="sum")
        correct += (logits.argmax(dim=1) == targets).sum()
    count = max(len(split), 1)
    return loss.item() / count, correct.item() / count


def timed(loop: Callable[[Prepared], object], config: RunConfig) -> float:
    """Wall seconds of a reference loop, setup (data, model) excluded."""
    prepared = prepare(config)
    started = time.perf_counter()
    loop(prepared)
    _sync(prepared.device)
    return time.perf_counter() - started


class TextbookDataset(torch.utils.data.Dataset):
    """The usual way: one PIL image per item, transformed on the CPU in __getitem__."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform) -> None:
        from torchvision.transforms.functional import to_pil_image

        self.images = [to_pil_image(image) for image in images.cpu()]
        self.labels = labels.cpu().tolist()
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        return self.transform(self.images[index]), self.labels[index]


def textbook_loop(prepared: Prepared, epochs: int | None = None) -> list[float]:
    """torchvision transforms on PIL images, a DataLoader, loss.item() every step."""
    from torchvision import transforms

    cfg, data, model, device = prepared.config, prepared.dataset, prepared.model, prepared.device
    augment = cfg.augment
    mean, std = data.mean.cpu().tolist(), data.std.cpu().tolist()
    train_transform = transforms.Compose([
        transforms.RandomHorizontalFlip(augment.hflip),
        transforms.RandomAffine(degrees=augment.rotation, shear=augment.shear,
                                scale=augment.scale),
        transforms.ToTensor(), transforms.Normalize(mean, std)])
    plain = transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean, std)])
    train = TextbookDataset(data.train.images, data.train.labels, train_transform)
    loaders = {name: torch.utils.data.DataLoader(
        TextbookDataset(split.images, split.labels, plain), batch_size=EVAL_BATCH)
        for name, split in (("val", data.val), ("test", data.test))}
    loader = torch.utils.data.DataLoader(train, batch_size=cfg.train.batch_size, shuffle=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.train.lr)
    losses = []
    for _ in range(epochs or cfg.train.epochs):
        total, seen = textbook_epoch(model, loader, optimizer, device)
        losses.append(total / seen)
        _evaluate_loader(model, loaders["val"], device)
    _evaluate_loader(model, loaders["test"], device)
    return losses


def textbook_epoch(model: torch.nn.Module, loader, optimizer: torch.optim.Optimizer,
                   device: torch.device) -> tuple[float, int]:
    """One epoch as tutorials write it: loss.item() every step. Returns (loss sum, samples)."""
    model.train()
    total, seen = 0.0, 0
    for images, targets in loader:
        images, targets = images.to(device), targets.to(device)
        loss = F.cross_entropy(model(images), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(targets)
        seen += len(targets)
    return total, seen


@torch.no_grad()
def _evaluate_loader(model, loader, device) -> None:
    model.eval()
    for images, targets in loader:
        (model(images.to(device)).argmax(dim=1) == targets.to(device)).sum().item()


def epochs_with_monitor(config: RunConfig, runs_dir: Path) -> float:
    """Seconds spent in epochs with the monitor attached to the run's events (a headless
    Textual app: it draws every frame as it would on a terminal, into no terminal)."""
    from regtui.engine import live_run
    from regtui.tui.app import RegtuiApp

    app = RegtuiApp(runs_dir, source=live_run(Resolved(config, ()), runs_dir))
    app.quit_when_done = True  # exit as soon as the run has finished
    asyncio.run(app.run_async(headless=True, size=(120, 36)))
    return sum(e.seconds for e in app.monitor.state.epochs)


def epochs_headless(config: RunConfig, runs_dir: Path) -> float:
    """Seconds spent in epochs without a UI (the same measure as epochs_with_monitor)."""
    from regtui import train

    seconds: list[float] = []
    train.start(Resolved(config, ()), runs_dir,
                listeners=[lambda e: seconds.append(e.seconds) if e.type == "epoch" else None])
    return sum(seconds)


def on_a_thread(measure: Callable[[RunConfig, Path], float], config: RunConfig,
                runs_dir: Path) -> float:
    """measure(config, runs_dir) on a thread of its own, as the TUI trains on its worker."""
    result: list[float] = []
    thread = threading.Thread(target=lambda: result.append(measure(config, runs_dir)))
    thread.start()
    thread.join()
    if not result:
        raise RuntimeError("the headless run failed on its thread (see the error above)")
    return result[0]


def monitor_and_headless(config: RunConfig, runs_dir: Path, index: int) -> tuple[float, float]:
    """W2's pair number `index` in this process: (monitor, headless) seconds in epochs,
    in the order in_turn gives (the monitor first in even pairs).

    Both sides train on a thread that is not the main one (a thread's OpenMP pool lives
    and dies with it), after a one-epoch warm-up.
    """
    on_a_thread(epochs_headless, replace(config, train=replace(config.train, epochs=1)),
                runs_dir)
    pair = in_turn(lambda d: epochs_with_monitor(config, d),
                   lambda d: on_a_thread(epochs_headless, config, d))
    return pair(runs_dir, index)


def w2_pair(device: str, epochs: int) -> Callable[[Path, int], tuple[float, float]]:
    """W2's pairs, each in a fresh process.

    A process whose main thread has used torch keeps its OpenMP threads, and a second pool
    on a training thread would then compete with them for the cores; and two fresh
    processes differ in speed by up to 30% here, so both sides share one.
    """
    def run_pair(runs_dir: Path, index: int) -> tuple[float, float]:
        result = subprocess.run([sys.executable, "-m", "regtui.bench", device, str(epochs),
                                 str(runs_dir), str(index)], capture_output=True, text=True,
                                check=True)
        monitor, headless = result.stdout.split()[-2:]
        return float(monitor), float(headless)
    return run_pair


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ---------------------------------------------------------------- the bench

@dataclass(frozen=True)
class Result:
    workload: str
    what: str
    ours: str  # label of regtui's side
    theirs: str
    ours_seconds: float  # the median measure: seconds, or samples/s where unit says so
    theirs_seconds: float
    ratio: float  # as the goal states it
    goal: str
    met: bool | None  # None: measured, no goal
    command: str
    unit: str = "s"
    note: str = ""
    ratios: tuple[float, ...] = ()  # every pair's, in the order measured


@dataclass(frozen=True)
class Workload:
    name: str
    what: str
    ours: str
    theirs: str
    run_pair: Callable[[Path, int], tuple[float, float]]  # (runs dir, pair index) -> ours, theirs
    ratio: Callable[[float, float], float]
    goal: str
    met: Callable[[float], bool | None]
    unit: str = "s"
    warmup: bool = True  # one unrecorded pair first (imports, caches, cudnn autotuning)
    max_pairs: int | None = None  # long workloads: at most this many pairs
    note: Callable[[float], str] = lambda ours: ""


def in_turn(run_ours: Callable[[Path], float],
            run_theirs: Callable[[Path], float]) -> Callable[[Path, int], tuple[float, float]]:
    """A pair of whole runs, one after the other: A B in even pairs, B A in odd ones
    (whichever runs second meets a machine that has drifted since the first)."""
    def run_pair(runs_dir: Path, index: int) -> tuple[float, float]:
        if index % 2:
            theirs = run_theirs(runs_dir)
            return run_ours(runs_dir), theirs
        ours = run_ours(runs_dir)
        return ours, run_theirs(runs_dir)
    return run_pair


def workloads(device: str, epochs: int = 10,
              mnist_dir: Path | None = None) -> dict[str, Workload]:
    plain = bench_config(device, epochs=epochs)
    augmented = bench_config(device, augment=True, epochs=epochs)
    return {
        "W0": Workload("W0", f"digits cnn, {epochs} epochs, no augmentation", "regtui",
                       "bare loop", lambda d, i: lockstep_runs(plain, d, W0_RUNS_PER_PAIR),
                       lambda ours, theirs: ours / theirs, "regtui/bare <= 1.03",
                       lambda r: r <= 1.03),
        "W1": Workload("W1", "W0 + flip, rotate, shear, scale per sample", "regtui",
                       "textbook (PIL + DataLoader)",
                       in_turn(lambda d: run_regtui(augmented, d),
                               lambda d: timed(textbook_loop, augmented)),
                       lambda ours, theirs: theirs / ours, "textbook/regtui >= 3",
                       lambda r: r >= 3),
        "W2": Workload("W2", "W0's epochs with the monitor attached", "monitor", "headless",
                       w2_pair(device, epochs),
                       lambda ours, theirs: ours / theirs, "tui/headless <= 1.03",
                       lambda r: r <= 1.03),
        **scale_workloads(device, mnist_dir),
    }


def scale_workloads(device: str, mnist_dir: Path | None = None) -> dict[str, Workload]:
    """W3 (one per model) and T98; their data is made or read once, when first needed."""
    from functools import cache

    from regtui import bench_scale as scale

    w3_data = cache(lambda: scale.w3_data(device))
    mnist = cache(lambda: scale.mnist_t10k(scale.find_mnist_t10k(mnist_dir)))
    chosen = {}
    for model in ("resnet18", "cnn"):
        name = f"W3-{model}"
        chosen[name] = Workload(
            name, f"CIFAR-shaped {model}, batch 512, flip + translate", "regtui",
            f"textbook ({scale.textbook_workers()} DataLoader workers)",
            in_turn(lambda d, m=model: scale.w3_regtui(m, device, w3_data(), d),
                    lambda d, m=model: scale.w3_textbook(m, device, w3_data())),
            lambda ours, theirs: ours / theirs, "regtui/textbook >= 5", lambda r: r >= 5,
            unit="samples/s", max_pairs=3, note=lambda ours, m=model: scale.gpu_share(
                m, device, ours))
    chosen["T98"] = Workload(
        "T98", "MNIST t10k (8,000/2,000), cnn+bn: seconds to 98% val acc", "regtui",
        "textbook (same batches)", in_turn(lambda d: scale.t98_regtui(device, mnist(), d),
                                           lambda d: scale.t98_textbook(device, mnist())),
        lambda ours, theirs: theirs / ours,
        "measured (textbook/regtui)", lambda r: None, warmup=False, max_pairs=3)
    return chosen


def run(names: list[str], device: str, repeats: int, epochs: int = 10,
        progress: Callable[[str], None] = lambda line: None,
        mnist_dir: Path | None = None) -> list[Result]:
    """Each workload: one warm-up pair, then `repeats` interleaved pairs (W0 epoch by epoch
    in turns, the others whole runs A B, B A, ...).

    The ratio is the median of the pairs' ratios: the two runs of a pair are adjacent in
    time, so a slow drift of the machine's speed cancels out.
    """
    results = []
    chosen = workloads(device, epochs, mnist_dir)
    with tempfile.TemporaryDirectory(prefix="regtui-bench-") as scratch:
        runs_dir = Path(scratch)
        for name in names:
            results.append(_measure(chosen[name], device, repeats, runs_dir, progress))
    return results


def _measure(work: Workload, device: str, repeats: int, runs_dir: Path,
             progress: Callable[[str], None]) -> Result:
    if work.warmup:
        work.run_pair(runs_dir, 0)
    pairs = min(repeats, work.max_pairs or repeats)
    ours, theirs = [], []
    for index in range(pairs):
        mine, reference = work.run_pair(runs_dir, index)
        ours.append(mine)
        theirs.append(reference)
        progress(f"{work.name} {index + 1}/{pairs}: {work.ours} {ours[-1]:.3f} {work.unit}, "
                 f"{work.theirs} {theirs[-1]:.3f} {work.unit}")
    ratios = tuple(work.ratio(o, t) for o, t in zip(ours, theirs))
    ratio = statistics.median(ratios)
    median_ours = statistics.median(ours)
    return Result(work.name, work.what, work.ours, work.theirs, median_ours,
                  statistics.median(theirs), ratio, work.goal, work.met(ratio),
                  f"regtui bench --workload {work.name} --device {device} --repeats {repeats}",
                  work.unit, work.note(median_ours), ratios)


def environment(device: str) -> dict:
    from regtui.train.setup import device_name, resolve_device

    resolved = resolve_device(device)
    return {"device": str(resolved), "device_name": device_name(resolved),
            "torch": torch.__version__, "threads": torch.get_num_threads()}


if __name__ == "__main__":  # W2's child: python -m regtui.bench DEVICE EPOCHS RUNS_DIR INDEX
    device_arg, epochs_arg, runs_arg, index_arg = sys.argv[1:5]
    print(*monitor_and_headless(bench_config(device_arg, epochs=int(epochs_arg)),
                                Path(runs_arg), int(index_arg)))
