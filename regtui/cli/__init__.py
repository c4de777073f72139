"""The regtui command line. Thin: parse, hand over, print.

One module per group of commands (run, presets, runs after the fact, bench), all on the
one Typer `app` of `regtui.cli.common`. Each command imports what it needs when it runs:
torch only to train, and regtui's own config, presets and run directory only for the
commands that use them, so `regtui --help` starts quickly.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

# Imported for their commands, in the order `regtui --help` lists them.
from regtui.cli import run, presets, runs, importtb, bench  # noqa: F401,I001
from regtui.cli.common import app, leave_tui, out, runs_dir_option

__all__ = ["app"]


def _print_version(value: bool) -> None:
    if value:
        from regtui import __version__

        out.print(f"regtui {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    runs_dir: Path = runs_dir_option(),
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                 help="Print regtui's version and exit."),
) -> None:
    """Bare `regtui` opens the TUI; the app's help (cli.common) says so."""
    if runs_dir is not None:  # `regtui --runs-dir X [COMMAND]`: the commands read it here
        os.environ["REGTUI_RUNS_DIR"] = str(runs_dir)
    if ctx.invoked_subcommand is None:
        if not sys.stdout.isatty():
            out.print(ctx.get_help())
            return
        from regtui.rundir import default_runs_dir
        from regtui.tui.app import RegtuiApp

        leave_tui(RegtuiApp(default_runs_dir()).run())
