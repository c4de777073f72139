"""Runs after the fact: `runs`, `show`, `watch`, `compare` and `export`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from regtui.cli.common import (EXIT_BAD_INPUT, app, err, fail, leave_tui, out, print_error,
                               runs_dir_option)

@app.command("runs")
def runs_command(
    browse: bool = typer.Option(False, "--browse", "-b", help="Open the Runs screen: replay, compare, export, delete."),
    runs_dir: Path = runs_dir_option(),
) -> None:
    """List the runs: id, presets, status, epochs, best val acc, final gap, diagnosis."""
    from regtui.views.format import safe_text
    from regtui.views.runs_table import runs_table
    from regtui.rundir import default_runs_dir, list_runs

    runs_dir = runs_dir or default_runs_dir()
    if browse:
        if not sys.stdout.isatty():
            raise fail("--browse needs a terminal; without it `regtui runs` prints the table")
        from regtui.tui.app import RegtuiApp

        leave_tui(RegtuiApp(runs_dir, browse=True).run())
    records = list_runs(runs_dir)
    if not records:
        out.print(safe_text(f"no runs in {runs_dir}; start one with: regtui run --preset "
                            "dropout"), markup=False)
        return
    table = runs_table(records, out.width if out.is_terminal else None)
    if out.is_terminal:
        out.print(table)
    else:  # piped: every row whole, however long (for grep and logs)
        Console(highlight=False, width=100_000, no_color=True).print(table)
    unreadable = [r for r in records if r.status == "unreadable"]
    skipped = sum(r.summary.get("unreadable_lines") or 0 for r in records)
    if unreadable or skipped:
        notes = ([f"{len(unreadable)} run(s) could not be read (reason in the diagnosis "
                  "column)"] if unreadable else []) + \
            ([f"{skipped} unreadable line(s) of events.jsonl skipped"] if skipped else [])
        err.print(safe_text("note: " + "; ".join(notes)), style="yellow", markup=False)


# ---------------------------------------------------------------- show and watch

@app.command("show")
def show_command(
    run_ref: str = typer.Argument(..., metavar="RUN", help="Run directory, id or part of an id."),
    plain: bool = typer.Option(False, "--plain", help="Print text (for pipes) instead of opening the monitor."),
    metric: list[str] = typer.Option([], "--metric", "-m", metavar="NAME", help="Plot this per-epoch metric as text (a curve or any other metric the run logged); repeatable."),
    runs_dir: Path = runs_dir_option(),
) -> None:
    """One run's curves, alerts, diagnosis and confusion matrix, without training."""
    from regtui.rundir import RunDirError, default_runs_dir, find_run

    try:
        run_dir = find_run(runs_dir or default_runs_dir(), run_ref)
    except RunDirError as error:
        raise fail(str(error))
    if metric:
        from regtui.rundir import RunData
        from regtui.views.export import ExportError, metric_plot

        try:
            print(metric_plot(RunData.load(run_dir), metric))
        except ExportError as error:
            raise fail(str(error))
        return
    if plain or not sys.stdout.isatty():
        from regtui.rundir import RunData
        from regtui.views.export import to_markdown

        try:
            run = RunData.load(run_dir)
        except RunDirError as error:
            raise fail(str(error))
        print(to_markdown(run), end="")  # free of control characters (to_markdown)
        return
    from regtui.sources import source_for
    from regtui.tui.app import RegtuiApp

    leave_tui(RegtuiApp(run_dir.parent, source=source_for(run_dir)).run())


def newest_running(runs_dir: Path, wait: float = 0.0) -> Path:
    """The newest running run in `runs_dir`, waiting up to `wait` seconds for one to
    start (`nohup regtui run ... &` takes a few seconds to create its directory)."""
    import time

    from regtui.rundir import RunDirError, list_runs

    deadline = time.monotonic() + wait
    told = False
    while True:
        running = [r for r in list_runs(runs_dir) if r.status == "running"]
        if running:
            return running[-1].path
        if time.monotonic() >= deadline:
            waited = f" after waiting {wait:g}s" if wait > 0 else ""
            raise RunDirError(f"no run is running in {runs_dir}{waited}; give RUN "
                              "(`regtui runs` lists them) or a longer --wait")
        if not told:
            err.print(f"waiting up to {wait:g}s for a run to start in {runs_dir} "
                      "(Ctrl-C gives up)…")
            told = True
        time.sleep(0.25)


