"""The regtui command line. Thin: parse, hand over, print.

Each command imports what it needs when it runs: torch only to train, and regtui's own
config, presets and run store (about 0.1 s of dataclasses and TOML parsing) only for
the commands that use them, so `regtui --help` starts quickly.
"""

from __future__ import annotations

import math
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer
from rich.console import Console

if TYPE_CHECKING:
    from regtui import config as config_module
    from regtui import presets as presets_module

app = typer.Typer(
    add_completion=False,
    invoke_without_command=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    help="regtui: a terminal training monitor and regularization lab for PyTorch.",
)

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130
EXIT_BY_STATUS = {"completed": 0, "stopped": 0, "failed": EXIT_FAILED,
                  "diverged": EXIT_FAILED, "interrupted": EXIT_INTERRUPTED}

# Piped output is not wrapped at 80 columns: lines stay whole for grep and logs.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 160)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    """Print one clear line to stderr; raise the returned Exit."""
    err.print(f"[bold red]regtui:[/] {message}", markup=True, soft_wrap=True)
    return typer.Exit(code)


@app.callback()
def main(ctx: typer.Context) -> None:
    """Pick presets, train, and watch live curves and alerts in the terminal."""
    if ctx.invoked_subcommand is None:
        if not sys.stdout.isatty():
            out.print(ctx.get_help())
            return
        from regtui.store import default_runs_dir
        from regtui.tui.app import RegtuiApp

        raise typer.Exit(RegtuiApp(default_runs_dir()).run() or 0)


# ---------------------------------------------------------------- run

# flag name -> (section, key)
FLAG_KEYS = {
    "dataset": ("data", "dataset"),
    "data-dir": ("data", "data_dir"),
    "download": ("data", "download"),
    "model": ("model", "name"),
    "pretrained": ("model", "pretrained"),
    "epochs": ("train", "epochs"),
    "batch-size": ("train", "batch_size"),
    "lr": ("train", "lr"),
    "device": ("train", "device"),
    "seed": ("train", "seed"),
}


def flag_layer(flags: dict[str, Any]) -> config_module.Layer:
    """The explicit flags as a checked layer; an error names the flag."""
    from regtui import config as config_module

    layer: config_module.Layer = {}
    for flag, value in flags.items():
        if value is None or value is False:
            continue
        section, key = FLAG_KEYS[flag]
        checked = config_module.check_value(section, key, value, f"--{flag} {value}")
        layer.setdefault(section, {})[key] = checked
    return layer


def _install_signal_handlers(control) -> dict:
    """First Ctrl-C (or SIGTERM) ends the run cleanly at the next step; a second one forces.
    Returns the previous handlers."""
    def handler(signum, frame):
        if control.stop_requested:
            raise KeyboardInterrupt
        control.stop("interrupted")
        err.print("[yellow]stopping after the current step (Ctrl-C again to force)[/]")

    return {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}


