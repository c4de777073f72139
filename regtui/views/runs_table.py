"""One row per run, the same in `regtui runs` and the TUI's Runs screen.

Fitted to the width it gets: the id is never cut (it is what `show`, `compare` and `export`
take). Headers shorten first, then the wordy columns (presets, data / model, diagnosis)
are cut with "…", then the least needed columns are left out; numbers are never cut.
Every cell is plain text: names read from disk are shown literally, without control
characters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

from rich.table import Table
from rich.text import Text

from regtui.rundir import RunRecord
from regtui.views.format import STATUS_STYLE, fmt, fmt_bytes, safe_text

COLUMNS = ("id", "presets", "data / model", "status", "epochs", "best val acc", "final gap",
           "diagnosis", "started")
GPU_COLUMN = "peak gpu mem"  # shown only when some run has the figure (a CUDA run)
SHORT_HEADERS = {"data / model": "data", "best val acc": "best", "final gap": "gap",
                 "diagnosis": "diagnosis", GPU_COLUMN: "gpu mem"}
MIN_WIDTHS = {"presets": 7, "data / model": 6, "diagnosis": 8}  # cut with … down to these
DROP_ORDER = ("started", GPU_COLUMN, "data / model", "final gap", "presets", "diagnosis",
              "best val acc", "status", "epochs")  # left out in this order when too wide
GAP = 2  # columns are two spaces apart


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


def row_cells(record: RunRecord, columns: Sequence[str] = COLUMNS) -> tuple[str, ...]:
    """The run's cells as plain text, in `columns` order."""
    s = record.summary
    source = s.get("source") or "trainer"
    no_presets = "-" if source == "trainer" else f"({source})"  # (api), (tensorboard)
    cells = {"id": safe_text(record.run_id),
             "presets": safe_text(", ".join(s["presets"]) or no_presets),
             "data / model": safe_text(f"{s['dataset'] or '-'} / {s['model'] or '-'}"),
             "status": safe_text(s["status"]),
             "epochs": f"{s['epochs_completed']}/{s['epochs_planned'] or '-'}",
             "best val acc": fmt(s["best_val_acc"]), "final gap": fmt(s["final_gap"]),
             "diagnosis": diagnosis_text(s), "started": started_text(s),
             GPU_COLUMN: fmt_bytes(s.get("peak_gpu_mem"))}
    return tuple(cells[name] for name in columns)


def run_row(record: RunRecord, columns: Sequence[str] = COLUMNS) -> tuple[Text, ...]:
    """The run's cells, in `columns` order; the status coloured."""
    return tuple(Text(cell, STATUS_STYLE.get(cell, "") if name == "status" else "")
                 for name, cell in zip(columns, row_cells(record, columns)))


@dataclass(frozen=True)
class Fitted:
    """The columns that fit: name -> (header, width), in the table's order."""
    columns: dict[str, tuple[str, int]]

    def total(self) -> int:
        return sum(width for _, width in self.columns.values()) + GAP * (len(self.columns) - 1)


def fit_columns(rows: Sequence[Sequence[str]], width: int | None,
                columns: Sequence[str] = COLUMNS) -> Fitted:
    """The columns of `rows` (plain text, in `columns` order) that fit in `width` cells."""
    kept = list(columns)
    while True:
        fitted = _fit(rows, columns, kept, width)
        if fitted is not None or len(kept) == 1:
            return fitted or _fit(rows, columns, kept, None)
        kept.remove(next(name for name in DROP_ORDER if name in kept))


def _fit(rows: Sequence[Sequence[str]], columns: Sequence[str], kept: list[str],
         width: int | None) -> Fitted | None:
    def natural(name: str, header: str) -> int:
        index = columns.index(name)
        return max([len(header)] + [len(row[index]) for row in rows])

    for short in (False, True):
        headers = {n: SHORT_HEADERS.get(n, n) if short else n for n in kept}
        widths = {n: natural(n, headers[n]) for n in kept}
        fitted = Fitted({n: (headers[n], widths[n]) for n in kept})
        if width is None or fitted.total() <= width:
            return fitted
    over = fitted.total() - width
    while over > 0:  # cut the widest wordy column by one, while any is above its minimum
        wordy = [n for n in kept if n in MIN_WIDTHS and widths[n] > max(
            MIN_WIDTHS[n], len(headers[n]))]
        if not wordy:
            return None
        widest = max(wordy, key=lambda n: widths[n])
        widths[widest] -= 1
        over -= 1
    return Fitted({n: (headers[n], widths[n]) for n in kept})


def cut(text: str, width: int) -> str:
    """`text` in at most `width` cells, ending in … when it was cut."""
    return text if len(text) <= width else text[:max(width - 1, 0)] + "…"


def fitted_rows(rows: Sequence[Sequence[str]], fitted: Fitted,
                columns: Sequence[str]) -> list[tuple[Text, ...]]:
    """The rows' cells in the fitted columns, cut to their widths; the status coloured."""
    indexes = [columns.index(name) for name in fitted.columns]
    return [tuple(Text(cut(row[i], fitted.columns[columns[i]][1]),
                       STATUS_STYLE.get(row[i], "") if columns[i] == "status" else "")
                  for i in indexes) for row in rows]


def runs_table(records: Sequence[RunRecord], width: int | None = None) -> Table:
    """The runs as a Rich table that fits `width` (None: as wide as it needs)."""
    columns = columns_for(records)
    rows = [row_cells(record, columns) for record in records]
    fitted = fit_columns(rows, width, columns)
    table = Table(box=None, pad_edge=False, padding=(0, 1), collapse_padding=False)
    for header, column_width in fitted.columns.values():
        table.add_column(header, width=column_width, no_wrap=True, overflow="ellipsis")
    for cells in fitted_rows(rows, fitted, columns):
        table.add_row(*cells)
    return table
