"""One row per run, the same in `regtui runs` and the TUI's Runs screen."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

from rich.table import Table
from rich.text import Text

from regtui.rundir import RunRecord
from regtui.views.format import STATUS_STYLE, fmt, fmt_bytes, safe_text

COLUMNS = ("id", "presets", "data / model", "status", "epochs", "best val acc", "final gap",
           "diagnosis", "started")
GPU_COLUMN = "peak gpu mem"  # shown only when some run has the figure (a CUDA run)


def columns_for(records: Sequence[RunRecord]) -> tuple[str, ...]:
    """COLUMNS, and the peak GPU memory column when any of the runs recorded one."""
    if any(record.summary.get("peak_gpu_mem") for record in records):
        return (*COLUMNS, GPU_COLUMN)
    return COLUMNS


def diagnosis_text(summary: dict[str, Any]) -> str:
    """The verdict; for a run that cannot be read, why not."""
    if summary.get("status") == "unreadable":
        return safe_text(summary.get("reason") or "cannot be read")
    diagnosis = summary.get("diagnosis")
    return safe_text(diagnosis["verdict"]) if diagnosis else "-"


def started_text(summary: dict[str, Any]) -> str:
    started = summary.get("started")
    return datetime.fromtimestamp(started).strftime("%Y-%m-%d %H:%M") if started else "-"


def run_row(record: RunRecord, gpu: bool = False) -> tuple[Text, ...]:
    """The run's cells, in COLUMNS order (then its peak GPU memory, with `gpu`), as plain
    text (names from disk are shown literally, without control characters); the status
    coloured."""
    s = record.summary
    source = s.get("source") or "trainer"
    no_presets = "-" if source == "trainer" else f"({source})"  # (api), (tensorboard)
    cells = (safe_text(record.run_id), safe_text(", ".join(s["presets"]) or no_presets),
             safe_text(f"{s['dataset'] or '-'} / {s['model'] or '-'}"), safe_text(s["status"]),
             f"{s['epochs_completed']}/{s['epochs_planned'] or '-'}", fmt(s["best_val_acc"]),
             fmt(s["final_gap"]), diagnosis_text(s), started_text(s))
    if gpu:
        cells += (fmt_bytes(s.get("peak_gpu_mem")),)
    return tuple(Text(cell, STATUS_STYLE.get(cell, "") if i == 3 else "")
                 for i, cell in enumerate(cells))


def runs_table(records: Sequence[RunRecord]) -> Table:
    columns = columns_for(records)
    table = Table(*columns, box=None, pad_edge=False)
    for record in records:
        table.add_row(*run_row(record, gpu=GPU_COLUMN in columns))
    return table