@app.command()
def run(
    preset: list[str] = typer.Option([], "--preset", "-p", help="Preset name or path; repeat to compose (left to right)."),
    dataset: Optional[str] = typer.Option(None, help="digits, mnist, fashion-mnist, cifar10, cifar100 or imagefolder."),
    data_dir: Optional[str] = typer.Option(None, "--data-dir", help="Where datasets are (imagefolder: the class-folder root)."),
    download: bool = typer.Option(False, "--download", help="Fetch torchvision datasets / pretrained weights."),
    model: Optional[str] = typer.Option(None, help="mlp, cnn or resnet18."),
    pretrained: bool = typer.Option(False, "--pretrained", help="resnet18: start from ImageNet weights."),
    epochs: Optional[int] = typer.Option(None, help="Number of epochs."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="Samples per step."),
    lr: Optional[float] = typer.Option(None, help="Learning rate."),
    device: Optional[str] = typer.Option(None, help="auto, cpu, cuda, cuda:N or mps."),
    seed: Optional[int] = typer.Option(None, help="Seed for weights, shuffling and augmentation."),
    set_: list[str] = typer.Option([], "--set", help="section.key=value (TOML value or bare word); repeatable."),
    config: Optional[Path] = typer.Option(None, "--config", help="A config.toml to start from (runs/<id>/config.toml repeats a run)."),
    resume: Optional[Path] = typer.Option(None, "--resume", help="Continue an interrupted run directory."),
    runs_dir: Path = typer.Option(None, "--runs-dir", envvar="REGTUI_RUNS_DIR", help="Where runs are kept [default: ./runs]."),
    name: Optional[str] = typer.Option(None, help="Label in the run id instead of the preset names."),
    headless: bool = typer.Option(False, "--headless", help="Print to the console instead of opening the monitor."),
) -> None:
    """Train a model with the given presets and settings; every run is kept in the runs dir."""
    from regtui import presets as presets_module
    from regtui.config import ConfigError
    from regtui.store import default_runs_dir

    runs_dir = runs_dir or default_runs_dir()
    flags = {"dataset": dataset, "data-dir": data_dir, "download": download, "model": model,
             "pretrained": pretrained, "epochs": epochs, "batch-size": batch_size, "lr": lr,
             "device": device, "seed": seed}
    if resume is not None:
        _resume(resume, runs_dir, preset, set_, config, flags)
        return
    try:
        resolved = presets_module.resolve(preset, set_, flag_layer(flags), config)
    except ConfigError as error:
        raise fail(str(error))
    if not headless and sys.stdout.isatty() and sys.stdin.isatty():
        from regtui.tui.app import RegtuiApp

        raise typer.Exit(RegtuiApp(runs_dir, start=resolved).run() or 0)
    _train(lambda **kw: _start(resolved, runs_dir, name, **kw))


def _start(resolved, runs_dir: Path, name: Optional[str], **kwargs):
    from regtui import train

    return train.start(resolved, runs_dir, name=name, **kwargs)


def _resume(run_ref: Path, runs_dir: Path, preset, set_, config, flags) -> None:
    from regtui.config import ConfigError
    from regtui.store import RunDirError, find_run

    allowed = {"epochs", "device"}
    extra = [f"--{k}" for k, v in flags.items() if v not in (None, False) and k not in allowed]
    if preset or set_ or config or extra:
        given = ", ".join(extra + (["--preset"] if preset else []) + (["--set"] if set_ else [])
                          + (["--config"] if config else []))
        raise fail(f"--resume continues a run with its own config; {given} cannot be "
                   "combined with it (accepted: --epochs, --device)")
    try:
        run_dir = find_run(runs_dir, str(run_ref))
        flag_layer({k: flags[k] for k in allowed})
    except (RunDirError, ConfigError) as error:
        raise fail(str(error))

    def go(**kwargs):
        from regtui import train

        return train.resume(run_dir, epochs=flags["epochs"], device=flags["device"], **kwargs)

    _train(go)


def _train(launch) -> None:
    """Run headless with a console view; map the outcome to the exit status."""
    from regtui.config import ConfigError
    from regtui.console import ConsoleView
    from regtui.control import Control
    from regtui.train import RunDirError as TrainRunDirError
    from regtui.train import SetupError

    control = Control()
    view = ConsoleView(out)
    previous = _install_signal_handlers(control)
    try:
        run_dir, finished = launch(listeners=[view], control=control)
    except (SetupError, TrainRunDirError, ConfigError) as error:
        raise fail(str(error))
    finally:
        view.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    out.print(f"run directory: {run_dir}")
    raise typer.Exit(EXIT_BY_STATUS.get(finished.status, EXIT_FAILED))


# ---------------------------------------------------------------- presets

