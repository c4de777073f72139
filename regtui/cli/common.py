"""What every command shares: the Typer app, the two consoles, exit statuses and `fail`.

No command module imports torch, or regtui's config, presets or run directory, at import
time: each imports what it needs when it runs, so `regtui --help` starts quickly.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any, NoReturn, Sequence

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup

try:  # typer >= 0.26 carries its own copy of click
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover - older typer runs on click itself
    from click import exceptions as click_exceptions


class OneLineErrors(TyperGroup):
    """The command group, with usage errors (`--lr abc`, `--epochs 1.5`, an unknown
    option, a stray or missing argument) as one line on stderr and exit status 2, as
    every other bad input, instead of click's framed box. --help, completion and every
    command's own exit status are untouched."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            status = super().main(args, prog_name, complete_var, standalone_mode=False,
                                  **extra)
        except click_exceptions.NoArgsIsHelpError as error:
            error.show()
            sys.exit(error.exit_code)
        except click_exceptions.UsageError as error:
            print_error(f"{error.format_message()} (`{_command_name(error.ctx)} --help` lists "
                        "what it accepts)")
            sys.exit(error.exit_code)
        except click_exceptions.ClickException as error:
            print_error(error.format_message())
            sys.exit(error.exit_code)
        except typer.Abort:
            print_error("aborted")
            sys.exit(1)
        # Without standalone mode a command's typer.Exit(code) comes back as its code.
        sys.exit(status if isinstance(status, int) else 0)


def _command_name(ctx: Any) -> str:
    """`regtui run` for the context of `run`, however the program was started."""
    names = []
    while ctx is not None and ctx.parent is not None:
        names.append(ctx.info_name)
        ctx = ctx.parent
    return " ".join(["regtui", *reversed(names)])


app = typer.Typer(
    cls=OneLineErrors,
    add_completion=True,
    invoke_without_command=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    help="regtui: a terminal training monitor and regularization lab for PyTorch.\n\n"
         "Bare [bold]regtui[/] on a terminal opens the monitor at its Setup screen: tick "
         "presets, start runs, browse the runs kept on disk. The commands below do the same "
         "from the shell; [bold]--runs-dir[/] before a command applies to it.",
)

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130
EXIT_BY_STATUS = {"completed": 0, "stopped": 0, "failed": EXIT_FAILED,
                  "diverged": EXIT_FAILED, "interrupted": EXIT_INTERRUPTED}

# Piped output is not wrapped at 80 columns: lines stay whole for grep and logs.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 160)

# Rich markup would eat a bare "[default: ...]": the bracket is escaped.
RUNS_DIR_HELP = "Where runs are kept \\[default: ./runs]."


def _no_value_for_flags() -> None:
    """Typer 0.2x lists flags with a value type (`--headless <bool>`); a flag takes no
    value, so its type column stays empty."""
    core = typer.core.TyperOption
    shown = core.display_type_rich
    if getattr(shown, "regtui_flags", False):
        return

    def display_type_rich(self, ctx):
        if self.is_flag and self.metavar is None:
            return None
        return shown(self, ctx)

    display_type_rich.regtui_flags = True
    core.display_type_rich = display_type_rich


_no_value_for_flags()


def runs_dir_option() -> Path:
    """The --runs-dir option every command that reads runs takes."""
    return typer.Option(None, "--runs-dir", envvar="REGTUI_RUNS_DIR", help=RUNS_DIR_HELP)


def print_error(message: str) -> None:
    """`regtui: message` as one line on stderr; the message is printed literally (no rich
    markup: `[foo]` stays `[foo]`), without control characters or line breaks."""
    from regtui.views.format import safe_text

    err.print(Text.assemble(("regtui:", "bold red"), " ", safe_text(message)),
              soft_wrap=True, highlight=False)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    """Print one clear line to stderr; raise the returned Exit."""
    print_error(message)
    return typer.Exit(code)


def leave_tui(code: int | None) -> NoReturn:
    """End the process once the monitor has closed, with its exit status.

    The run it trained has ended (run_finished written, files closed) by now; what is
    left is the interpreter's own teardown, which takes seconds once torch is loaded. The
    prompt comes back at once instead, when nothing else is running."""
    code = code or 0
    others = [t for t in threading.enumerate()
              if t is not threading.main_thread() and not t.daemon]
    if "torch" in sys.modules and not others:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    raise typer.Exit(code)
