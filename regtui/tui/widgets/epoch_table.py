"""One row per finished epoch, newest at the top (in view without scrolling).

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
        for name in COLUMNS:
            self.add_column(name, key=name)
        self.shown_epochs: list[int] = []
        self.last_event = None  # the latest epoch shown (a resumed run redoes epochs)

    def show(self, curves: Curves) -> None:
        wanted = list(curves.epochs[-MAX_ROWS:])
        if wanted == self.shown_epochs and curves.last is self.last_event:
            return
        shown, wanted_set = self.shown_epochs, set(wanted)
        kept = [epoch for epoch in shown if epoch in wanted_set]
        # New epochs at the end (the window may have slid on): the kept rows stay. Else a
        # resumed run redid epochs: start over.
        appended = kept == wanted[:len(kept)] and (not shown or shown[-1] in wanted_set) \
            and wanted != shown
        if not appended:
            self.clear()
            kept = []
        for epoch in shown:
            if appended and epoch not in wanted_set:
                self.remove_row(str(epoch))
        first = len(curves) - len(wanted)
        for offset in range(len(kept), len(wanted)):
            row = curves.row(first + offset)
            self.add_row(str(row["epoch"]), fmt(row["train_loss"], 4), fmt(row["train_acc"]),
                         fmt(row["val_loss"], 4), fmt(row["val_acc"]), f"{row['lr']:.1e}",
                         f"{row['seconds']:.2f}", key=str(row["epoch"]))
        self.sort("epoch", key=int, reverse=True)
        self.shown_epochs = wanted
        self.last_event = curves.last
        self.scroll_home(animate=False)