@app.command("presets")
def presets_command(
    name: Optional[str] = typer.Argument(None, help="Show one preset in full."),
) -> None:
    """List the presets, or show one: its description and the settings it changes."""
    from regtui import presets as presets_module
    from regtui.config import ConfigError

    try:
        if name:
            _show_preset(presets_module.load(name))
            return
        from rich.table import Table

        table = Table("name", "group", "description", box=None, pad_edge=False)
        for preset in presets_module.available():
            table.add_row(f"[bold]{preset.name}[/]" + ("" if preset.builtin else " (user)"),
                          preset.group, preset.summary)
        out.print(table)
        out.print("\nCompose left to right: regtui run --preset he --preset dropout. "
                  "`regtui presets NAME` shows one in full.")
    except ConfigError as error:
        raise fail(str(error))


def _show_preset(preset: presets_module.Preset) -> None:
    from regtui import presets as presets_module

    out.print(f"[bold]{preset.name}[/]  ({preset.group}; {preset.path})\n")
    out.print(preset.description + "\n")
    out.print(presets_module.settings_toml(preset), markup=False)


# ---------------------------------------------------------------- runs

@app.command("runs")
def runs_command(
    browse: bool = typer.Option(False, "--browse", "-b", help="Open the Runs screen: replay, compare, export, delete."),
    runs_dir: Path = typer.Option(None, "--runs-dir", envvar="REGTUI_RUNS_DIR", help="Where runs are kept [default: ./runs]."),
) -> None:
    """List the runs: id, presets, status, epochs, best val acc, final gap, diagnosis."""
    from regtui.runs_table import runs_table
    from regtui.store import default_runs_dir, list_runs

    runs_dir = runs_dir or default_runs_dir()
    if browse:
        if not sys.stdout.isatty():
            raise fail("--browse needs a terminal; without it `regtui runs` prints the table")
        from regtui.tui.app import RegtuiApp

        raise typer.Exit(RegtuiApp(runs_dir, browse=True).run() or 0)
    records = list_runs(runs_dir)
    if not records:
        out.print(f"no runs in {runs_dir}; start one with: regtui run --preset dropout")
        return
    out.print(runs_table(records))


# ---------------------------------------------------------------- show and watch

@app.command("show")
def show_command(
    run_ref: str = typer.Argument(..., metavar="RUN", help="Run directory, id or part of an id."),
    plain: bool = typer.Option(False, "--plain", help="Print text (for pipes) instead of opening the monitor."),
    runs_dir: Path = typer.Option(None, "--runs-dir", envvar="REGTUI_RUNS_DIR", help="Where runs are kept [default: ./runs]."),
) -> None:
    """One run's curves, alerts, diagnosis and confusion matrix, without training."""
    from regtui.store import RunDirError, default_runs_dir, find_run

    try:
        run_dir = find_run(runs_dir or default_runs_dir(), run_ref)
    except RunDirError as error:
        raise fail(str(error))
    if plain or not sys.stdout.isatty():
        from regtui.export import RunData, to_markdown

        print(to_markdown(RunData.load(run_dir)), end="")
        return
    from regtui.tui.app import RegtuiApp

    RegtuiApp(run_dir.parent, show=run_dir).run()


def newest_running(runs_dir: Path) -> Path:
    from regtui.store import RunDirError, list_runs

    running = [r for r in list_runs(runs_dir) if r.status == "running"]
    if not running:
        raise RunDirError(f"no run is running in {runs_dir}; give RUN (`regtui runs` lists them)")
    return running[-1].path


