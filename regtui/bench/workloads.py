"""The workloads, and how each is measured: pairs, medians, goals.

W0     the loop: digits, cnn, batch 32, Adam 1e-3, 10 epochs, no augmentation; regtui
       (events, summary, checkpoints, alerts) vs the bare loop doing the same work, the two
       taking turns epoch by epoch; a pair is the mean of four such runs, two with each
       going first.                                                 goal regtui/bare <= 1.03
W1     augmentation: the same with per-sample hflip 0.5, rotation 10, shear 10, scale
       0.8-1.2; regtui vs the textbook loop (torchvision Dataset with PIL transforms,
       DataLoader batch 32, loss.item() every step).                goal textbook/regtui >= 3
W2     the TUI: W0's training with the monitor attached (a headless Textual app consuming
       the events) vs headless, each pair in one fresh process.     goal tui/headless <= 1.03
W3     CIFAR-shaped throughput, resnet18 and cnn (bench.scale).     goal regtui/textbook >= 5
T98    time to 98% on MNIST's test set (bench.scale, bench.mnist).  measured
L1000  list 1,000 runs of 200 epochs (bench.rundirs), no reference. goal < 1 s
S100k  open a run of 100,000 epochs (bench.rundirs), no reference.  goal <= 2 s
"""

from __future__ import annotations

import statistics
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Callable, Iterator

import torch

from regtui.bench import mnist as mnist_files
from regtui.bench import api_log, rundirs, scale
from regtui.bench.pairing import (W0_RUNS_PER_PAIR, alone, in_turn, lockstep_runs, timed,
                                  w2_pair)
from regtui.bench.reference import textbook_loop, textbook_workers
from regtui.bench.trainer import bench_config, run_regtui

NAMES = ("W0", "W1", "W2", "W3", "W3-resnet18", "W3-cnn", "T98", "L1000", "S100k", "A1")
DEFAULTS = {"cpu": ("W0", "W1", "W2"), "gpu": ("W0", "W1", "W2", "W3", "T98")}


def expand_names(asked: list[str], device_type: str) -> list[str]:
    """The workloads to run (the device's defaults when none is asked), W3 expanded to its
    two models, each once, in the order asked."""
    asked = asked or list(DEFAULTS["cpu" if device_type == "cpu" else "gpu"])
    expanded = [n for name in asked
                for n in (["W3-resnet18", "W3-cnn"] if name == "W3" else [name])]
    return list(dict.fromkeys(expanded))


@dataclass(frozen=True)
class Result:
    workload: str
    what: str
    ours: str  # label of regtui's side
    theirs: str | None  # label of the reference; None: the workload has none
    ours_seconds: float  # the median measure: seconds, or samples/s where unit says so
    theirs_seconds: float | None
    ratio: float | None  # as the goal states it; None without a reference
    goal: str
    met: bool | None  # None: measured, no goal
    command: str
    unit: str = "s"
    note: str = ""
    ratios: tuple[float, ...] = ()  # every pair's, in the order measured
    peak_mb: float | None = None  # peak memory growth, where the workload measures it


@dataclass(frozen=True)
class Workload:
    name: str
    what: str
    ours: str
    theirs: str | None  # None: no reference side; `met` then judges regtui's measure
    run_pair: Callable[[Path, int], tuple[float, float | None]]  # (runs dir, pair index)
    ratio: Callable[[float, float], float] | None
    goal: str
    met: Callable[[float], bool | None]  # of the ratio, or of the measure without reference
    unit: str = "s"
    warmup: bool = True  # one unrecorded pair first (imports, caches, cudnn autotuning)
    max_pairs: int | None = None  # long workloads: at most this many pairs
    note: Callable[[float], str] = lambda ours: ""
    peak_bytes: Callable[[], int | None] = lambda: None  # after the pairs: memory measured


def workloads(device: str, epochs: int = 10, mnist_dir: Path | None = None,
              progress: Callable[[str], None] = lambda line: None,
              s100k_steps: int = rundirs.S100K_STEPS) -> dict[str, Workload]:
    plain = bench_config(device, epochs=epochs)
    augmented = bench_config(device, augment=True, epochs=epochs)
    # W2's wall-clock pairs cannot tell 3% on a busy machine; the UI thread's CPU time per
    # training second (one number per monitored run) can, and is what W2 is judged by.
    w2_shares: list[float] = []
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
        "W2": Workload("W2", "W0's epochs with the monitor attached (log-y and smoothing "
                       "on)", "monitor", "headless", w2_pair(device, epochs, w2_shares),
                       lambda ours, theirs: ours / theirs,
                       "tui/headless <= 1.03: UI thread CPU <= 3% of training",
                       lambda r: statistics.median(w2_shares[1:]) <= 0.03
                       if w2_shares[1:] else None,  # [0]: the warm-up pair's
                       note=lambda ours: f"UI thread CPU {_share(w2_shares[1:])} of "
                                         "training time (median, range)"),
        "A1": Workload("A1", f"a user's own loop (digits cnn, {epochs} epochs) with run.log "
                       "every step and epoch", "with run.log", "without",
                       lambda d, i: api_log.pair(epochs, device, d, i),
                       lambda ours, theirs: ours / theirs, "with/without <= 1.01",
                       lambda r: r <= 1.01),
        **scale_workloads(device, mnist_dir),
        **reader_workloads(progress, s100k_steps),
    }


def _share(shares: list[float]) -> str:
    if not shares:
        return "-"
    return (f"{statistics.median(shares):.1%} ({min(shares):.1%}-{max(shares):.1%})")


