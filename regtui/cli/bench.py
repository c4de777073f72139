"""`regtui bench`: regtui's trainer against hand-written loops."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import typer

from regtui.cli.common import app, err, fail, out

BENCH_WORKLOADS = ("W0", "W1", "W2", "W3", "W3-resnet18", "W3-cnn", "T98")
BENCH_DEFAULT = {"cpu": ["W0", "W1", "W2"], "gpu": ["W0", "W1", "W2", "W3", "T98"]}


def _bench_names(workload: list[str], device_type: str) -> list[str]:
    """The workloads to run, W3 expanded to its two models, in a fixed order."""
    asked = workload or BENCH_DEFAULT["cpu" if device_type == "cpu" else "gpu"]
    expanded = [n for name in asked
                for n in (["W3-resnet18", "W3-cnn"] if name == "W3" else [name])]
    return list(dict.fromkeys(expanded))


def _bench_value(value: float, unit: str) -> str:
    if value == float("inf"):
        return "not reached"
    return f"{value:,.0f} {unit}" if unit == "samples/s" else f"{value:.3f}{unit}"


def _bench_ratio(median: float, ratios: tuple[float, ...]) -> str:
    """The median, and the range of the pairs when there are several."""
    if len(ratios) < 2:
        return f"{median:.3f}"
    return f"{median:.3f} ({min(ratios):.3f}-{max(ratios):.3f})"


def _finite_or_none(value):
    """JSON has no infinity or NaN ("not reached" becomes null)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(item) for item in value]
    return value


@app.command("bench")
def bench_command(
    workload: list[str] = typer.Option([], "--workload", "-w", help="W0, W1, W2, W3 (W3-resnet18, W3-cnn) or T98; repeatable [default: W0-W2 on cpu, all on a GPU]."),
    device: str = typer.Option("cpu", help="cpu, cuda, cuda:N, mps or auto."),
    repeats: int = typer.Option(5, min=1, max=50, help="Interleaved pairs per workload (medians; W3 and T98 take at most 3)."),
    epochs: int = typer.Option(10, min=1, max=1000, help="Epochs per training run of W0-W2."),
    mnist: Optional[Path] = typer.Option(None, "--mnist", help="T98: folder with MNIST's t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz]."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
) -> None:
    """Measure regtui's trainer against hand-written loops (see docs/performance.md)."""
    from regtui import config as config_module

    unknown = [w for w in workload if w not in BENCH_WORKLOADS]
    if unknown:
        raise fail(f"--workload {unknown[0]}: unknown; accepted: {', '.join(BENCH_WORKLOADS)}")
    if not config_module.DEVICE_PATTERN.match(device):
        raise fail(f"--device {device}: accepted: auto, cpu, cuda, cuda:N, mps")
    from regtui import bench
    from regtui.train import SetupError

    try:
        env = bench.environment(device)
        names = _bench_names(workload, env["device"].split(":")[0])
        if "T98" in names:
            from regtui.bench_scale import find_mnist_t10k

            mnist = find_mnist_t10k(mnist)
        progress = (lambda line: None) if as_json else (lambda line: err.print(line, style="dim"))
        results = bench.run(names, device, repeats, epochs, progress, mnist)
    except SetupError as error:  # also a data file found to be unreadable once opened
        raise fail(str(error))
    if as_json:
        import dataclasses
        import json

        rows = [{key: _finite_or_none(value) for key, value in dataclasses.asdict(r).items()}
                for r in results]
        print(json.dumps({"env": env, "results": rows}, indent=2))  # "not reached" is null
        return
    from rich.table import Table

    table = Table("workload", "what", "regtui side", "reference", "ratio (range)", "goal", "met",
                  box=None, pad_edge=False)
    for r in results:
        met = "-" if r.met is None else ("[green]yes[/]" if r.met else "[red]no[/]")
        table.add_row(r.workload, r.what + (f" ({r.note})" if r.note else ""),
                      f"{r.ours} {_bench_value(r.ours_seconds, r.unit)}",
                      f"{r.theirs} {_bench_value(r.theirs_seconds, r.unit)}",
                      _bench_ratio(r.ratio, r.ratios), r.goal, met)
    out.print(f"{env['device']} ({env['device_name']}), torch {env['torch']}, "
              f"{env['threads']} threads, {epochs} epochs (W0-W2), medians of interleaved pairs")
    out.print(table)
