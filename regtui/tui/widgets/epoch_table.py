"""One row per finished epoch, newest at the bottom (followed as it grows)."""

from __future__ import annotations

from textual.widgets import DataTable

from regtui.views.format import fmt
from regtui.events import Epoch

COLUMNS = ("epoch", "train loss", "train acc", "val loss", "val acc", "lr", "s")


class EpochTable(DataTable):
    def on_mount(self) -> None:
        self.cursor_type = "none"
        self.add_columns(*COLUMNS)

    def show(self, epochs: list[Epoch]) -> None:
        if self.row_count > len(epochs):  # a resumed run redid epochs: start over
            self.clear()
        for epoch in epochs[self.row_count:]:
            self.add_row(str(epoch.epoch), fmt(epoch.train_loss, 4), fmt(epoch.train_acc),
                         fmt(epoch.val_loss, 4), fmt(epoch.val_acc), f"{epoch.lr:.1e}",
                         f"{epoch.seconds:.2f}")
        if epochs:
            # Follow the newest row inside the table only: moving the cursor would also
            # scroll the whole monitor to the table every epoch.
            self.scroll_end(animate=False)