def scale_workloads(device: str, mnist_dir: Path | None = None) -> dict[str, Workload]:
    """W3 (one per model) and T98; their data is made or read once, when first needed."""
    w3_data = cache(lambda: scale.w3_data(device))
    mnist = cache(lambda: mnist_files.mnist_t10k(mnist_files.find_mnist_t10k(mnist_dir)))
    chosen = {}
    for model in ("resnet18", "cnn"):
        name = f"W3-{model}"
        chosen[name] = Workload(
            name, f"CIFAR-shaped {model}, batch 512, flip + translate", "regtui",
            f"textbook ({textbook_workers()} DataLoader workers)",
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


def reader_workloads(progress: Callable[[str], None] = lambda line: None,
                     s100k_steps: int = rundirs.S100K_STEPS) -> dict[str, Workload]:
    """L1000 and S100k: reading run directories, no reference side. Their runs are written
    once per bench invocation, into the bench's scratch folder, when first needed."""

    @cache
    def many_runs(scratch: Path) -> Path:
        with _announced(progress, f"L1000: writing {rundirs.L1000_RUNS:,} runs of "
                                  f"{rundirs.L1000_EPOCHS} epochs"):
            return rundirs.synthetic_runs(scratch / "L1000", rundirs.L1000_RUNS,
                                          rundirs.L1000_EPOCHS)

    @cache
    def long_run(scratch: Path) -> Path:
        with _announced(progress, f"S100k: writing a run of {rundirs.S100K_EPOCHS:,} epochs "
                                  f"and {s100k_steps:,} steps"):
            return rundirs.write_run(scratch / "S100k", rundirs.S100K_EPOCHS, s100k_steps)

    peaks: list[int] = []

    def open_long_run(scratch: Path) -> float:
        seconds, grown = rundirs.measure_open_in_a_fresh_process(long_run(scratch))
        peaks.append(grown)
        return seconds

    return {
        "L1000": Workload(
            "L1000", f"list {rundirs.L1000_RUNS:,} runs of {rundirs.L1000_EPOCHS} epochs",
            "list_runs", None,
            alone(lambda d: rundirs.time_listing(many_runs(d), rundirs.L1000_RUNS)),
            None, "< 1 s", lambda seconds: seconds < 1.0, warmup=False),
        "S100k": Workload(
            "S100k", f"open a run of {rundirs.S100K_EPOCHS:,} epochs and {s100k_steps:,} "
                     "steps (summary + series, fresh process)", "show opens it", None,
            alone(open_long_run), None, "<= 2 s", lambda seconds: seconds <= 2.0,
            warmup=False, peak_bytes=lambda: max(peaks, default=None)),
    }


@contextmanager
def _announced(progress: Callable[[str], None], what: str) -> Iterator[None]:
    """A progress line before a long preparation, and one with its seconds after it."""
    progress(f"{what} ...")
    started = time.perf_counter()
    yield
    progress(f"{what}: {time.perf_counter() - started:.1f} s")


def run(names: list[str], device: str, repeats: int, epochs: int = 10,
        progress: Callable[[str], None] = lambda line: None,
        mnist_dir: Path | None = None, s100k_steps: int = rundirs.S100K_STEPS) -> list[Result]:
    """Each workload: one warm-up pair, then `repeats` interleaved pairs (W0 epoch by epoch
    in turns, the others whole runs A B, B A, ...; L1000 and S100k alone).

    The ratio is the median of the pairs' ratios: the two runs of a pair are adjacent in
    time, so a slow drift of the machine's speed cancels out.
    """
    chosen = workloads(device, epochs, mnist_dir, progress, s100k_steps)
    with tempfile.TemporaryDirectory(prefix="regtui-bench-") as scratch:
        return [measure(chosen[name], device, repeats, Path(scratch), progress)
                for name in names]


def measure(work: Workload, device: str, repeats: int, runs_dir: Path,
            progress: Callable[[str], None] = lambda line: None) -> Result:
    """One workload's pairs, and their medians as a Result."""
    if work.warmup:
        work.run_pair(runs_dir, 0)
    pairs = min(repeats, work.max_pairs or repeats)
    ours, theirs = [], []
    for index in range(pairs):
        mine, reference = work.run_pair(runs_dir, index)
        ours.append(mine)
        line = f"{work.name} {index + 1}/{pairs}: {work.ours} {mine:.3f} {work.unit}"
        if reference is not None:
            theirs.append(reference)
            line += f", {work.theirs} {reference:.3f} {work.unit}"
        progress(line)
    median_ours = statistics.median(ours)
    if work.ratio is not None and theirs:
        ratios = tuple(work.ratio(o, t) for o, t in zip(ours, theirs))
        ratio, median_theirs = statistics.median(ratios), statistics.median(theirs)
        met = work.met(ratio)
    else:
        ratios, ratio, median_theirs, met = (), None, None, work.met(median_ours)
    peak = work.peak_bytes()
    return Result(work.name, work.what, work.ours, work.theirs, median_ours, median_theirs,
                  ratio, work.goal, met,
                  f"regtui bench --workload {work.name} --device {device} --repeats {repeats}",
                  work.unit, work.note(median_ours), ratios,
                  None if peak is None else round(peak / 2**20, 1))


def environment(device: str) -> dict:
    from regtui.train.devices import device_name, resolve_device

    resolved = resolve_device(device)
    return {"device": str(resolved), "device_name": device_name(resolved),
            "torch": torch.__version__, "threads": torch.get_num_threads()}
