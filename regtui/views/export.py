"""Export a run directory as md, json, csv, html or TensorBoard event files.

Reads the run directory only (events.jsonl, config.toml); works on interrupted and torn
runs because the summary is folded from whatever events are readable.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import math
import threading
from pathlib import Path
from typing import Any, Callable

from regtui.events import Epoch, System, jsonable
from regtui.rundir import RunData, write_export, write_export_folder
from regtui.views.compare import settings_of
from regtui.views.format import alert_head, fmt, fmt_bytes, safe_text
from regtui.views.system import (system_columns, system_line, system_row,
                                 tensorboard_scalars)
from regtui.views.textplot import Series
from regtui.views.textplot import text_plot as draw_text_plot

FORMATS = ("md", "json", "csv", "html", "tensorboard")
CSV_COLUMNS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "grad_norm",
               "seconds", "samples_per_s", "weight_norm", "sparsity", "clipped")


TENSORBOARD_TAGS = {"train_loss": "loss/train", "val_loss": "loss/val",
                    "train_acc": "accuracy/train", "val_acc": "accuracy/val",
                    "lr": "lr", "grad_norm": "grad_norm"}


WRITTEN_BY = {"api": "a script, through regtui.init",
              "tensorboard": "regtui import-tb, from a TensorBoard log"}


class ExportError(RuntimeError):
    """An export cannot be written (a missing optional package, ...)."""


EPOCH_FIELDS = {f.name for f in dataclasses.fields(Epoch)}


def epoch_row(epoch: Epoch) -> dict[str, Any]:
    """The CSV columns of one epoch; extras (weight norm, ...) where the run recorded them."""
    extras = epoch.extras or {}
    return {key: getattr(epoch, key) if key in EPOCH_FIELDS else extras.get(key, "")
            for key in CSV_COLUMNS}


def _num(value: Any, digits: int = 4) -> str:
    return fmt(value, digits)


def system_samples(run: RunData) -> list[System]:
    """The run's readings of the machine (`system` events), oldest first."""
    return [event for event in run.events if isinstance(event, System)]


def _start_time(run: RunData) -> float:
    started = run.summary.get("started")
    return started if isinstance(started, (int, float)) else 0.0


# ---------------------------------------------------------------- formats

def to_json(run: RunData) -> str:
    start = _start_time(run)
    body = {"summary": run.summary, "epochs": [epoch_row(e) | {"extras": e.extras}
                                               for e in run.epochs],
            "system": [system_row(sample, start) for sample in system_samples(run)]}
    return json.dumps(jsonable(body), indent=2) + "\n"


def to_csv(run: RunData) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for epoch in run.epochs:
        writer.writerow(epoch_row(epoch))
    return buffer.getvalue()


def to_system_csv(run: RunData) -> str | None:
    """One row per `system` event (see views.system.system_row for the units); None for
    a run without any."""
    samples = system_samples(run)
    if not samples:
        return None
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=system_columns(samples), restval="")
    writer.writeheader()
    start = _start_time(run)
    for sample in samples:
        writer.writerow(system_row(sample, start))
    return buffer.getvalue()


def system_csv_target(target: Path) -> Path:
    """Where the system samples go beside a csv export: export.csv -> export-system.csv."""
    return target.with_name(f"{target.stem}-system{target.suffix or '.csv'}")


def text_plot(run: RunData, width: int = 78, height: int = 18) -> str:
    """Loss and accuracy curves as plain text (plotext, no colours)."""
    xs = [e.epoch for e in run.epochs]
    panels = [(title, [Series(key.split("_")[0], "•" if key.startswith("train") else "x", xs,
                              [getattr(e, key) for e in run.epochs]) for key in keys])
              for title, keys in (("loss", ("train_loss", "val_loss")),
                                  ("accuracy", ("train_acc", "val_acc")))]
    return draw_text_plot(panels, width, height)


def extra_names(run: RunData) -> list[str]:
    """The numeric extras the run's epochs hold (a script's other metrics, weight_norm, ...)."""
    names: dict[str, None] = {}
    for epoch in run.epochs:
        for key, value in (epoch.extras or {}).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                names[key] = None
    return list(names)


