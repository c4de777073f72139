"""`regtui bench`: regtui's trainer against hand-written loops, and its run-directory reader
at scale. Medians of interleaved pairs; each workload states its goal.

    reference  the hand-written loops regtui is measured against (bare, textbook)
    trainer    regtui's side of the training workloads (W0-W3, T98)
    pairing    how the two sides take turns (epoch by epoch, whole runs, alone)
    scale      W3 (CIFAR-shaped throughput) and T98 (time to 98%)
    mnist      T98's data: MNIST's t10k files from --mnist DIR or $REGTUI_MNIST_DIR
    rundirs    L1000 (list 1,000 runs) and S100k (open a run of 100,000 epochs)
    workloads  the catalog (W0 ... S100k, their goals), Result, run()
    report     the table and the JSON

The entry points below are imported when first used, so that `import regtui.bench` (and
the fresh processes S100k and W2 start with `python -m regtui.bench`) import torch only
where a workload trains.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_ENTRY_POINTS = {
    "NAMES": "workloads", "DEFAULTS": "workloads", "expand_names": "workloads",
    "Result": "workloads", "Workload": "workloads", "run": "workloads",
    "environment": "workloads", "find_mnist_t10k": "mnist", "MNIST_ENV": "mnist",
}

__all__ = sorted(_ENTRY_POINTS)

if TYPE_CHECKING:
    from regtui.bench.mnist import MNIST_ENV, find_mnist_t10k
    from regtui.bench.workloads import (DEFAULTS, NAMES, Result, Workload, environment,
                                        expand_names, run)


def __getattr__(name: str) -> Any:
    if name not in _ENTRY_POINTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_ENTRY_POINTS[name]}"), name)
