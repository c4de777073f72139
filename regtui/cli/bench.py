"""`regtui bench`: regtui's trainer against hand-written loops, and its reader at scale."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from regtui.cli.common import app, err, fail, out

# Written out here: `regtui --help` does not import the bench (regtui.bench.NAMES).
WORKLOAD_HELP = ("W0, W1, W2, W3 (W3-resnet18, W3-cnn), T98, L1000 (list 1,000 runs) or "
                 "S100k (open a run of 100,000 epochs); repeatable "
                 "\\[default: W0-W2 on cpu; W0-W3 and T98 on a GPU].")


@app.command("bench")
def bench_command(
    workload: list[str] = typer.Option([], "--workload", "-w", help=WORKLOAD_HELP),
    device: str = typer.Option("cpu", help="cpu, cuda, cuda:N, mps or auto."),
    repeats: int = typer.Option(5, min=1, max=50, help="Interleaved pairs per workload (medians; W3 and T98 take at most 3)."),
    epochs: int = typer.Option(10, min=1, max=1000, help="Epochs per training run of W0-W2."),
    mnist: Optional[Path] = typer.Option(None, "--mnist", envvar="REGTUI_MNIST_DIR", show_envvar=True, help="T98: folder with MNIST's t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz]."),
    s100k_steps: int = typer.Option(100_000, "--s100k-steps", min=0, max=10_000_000, help="S100k: step events in its run (the issue's scale: 1000000)."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
) -> None:
    """Measure regtui's trainer against hand-written loops, and its run reader at scale
    (see docs/performance.md)."""
    from regtui import bench
    from regtui import config as config_module
    from regtui.bench import report

    unknown = [w for w in workload if w not in bench.NAMES]
    if unknown:
        raise fail(f"--workload {unknown[0]}: unknown; accepted: {', '.join(bench.NAMES)}")
    if not config_module.DEVICE_PATTERN.match(device):
        raise fail(f"--device {device}: accepted: auto, cpu, cuda, cuda:N, mps")
    from regtui.train import SetupError

    progress = (lambda line: None) if as_json else (lambda line: err.print(line, style="dim"))
    try:
        env = bench.environment(device)
        names = bench.expand_names(workload, env["device"].split(":")[0])
        if "T98" in names:
            if mnist is None and "T98" not in workload:  # a default, not asked for
                names.remove("T98")
                progress(f"T98 skipped: it needs --mnist DIR or {bench.MNIST_ENV}")
            else:
                mnist = bench.find_mnist_t10k(mnist)
        results = bench.run(names, device, repeats, epochs, progress, mnist, s100k_steps)
    except SetupError as error:  # also a data file found to be unreadable once opened
        raise fail(str(error))
    if as_json:
        print(report.to_json(env, results))  # "not reached" is null
        return
    out.print(report.header(env, epochs))
    out.print(report.table(results))