@app.command("watch")
def watch_command(
    run_ref: Optional[str] = typer.Argument(None, metavar="[RUN]", help="Run directory, id or part of an id [default: the newest running run]."),
    runs_dir: Path = typer.Option(None, "--runs-dir", envvar="REGTUI_RUNS_DIR", help="Where runs are kept [default: ./runs]."),
) -> None:
    """Attach the monitor to a run another process is writing; q detaches, the run goes on."""
    from regtui.store import RunDirError, default_runs_dir, find_run

    runs_dir = runs_dir or default_runs_dir()
    try:
        if run_ref is None:
            run_dir = newest_running(runs_dir)
        elif Path(run_ref).exists() or "/" in run_ref:
            run_dir = Path(run_ref)  # a directory that may not exist yet: wait for it
        else:
            run_dir = find_run(runs_dir, run_ref)
    except RunDirError as error:
        raise fail(str(error))
    if not sys.stdout.isatty():
        raise fail("watch needs a terminal; for a pipe use `regtui show RUN --plain`")
    from regtui.tui.app import RegtuiApp

    RegtuiApp(run_dir.parent, follow=run_dir).run()


# ---------------------------------------------------------------- compare

@app.command("compare")
def compare_command(
    run_refs: list[str] = typer.Argument(..., metavar="RUN RUN [...]", help="Two or more runs; the first is the reference."),
    plain: bool = typer.Option(False, "--plain", help="No colours (for pipes)."),
    runs_dir: Path = typer.Option(None, "--runs-dir", envvar="REGTUI_RUNS_DIR", help="Where runs are kept [default: ./runs]."),
) -> None:
    """Validation curves overlaid, the config keys that differ, outcomes and attribution."""
    from regtui.compare import compare, comparison_table, text_plot
    from regtui.export import RunData
    from regtui.store import RunDirError, default_runs_dir, find_run

    if len(run_refs) < 2:
        raise fail("compare needs at least two runs")
    try:
        runs = [RunData.load(find_run(runs_dir or default_runs_dir(), ref)) for ref in run_refs]
    except RunDirError as error:
        raise fail(str(error))
    comparison = compare(runs)
    console = Console(highlight=False, no_color=plain, width=out.width)
    console.print(comparison_table(comparison))
    console.print()
    for index in range(1, len(runs)):
        console.print(f"#{index + 1} vs #1: {comparison.attribution(index)}")
    console.print()
    console.print(text_plot(comparison), markup=False)


# ---------------------------------------------------------------- export

@app.command("export")
def export_command(
    run_ref: Optional[str] = typer.Argument(None, metavar="RUN", help="Run directory, id or part of an id."),
    fmt: list[str] = typer.Option(["md"], "--format", "-f", help="md, json, csv, html, tensorboard or all; repeatable."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="File (folder for tensorboard) to write; one run and one format only."),
    every_run: bool = typer.Option(False, "--all", help="Export every run in the runs dir."),
    runs_dir: Path = typer.Option(None, "--runs-dir", envvar="REGTUI_RUNS_DIR", help="Where runs are kept [default: ./runs]."),
) -> None:
    """Write a run's summary as md, json, csv, html or TensorBoard files (into the run dir by default)."""
    from regtui import export as export_module
    from regtui.store import RunDirError, default_runs_dir, find_run, list_runs

    runs_dir = runs_dir or default_runs_dir()
    formats = list(export_module.FORMATS) if "all" in fmt else fmt
    unknown = [f for f in formats if f not in export_module.FORMATS]
    if unknown:
        raise fail(f"--format {unknown[0]}: unknown; accepted: "
                   f"{', '.join(export_module.FORMATS)}, all")
    if every_run == bool(run_ref):
        raise fail("give one RUN or --all")
    try:
        runs = [r.path for r in list_runs(runs_dir)] if every_run else [find_run(runs_dir, run_ref)]
    except RunDirError as error:
        raise fail(str(error))
    if output and (len(runs) > 1 or len(formats) > 1):
        raise fail("-o names one file: use it with one RUN and one --format")
    for run_dir in runs:
        for name in formats:
            try:
                written = export_module.export(run_dir, name, output)
            except export_module.ExportError as error:
                raise fail(str(error))
            out.print(f"{name}: {written}")


# ---------------------------------------------------------------- bench

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
    """Measure regtui's trainer against hand-written loops (see the README's Performance)."""
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