def metric_plot(run: RunData, names: list[str], width: int = 78, height: int = 14) -> str:
    """The named per-epoch metrics (Epoch fields or extras), one panel each, as text.

    Raises ExportError naming the metrics the run has when one is unknown."""
    known = [*CURVE_FIELDS, *extra_names(run)]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ExportError(f"--metric {unknown[0]}: not in this run; it has "
                          f"{', '.join(known)}")
    xs = [e.epoch for e in run.epochs]

    def values(name: str) -> list[float]:
        if name in CURVE_FIELDS:
            return [getattr(e, name) for e in run.epochs]
        return [float(e.extras.get(name, math.nan)) if isinstance(
            e.extras.get(name), (int, float)) else math.nan for e in run.epochs]

    return "\n".join(draw_text_plot([(name, [Series(name, "•", xs, values(name))])], width,
                                    height) for name in names)


CURVE_FIELDS = ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "grad_norm",
                "seconds", "samples_per_s")


def to_markdown(run: RunData) -> str:
    s = run.summary
    diagnosis = (s.get("diagnosis") or {}).get("verdict", "-")
    lines = [f"# regtui run {s['run_id']}", "",
             "| | |", "| --- | --- |",
             f"| presets | {', '.join(s['presets']) or '-'} |",
             *([f"| written by | {WRITTEN_BY.get(s['source'], s['source'])} |"]
               if s.get("source") not in (None, "trainer") else []),
             f"| data / model | {fmt(s['dataset'])} / {fmt(s['model'])} |",
             f"| status | {s['status']}{' (' + s['reason'] + ')' if s.get('reason') else ''} |",
             f"| epochs | {s['epochs_completed']} of {s['epochs_planned']} |",
             f"| best val acc | {_num(s['best_val_acc'])} at epoch {_num(s['best_epoch'])} |",
             f"| test acc | {_num(s['test_acc'])} |",
             f"| final train−val gap | {_num(s['final_gap'])} |",
             f"| diagnosis | {diagnosis} |",
             f"| train seconds | {_num(s['train_seconds'], 1)} |",
             *_system_rows(run), "",
             "## Curves", "", "```", text_plot(run).rstrip(), "```", "",
             "## Alerts", ""]
    alerts = s.get("alerts") or []
    lines += [f"- epoch {a['epoch']} **{alert_head(a['level'], a['kind'], a['message'])}** "
              f"{a['message']}"
              + (f" — try {', '.join(a['suggest'])}" if a.get("suggest") else "")
              for a in alerts] or ["(none)"]
    extras = extra_names(run)
    if extras:
        lines += ["", "Other metrics: " + ", ".join(extras) + " (plot one with "
                  f"`regtui show {s['run_id']} --metric NAME`)"]
    lines += ["", "## Epochs", "", "| " + " | ".join(CSV_COLUMNS[:7]) + " |",
              "|" + " --- |" * 7]
    lines += ["| " + " | ".join(_num(epoch_row(e)[key]) for key in CSV_COLUMNS[:7]) + " |"
              for e in run.epochs]
    matrix = s.get("confusion_matrix")
    if matrix:
        classes = s.get("classes") or [str(i) for i in range(len(matrix))]
        lines += ["", "## Confusion matrix (rows: true class, columns: predicted)", "",
                  "| | " + " | ".join(classes) + " |", "|" + " --- |" * (len(classes) + 1)]
        lines += [f"| **{name}** | " + " | ".join(str(c) for c in row) + " |"
                  for name, row in zip(classes, matrix)]
    lines += ["", "## Config", "", "```toml", run.config_toml.rstrip(), "```", ""]
    if s.get("unreadable_lines"):
        lines += [f"({s['unreadable_lines']} unreadable lines of events.jsonl were skipped)", ""]
    # Names, messages and the config come from files: shown as text, never as terminal codes.
    return safe_text("\n".join(lines), lines=True)


def _system_rows(run: RunData) -> list[str]:
    """The markdown summary's rows about the machine: the peak GPU memory, the last reading."""
    rows = []
    if run.summary.get("peak_gpu_mem"):
        rows.append(f"| peak GPU memory (torch) | {fmt_bytes(run.summary['peak_gpu_mem'])} |")
    samples = system_samples(run)
    if samples:
        line = system_line(samples[-1]).plain.replace("|", "\\|")
        rows.append(f"| machine at the end | {line} |")
    return rows


