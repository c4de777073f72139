"""One row per run, the same in `regtui runs` and the TUI's Runs screen.

Fitted to the width it gets: the id is never cut (it is what `show`, `compare` and `export`
take). Headers shorten first, then the wordy columns (presets, data / model, diagnosis)
are cut with "…", then the least needed columns are left out; numbers are never cut.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

from rich.table import Table
from rich.text import Text

from regtui.rundir import RunRecord
from regtui.views.format import STATUS_STYLE, fmt

COLUMNS = ("id", "presets", "data / model", "status", "epochs", "best val acc", "final gap",
           "diagnosis", "started")
SHORT_HEADERS = {"data / model": "data", "best val acc": "best", "final gap": "gap",
                 "diagnosis": "diagnosis"}
MIN_WIDTHS = {"presets": 7, "data / model": 6, "diagnosis": 8}  # cut with … down to these
DROP_ORDER = ("started", "data / model", "final gap", "presets", "diagnosis", "best val acc",
              "status", "epochs")  # left out in this order while the table is too wide
GAP = 2  # columns are two spaces apart


def diagnosis_text(summary: dict[str, Any]) -> str:
    diagnosis = summary.get("diagnosis")
    return diagnosis["verdict"] if diagnosis else "-"


def started_text(summary: dict[str, Any]) -> str:
    started = summary.get("started")
    return datetime.fromtimestamp(started).strftime("%Y-%m-%d %H:%M") if started else "-"


def row_cells(record: RunRecord) -> tuple[str, ...]:
    """The run's cells as plain text, in COLUMNS order."""
    s = record.summary
    return (record.run_id, ", ".join(s["presets"]) or "-",
            f"{s['dataset'] or '-'} / {s['model'] or '-'}", s["status"],
            f"{s['epochs_completed']}/{s['epochs_planned'] or '-'}", fmt(s["best_val_acc"]),
            fmt(s["final_gap"]), diagnosis_text(s), started_text(s))


def run_row(record: RunRecord) -> tuple[Text, ...]:
    """The run's cells, in COLUMNS order; the status coloured."""
    return tuple(Text(cell, STATUS_STYLE.get(cell, "") if i == 3 else "")
                 for i, cell in enumerate(row_cells(record)))


@dataclass(frozen=True)
class Fitted:
    """The columns that fit: name -> (header, width), in COLUMNS order."""
    columns: dict[str, tuple[str, int]]

    def total(self) -> int:
        return sum(width for _, width in self.columns.values()) + GAP * (len(self.columns) - 1)


def fit_columns(rows: Sequence[Sequence[str]], width: int | None) -> Fitted:
    """The columns of `rows` (COLUMNS order, plain text) that fit in `width` cells."""
    kept = list(COLUMNS)
    while True:
        fitted = _fit(rows, kept, width)
        if fitted is not None or len(kept) == 1:
            return fitted or _fit(rows, kept, None)
        kept.remove(next(name for name in DROP_ORDER if name in kept))


def _fit(rows: Sequence[Sequence[str]], kept: list[str], width: int | None) -> Fitted | None:
    def natural(name: str, header: str) -> int:
        index = COLUMNS.index(name)
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


def runs_table(records: Sequence[RunRecord], width: int | None = None) -> Table:
    """The runs as a Rich table that fits `width` (None: as wide as it needs)."""
    rows = [row_cells(record) for record in records]
    fitted = fit_columns(rows, width)
    table = Table(box=None, pad_edge=False, padding=(0, 1), collapse_padding=False)
    for name, (header, column_width) in fitted.columns.items():
        table.add_column(header, width=column_width, no_wrap=True, overflow="ellipsis")
    indexes = [COLUMNS.index(name) for name in fitted.columns]
    for row in rows:
        table.add_row(*(Text(cut(row[i], fitted.columns[COLUMNS[i]][1]),
                             STATUS_STYLE.get(row[i], "") if i == 3 else "")
                        for i in indexes))
    return table
