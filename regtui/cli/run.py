"""`regtui run`: train a new run, or resume one, in the monitor or headless."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from regtui.cli.common import (EXIT_BY_STATUS, EXIT_FAILED, app, err, fail, leave_tui, out,
                               runs_dir_option)

if TYPE_CHECKING:
    from regtui import config as config_module

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
    "notify": ("notify", "urls"),
    "notify-command": ("notify", "command"),
}


def flag_layer(flags: dict[str, Any]) -> config_module.Layer:
    """The explicit flags as a checked layer; an error names the flag."""
    from regtui import config as config_module

    layer: config_module.Layer = {}
    for flag, value in flags.items():
        if value is None or value is False or value == []:
            continue
        section, key = FLAG_KEYS[flag]
        shown = " ".join(value) if isinstance(value, list) else value
        checked = config_module.check_value(section, key, value, f"--{flag} {shown}")
        layer.setdefault(section, {})[key] = checked
    return layer


def _install_signal_handlers(control) -> dict:
    """First Ctrl-C (or SIGTERM) ends the run cleanly at the next step; a second one forces.
    Returns the previous handlers."""
    def handler(signum, frame):
        if control.stop_requested:
            raise KeyboardInterrupt
        control.stop("interrupted")
        err.print("stopping after the current step (Ctrl-C again to force)", style="yellow",
                  markup=False)

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
    runs_dir: Path = runs_dir_option(),
    name: Optional[str] = typer.Option(None, help="Label in the run id instead of the preset names."),
    headless: bool = typer.Option(False, "--headless", help="Print to the console instead of opening the monitor."),
    notify: list[str] = typer.Option([], "--notify", metavar="URL", help="Webhook to POST alerts and the run's end to (Slack, Discord, JSON); repeatable. Also \\[notify] urls, $REGTUI_NOTIFY."),
    notify_command: Optional[str] = typer.Option(None, "--notify-command", metavar="CMD", help="Shell command run per notification: the message on stdin, fields in REGTUI_* variables."),
) -> None:
    """Train a model with the given presets and settings; every run is kept in the runs dir."""
    from regtui import presets as presets_module
    from regtui.config import ConfigError
    from regtui.rundir import default_runs_dir

    runs_dir = runs_dir or default_runs_dir()
    flags = {"dataset": dataset, "data-dir": data_dir, "download": download, "model": model,
             "pretrained": pretrained, "epochs": epochs, "batch-size": batch_size, "lr": lr,
             "device": device, "seed": seed, "notify": notify,
             "notify-command": notify_command}
    if resume is not None:
        _resume(resume, runs_dir, preset, set_, config, flags)
        return
    try:
        resolved = presets_module.resolve(preset, set_, flag_layer(flags), config)
    except ConfigError as error:
        raise fail(str(error))
    from regtui.engine import live_run

    if not headless and sys.stdout.isatty() and sys.stdin.isatty():
        from regtui.tui.app import RegtuiApp

        leave_tui(RegtuiApp(runs_dir, source=live_run(resolved, runs_dir, name)).run())
    _train(live_run(resolved, runs_dir, name, buffered=False))


def _resume(run_ref: Path, runs_dir: Path, preset, set_, config, flags) -> None:
    from regtui.config import ConfigError
    from regtui.rundir import RunDirError, find_run

    allowed = {"epochs", "device", "notify", "notify-command"}
    extra = [f"--{k}" for k, v in flags.items()
             if v not in (None, False, []) and k not in allowed]
    if preset or set_ or config or extra:
        given = ", ".join(extra + (["--preset"] if preset else []) + (["--set"] if set_ else [])
                          + (["--config"] if config else []))
        raise fail(f"--resume continues a run with its own config; {given} cannot be "
                   "combined with it (accepted: --epochs, --device, --notify, "
                   "--notify-command)")
    try:
        run_dir = find_run(runs_dir, str(run_ref))
        checked = flag_layer({k: flags[k] for k in allowed})
    except (RunDirError, ConfigError) as error:
        raise fail(str(error))

    from regtui.engine import resumed_run
    from regtui.events import read_events
    from regtui.rundir import EVENTS_NAME

    # The console judges the whole run at the end, the epochs before this resume included.
    earlier = read_events(run_dir / EVENTS_NAME)
    _train(resumed_run(run_dir, epochs=flags["epochs"], device=flags["device"], buffered=False,
                       notify=checked.get("notify")), earlier)


def _train(source, earlier=()) -> None:
    """Train `source` (a LiveSource) here, headless, with the console view subscribed
    (`earlier`: the run's events before a resume); map the outcome to the exit status."""
    from regtui.views.console import ConsoleView

    view = ConsoleView(out, earlier=earlier, errors=err)
    source.subscribe(view)
    previous = _install_signal_handlers(source.control)
    try:
        finished = source.run()
        if finished is None:
            raise fail(source.failure()[0])
    finally:
        view.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    from regtui.views.format import safe_text

    out.print(safe_text(f"run directory: {source.run_dir}"), markup=False)
    raise typer.Exit(EXIT_BY_STATUS.get(finished.status, EXIT_FAILED))
