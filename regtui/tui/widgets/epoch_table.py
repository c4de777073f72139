"""One row per finished epoch, newest at the bottom (followed as it grows).

At most MAX_ROWS rows: the latest epochs. A run of 100,000 epochs keeps the table (and
the time a redraw takes) the size of a short run's.
"""

from __future__ import annotations

from textual.widgets import DataTable

from regtui.rundir.curves import Curves
from regtui.views.format import fmt

COLUMNS = ("epoch", "train loss", "train acc", "val loss", "val acc", "lr", "s")
MAX_ROWS = 200


class EpochTable(DataTable):
    def on_mount(self) -> None:
        self.cursor_type = "none"
        self.add_columns(*COLUMNS)
        self.shown_epochs: list[int] = []

    def show(self, curves: Curves) -> None:
        wanted = list(curves.epochs[-MAX_ROWS:])
        if wanted == self.shown_epochs:
            return
        kept = self.shown_epochs and wanted[:1] == self.shown_epochs[:1] and \
            wanted[:len(self.shown_epochs)] == self.shown_epochs
        if not kept:  # the window moved on, or a resumed run redid epochs: start over
            self.clear()
            self.shown_epochs = []
        first = len(curves) - len(wanted)
        for index in range(first + len(self.shown_epochs), len(curves)):
            row = curves.row(index)
            self.add_row(str(row["epoch"]), fmt(row["train_loss"], 4), fmt(row["train_acc"]),
                         fmt(row["val_loss"], 4), fmt(row["val_acc"]), f"{row['lr']:.1e}",
                         f"{row['seconds']:.2f}")
        self.shown_epochs = wanted
        if wanted:
            # Follow the newest row inside the table only: moving the cursor would also
            # scroll the whole monitor to the table every epoch.
            self.scroll_end(animate=False)