def to_html(run: RunData) -> str:
    """One self-contained page (plotly.js inlined: it opens offline)."""
    try:
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots
    except ImportError:
        raise ExportError("the html export needs plotly: pip install 'regtui[html]' "
                          "(or pip install plotly)") from None
    xs = [e.epoch for e in run.epochs]
    figure = make_subplots(rows=1, cols=2, subplot_titles=("loss", "accuracy"))
    for column, keys in ((1, ("train_loss", "val_loss")), (2, ("train_acc", "val_acc"))):
        for key in keys:
            values = [getattr(e, key) if math.isfinite(getattr(e, key)) else None
                      for e in run.epochs]
            figure.add_trace(go.Scatter(x=xs, y=values, name=key, mode="lines+markers"),
                             row=1, col=column)
    figure.update_layout(title=f"regtui run {run.summary['run_id']}", height=450)
    chart = figure.to_html(full_html=False, include_plotlyjs=True)
    summary_md = to_markdown(run)
    from html import escape

    return ("<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>regtui {escape(run.summary['run_id'])}</title></head><body>"
            f"{chart}<pre>{escape(summary_md)}</pre></body></html>\n")


TENSORBOARD_FILES = "events.out.tfevents.*"


def to_tensorboard(run: RunData, folder: Path) -> list[Path]:
    """Event files for `tensorboard --logdir folder`: per-epoch scalars and hparams.

    They replace the event files of an earlier export in that folder (a re-export would
    otherwise show every scalar twice); raises ExportError, RunDirError or OSError."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ExportError("the tensorboard export needs tensorboard: "
                          "pip install 'regtui[tensorboard]'") from None
    with _quiet_writer_threads():
        write_export_folder(run.path, folder, lambda staging: _write_tensorboard(
            run, staging, SummaryWriter), TENSORBOARD_FILES)
    return sorted(folder.rglob(TENSORBOARD_FILES))


@contextlib.contextmanager
def _quiet_writer_threads():
    """TensorBoard writes from a thread of its own; when that write fails (a full disk)
    the thread prints its traceback and the same error is raised again on our side. Keep
    the error, drop the thread's traceback: bad output is one line."""
    previous = threading.excepthook

    def hook(args: threading.ExceptHookArgs) -> None:
        if type(args.thread).__module__.startswith("tensorboard."):
            return
        previous(args)

    threading.excepthook = hook
    try:
        yield
    finally:
        threading.excepthook = previous


def _write_tensorboard(run: RunData, folder: Path, summary_writer) -> None:
    writer = summary_writer(log_dir=str(folder))
    for epoch in run.epochs:
        for key, tag in TENSORBOARD_TAGS.items():
            value = getattr(epoch, key)
            if math.isfinite(value):
                writer.add_scalar(tag, value, epoch.epoch)
    start = _start_time(run)
    for sample in system_samples(run):  # step: whole seconds since the run started
        for tag, value in tensorboard_scalars(sample).items():
            writer.add_scalar(tag, value, int(sample.t - start), walltime=sample.t)
    hparams = {key: (value if isinstance(value, (int, float, str, bool)) else str(value))
               for key, value in settings_of(run).items() if value is not None}
    s = run.summary
    metrics = {f"hparam/{key}": float(s[key]) for key in ("best_val_acc", "test_acc",
                                                            "final_gap")
               if isinstance(s.get(key), (int, float))}
    writer.add_hparams(hparams, metrics, run_name=".")
    writer.close()


WRITERS: dict[str, Callable[[RunData], str]] = {
    "md": to_markdown, "json": to_json, "csv": to_csv, "html": to_html,
}


def export(run_dir: Path, format_name: str, output: Path | None = None) -> Path:
    """Write one export of `run_dir`; returns the file (or folder, for tensorboard) written.

    Default target: export.<format> (or tensorboard/) inside the run directory. Raises
    ExportError for an unknown format or a missing optional package, RunDirError for a
    target that would replace one of a run's own files (or a run that cannot be read),
    OSError for a failed write (which leaves no empty or partial file)."""
    return export_files(run_dir, format_name, output)[0]


def export_files(run_dir: Path, format_name: str, output: Path | None = None) -> list[Path]:
    """export(), and every file it wrote: csv adds export-system.csv beside export.csv
    when the run has `system` events."""
    if format_name not in FORMATS:
        raise ExportError(f"unknown format {format_name!r}; accepted: {', '.join(FORMATS)}")
    run = RunData.load(run_dir)
    if format_name == "tensorboard":
        folder = output or run_dir / "tensorboard"
        to_tensorboard(run, folder)
        return [folder]
    # never summary.json: that one is the run's own, rewritten while it trains
    target = output or run_dir / f"export.{format_name}"
    written = [write_export(run_dir, target, WRITERS[format_name](run))]
    system_csv = to_system_csv(run) if format_name == "csv" else None
    if system_csv is not None:
        written.append(write_export(run_dir, system_csv_target(target), system_csv))
    return written
