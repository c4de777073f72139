"""How the two sides of a workload are paired in time, so the machine's drift cancels out.

lockstep  W0: regtui and the bare loop take turns epoch by epoch.
in_turn   whole runs one after the other, A B in even pairs and B A in odd ones.
w2_pair   W2: the monitor and headless sides in turn, in one fresh process per pair.
alone     a workload with no reference side (L1000, S100k): one measure per "pair".
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

from regtui import config as config_module
from regtui.bench import reference
from regtui.bench.trainer import epochs_headless, monitor_costs, regtui_trainer, sync
from regtui.config import RunConfig
from regtui.events import Epoch, Event
from regtui.rundir import RunStore
from regtui.train.setup import Prepared, prepare

W0_RUNS_PER_PAIR = 4  # two with regtui first in every epoch's turn, two with bare

# (runs dir, pair index) -> (regtui's measure, the reference's; None where there is none)
RunPair = Callable[[Path, int], "tuple[float, float | None]"]


def lockstep(config: RunConfig, runs_dir: Path, bare_first: bool = False) -> tuple[float, float]:
    """(regtui seconds, bare seconds) for one run of each, taken in turns epoch by epoch.

    Each of regtui's epoch events runs the bare loop's next epoch, timed apart and taken
    out of regtui's time (with `bare_first`, the bare loop's first epoch runs before
    regtui's). This machine's speed drifts by 10-20% within seconds; epochs 0.2 s apart
    see nearly the same machine, so a pair's ratio varies by about 3% instead of the 10%
    of two whole runs one after the other.
    """
    ours, theirs = prepare(config), prepare(config)
    bare = reference.bare_epochs(theirs)
    inside = 0.0  # bare seconds that fell inside regtui's timed run

    def bare_turn() -> float:
        started = time.perf_counter()
        next(bare, None)
        sync(theirs.device)
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
        sync(ours.device)
        regtui_seconds = time.perf_counter() - started - inside
    started = time.perf_counter()
    for _ in bare:  # the rest: the test set, or epochs regtui did not run (an early stop)
        pass
    sync(theirs.device)
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


def alone(measure: Callable[[Path], float]) -> Callable[[Path, int], tuple[float, None]]:
    """A workload with no reference side: each "pair" is one measure of regtui's."""
    return lambda runs_dir, index: (measure(runs_dir), None)


def timed(loop: Callable[[Prepared], object], config: RunConfig) -> float:
    """Wall seconds of a reference loop, setup (data, model) excluded."""
    prepared = prepare(config)
    started = time.perf_counter()
    loop(prepared)
    sync(prepared.device)
    return time.perf_counter() - started


# ---------------------------------------------------------------- W2

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


def monitor_and_headless(config: RunConfig, runs_dir: Path,
                         index: int) -> tuple[float, float, float]:
    """W2's pair number `index` in this process: (monitor, headless) seconds in epochs,
    in the order in_turn gives (the monitor first in even pairs), and the monitor's UI
    thread CPU seconds per training second.

    Both sides train on a thread that is not the main one (a thread's OpenMP pool lives
    and dies with it), after a one-epoch warm-up.
    """
    on_a_thread(epochs_headless, replace(config, train=replace(config.train, epochs=1)),
                runs_dir)
    shares: list[float] = []

    def with_monitor(runs: Path) -> float:
        seconds, share = monitor_costs(config, runs)
        shares.append(share)
        return seconds

    pair = in_turn(with_monitor, lambda d: on_a_thread(epochs_headless, config, d))
    return (*pair(runs_dir, index), shares[0])


def w2_pair(device: str, epochs: int, shares: list[float] | None = None
            ) -> Callable[[Path, int], tuple[float, float]]:
    """W2's pairs, each in a fresh process (`python -m regtui.bench w2 ...`); each pair's
    UI CPU share (see monitor_costs) is appended to `shares`.

    A process whose main thread has used torch keeps its OpenMP threads, and a second pool
    on a training thread would then compete with them for the cores; and two fresh
    processes differ in speed by up to 30% here, so both sides share one.
    """
    def run_pair(runs_dir: Path, index: int) -> tuple[float, float]:
        result = subprocess.run([sys.executable, "-m", "regtui.bench", "w2", device,
                                 str(epochs), str(runs_dir), str(index)],
                                capture_output=True, text=True, check=True)
        monitor, headless, share = result.stdout.split()[-3:]
        if shares is not None:
            shares.append(float(share))
        return float(monitor), float(headless)
    return run_pair