@app.command("watch")
def watch_command(
    run_ref: Optional[str] = typer.Argument(None, metavar="RUN", help="Run directory, id or part of an id \\[default: the newest running run]."),
    wait: float = typer.Option(30.0, "--wait", min=0, help="Without RUN: seconds to wait for a run to start when none is running yet."),
    runs_dir: Path = runs_dir_option(),
) -> None:
    """Attach the monitor to a run another process is writing; q detaches, the run goes on."""
    from regtui.rundir import RunDirError, default_runs_dir, find_run

    runs_dir = runs_dir or default_runs_dir()
    try:
        if run_ref is None:  # waiting only makes sense where the monitor can open
            run_dir = newest_running(runs_dir, wait if sys.stdout.isatty() else 0.0)
        elif Path(run_ref).exists() or "/" in run_ref:
            run_dir = Path(run_ref)  # a directory that may not exist yet: wait for it
        else:
            run_dir = find_run(runs_dir, run_ref)
    except RunDirError as error:
        raise fail(str(error))
    if not sys.stdout.isatty():
        raise fail("watch needs a terminal; for a pipe use `regtui show RUN --plain`")
    from regtui.sources import FollowSource
    from regtui.tui.app import RegtuiApp

    leave_tui(RegtuiApp(run_dir.parent, source=FollowSource(run_dir)).run())


# ---------------------------------------------------------------- compare

@app.command("compare")
def compare_command(
    run_refs: list[str] = typer.Argument(..., metavar="RUN RUN [...]", help="Two or more runs; the first is the reference."),
    plain: bool = typer.Option(False, "--plain", help="No colours (for pipes)."),
    runs_dir: Path = runs_dir_option(),
) -> None:
    """Validation curves overlaid, the config keys that differ, outcomes and attribution."""
    from regtui.views.compare import compare, comparison_table, text_plot
    from regtui.rundir import RunData
    from regtui.rundir import RunDirError, default_runs_dir, find_run

    if len(run_refs) < 2:
        raise fail("compare needs at least two runs")
    try:
        runs = [RunData.load(find_run(runs_dir or default_runs_dir(), ref)) for ref in run_refs]
    except RunDirError as error:
        raise fail(str(error))
    from rich.text import Text

    from regtui.views.format import safe_text

    comparison = compare(runs)
    console = Console(highlight=False, no_color=plain, width=out.width)
    console.print(comparison_table(comparison))
    console.print()
    for index in range(1, len(runs)):
        console.print(Text(safe_text(f"#{index + 1} vs #1: {comparison.attribution(index)}")))
    console.print()
    console.print(Text(safe_text(text_plot(comparison), lines=True)))


# ---------------------------------------------------------------- export

@app.command("export")
def export_command(
    run_ref: Optional[str] = typer.Argument(None, metavar="RUN", help="Run directory, id or part of an id."),
    fmt: list[str] = typer.Option(["md"], "--format", "-f", help="md, json, csv, html, tensorboard or all; repeatable."),
    output: Optional[str] = typer.Option(None, "-o", "--output", help="File (folder for tensorboard) to write; one run and one format only."),
    every_run: bool = typer.Option(False, "--all", help="Export every run in the runs dir."),
    runs_dir: Path = runs_dir_option(),
) -> None:
    """Write a run's summary as md, json, csv, html or TensorBoard files (into the run dir by default)."""
    from regtui.views import export as export_module
    from regtui.rundir import RunDirError, default_runs_dir, find_run, list_runs
    from regtui.views.format import safe_text

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
    if output is not None and not output.strip():
        raise fail("-o: empty; give a file name (a folder for tensorboard)")
    target = Path(output) if output is not None else None
    if target and (len(runs) > 1 or len(formats) > 1):
        raise fail("-o names one file: use it with one RUN and one --format")
    # html and tensorboard load plotly and torch (seconds): say what is being written
    if err.is_terminal:  # a pipe or a log gets only what was written (or one error line)
        err.print(f"exporting {', '.join(formats)} of {len(runs)} "
                  f"run{'s' if len(runs) != 1 else ''}…", style="dim")
    for run_dir in runs:
        for name in formats:
            try:
                with err.status(f"{run_dir.name}: writing {name}…"):
                    written = export_module.export_files(run_dir, name, target)
            except RunDirError as error:
                if not every_run:
                    raise fail(str(error))
                print_error(f"skipped: {error}")  # --all: one bad run does not stop the rest
                break
            except export_module.ExportError as error:
                raise fail(str(error))
            except OSError as error:  # read-only, full, a file where a folder should be, ...
                where = target or run_dir
                raise fail(f"cannot write the {name} export of {run_dir.name} to {where}: "
                           f"{error.strerror or error}"
                           + ("; give -o PATH somewhere writable" if target is None else ""),
                           EXIT_BAD_INPUT)
            out.print(safe_text(f"{name}: {', '.join(str(path) for path in written)}"),
                      markup=False)
