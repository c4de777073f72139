"""`regtui import-tb LOGDIR`: a TensorBoard log becomes a regtui run (alerts, compare, export)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from regtui.cli.common import app, fail, out, runs_dir_option


@app.command("import-tb")
def import_tb_command(
    logdirs: list[Path] = typer.Argument(..., metavar="LOGDIR [...]", help="TensorBoard log folders; each becomes one run (its subfolders, like Keras' train/ and validation/, are merged)."),
    name: Optional[str] = typer.Option(None, "--name", help="The run's label [default: the folder's name]."),
    num_classes: Optional[int] = typer.Option(None, "--num-classes", min=1, help="Classes of the task, for the chance-level and divergence checks."),
    metric: list[str] = typer.Option([], "--metric", "-m", metavar="TAG=FIELD", help="Map a tag by hand (FIELD: train_loss, train_acc, val_loss, val_acc, lr, grad_norm; or 'extra'); repeatable."),
    runs_dir: Path = runs_dir_option(),
) -> None:
    """Turn TensorBoard scalars into a regtui run, with the detectors' alerts."""
    from regtui.api.tensorboard import LogdirError, import_logdir
    from regtui.rundir import RunWriteError, default_runs_dir

    mapping: dict[str, str | None] = {}
    for item in metric:
        tag, sep, field = item.rpartition("=")
        if not sep or not tag:
            raise fail(f"--metric {item}: expected TAG=FIELD")
        mapping[tag] = None if field == "extra" else field
    for logdir in logdirs:
        try:
            run_dir, alerts = import_logdir(logdir, runs_dir or default_runs_dir(), name,
                                           num_classes, mapping)
        except (LogdirError, ValueError) as error:
            raise fail(str(error))
        except RunWriteError as error:
            raise fail(str(error))
        out.print(f"{logdir} -> {run_dir} ({alerts} alert{'s' if alerts != 1 else ''})",
                  markup=False, highlight=False)
