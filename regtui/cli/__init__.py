"""The regtui command line. Thin: parse, hand over, print.

One module per group of commands (run, presets, runs after the fact, bench), all on the
one Typer `app` of `regtui.cli.common`. Each command imports what it needs when it runs:
torch only to train, and regtui's own config, presets and run directory only for the
commands that use them, so `regtui --help` starts quickly.
"""

from __future__ import annotations

import sys

import typer

# Imported for their commands, in the order `regtui --help` lists them.
from regtui.cli import run, presets, runs, importtb, bench  # noqa: F401,I001
from regtui.cli.common import app, out

__all__ = ["app"]


@app.callback()
def main(ctx: typer.Context) -> None:
    """Pick presets, train, and watch live curves and alerts in the terminal."""
    if ctx.invoked_subcommand is None:
        if not sys.stdout.isatty():
            out.print(ctx.get_help())
            return
        from regtui.rundir import default_runs_dir
        from regtui.tui.app import RegtuiApp

        raise typer.Exit(RegtuiApp(default_runs_dir()).run() or 0)
