"""What every command shares: the Typer app, the two consoles, exit statuses and `fail`.

No command module imports torch, or regtui's config, presets or run directory, at import
time: each imports what it needs when it runs, so `regtui --help` starts quickly.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console

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

RUNS_DIR_HELP = "Where runs are kept [default: ./runs]."


def runs_dir_option() -> Path:
    """The --runs-dir option every command that reads runs takes."""
    return typer.Option(None, "--runs-dir", envvar="REGTUI_RUNS_DIR", help=RUNS_DIR_HELP)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    """Print one clear line to stderr; raise the returned Exit."""
    err.print(f"[bold red]regtui:[/] {message}", markup=True, soft_wrap=True)
    return typer.Exit(code)
