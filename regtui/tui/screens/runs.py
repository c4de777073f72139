"""Runs: every run in the runs dir; open one, mark several to compare, export, delete."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from regtui.views.format import STATUS_STYLE, fmt, fmt_bytes, safe_text
from regtui.views.runs_table import (columns_for, diagnosis_text, fit_columns, fitted_rows,
                                     row_cells)
from regtui.rundir import RunDirError, RunRecord, delete_run, is_alive, list_runs
from regtui.tui.screens.dialogs import Confirm

MARK = "●"


class RunsScreen(Screen):
    BINDINGS = [  # help and quit first: a 60-column footer still shows them
        Binding("question_mark", "app.help", "help", key_display="?"),
        Binding("q", "app.quit_app", "quit"),
        Binding("escape", "app.back", "back"),
        Binding("space,m", "mark", "mark"),
        Binding("c", "compare", "compare"),
        Binding("e", "export", "export"),
        Binding("d", "delete", "delete"),
        Binding("r", "reload", "reload"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.records: dict[str, RunRecord] = {}
        self.marked: list[str] = []  # run ids in the order they were marked: #1 is the reference

    def compose(self) -> ComposeResult:
        yield Static(id="runs-heading")
        yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="run-detail")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.action_reload()

    def on_resize(self) -> None:
        if self.records:
            self.show(list(reversed(self.records.values())))

    def on_screen_resume(self) -> None:
        if self.records:  # back from a replay, a comparison or a dialog: statuses may have moved
            self.action_reload()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def action_reload(self) -> None:
        """Reading every events.jsonl takes a while with many runs: off the UI thread."""
        records = list_runs(self.app.runs_dir)
        self.app.call_from_thread(self.show, records)

    def show(self, records: list[RunRecord]) -> None:
        """The runs, newest first, in columns fitted to the screen: the id whole, numbers
        whole; explicit widths, so nothing is drawn cut while widths settle."""
        table = self.query_one(DataTable)
        cursor = self.highlighted
        self.records = {r.run_id: r for r in reversed(records)}  # newest first
        self.marked = [run_id for run_id in self.marked if run_id in self.records]
        columns = columns_for(records)
        rows = {run_id: row_cells(record, columns) for run_id, record in self.records.items()}
        # less the mark column (1 + padding 2) and the scrollbar (2); each column's own
        # padding (2) is the gap fit_columns leaves between columns, plus 2 at the end
        fitted = fit_columns(list(rows.values()), max(self.size.width, 40) - 7, columns)
        table.clear(columns=True)
        table.add_column(" ", key="mark", width=1)
        for name, (header, width) in fitted.columns.items():
            table.add_column(header, key=name, width=width)
        for run_id, cells in zip(rows, fitted_rows(list(rows.values()), fitted, columns)):
            table.add_row(self._mark_cell(run_id), *cells, key=run_id)
        if cursor in self.records:
            table.move_cursor(row=list(self.records).index(cursor))
        self._show_heading()

    def _show_heading(self) -> None:
        heading = Text(safe_text(f"{len(self.records)} runs in {self.app.runs_dir}"), "bold")
        if not self.records:
            heading.append("   start one with n (new run) or `regtui run --preset dropout`",
                           "dim")
        if self.marked:
            heading.append(f"   marked: {len(self.marked)} (c compares, #1 = first marked)")
        heading.append("\nenter opens   space marks   c compares   e exports   d deletes", "dim")
        self.query_one("#runs-heading", Static).update(heading)

    def _mark_cell(self, run_id: str) -> Text:
        if run_id not in self.marked:
            return Text("")
        return Text(str(self.marked.index(run_id) + 1), "bold magenta")

    @property
    def highlighted(self) -> str | None:
        table = self.query_one(DataTable)
        if not self.records or table.row_count == 0:
            return None
        return list(self.records)[table.cursor_row]

    @on(DataTable.RowHighlighted)
    def show_detail(self, event: DataTable.RowHighlighted) -> None:
        """The highlighted run in words: the table's right-hand columns are off screen at 80."""
        record = self.records.get(event.row_key.value)
        if record is None:
            return
        s = record.summary
        detail = Text()  # names come from disk: plain text, no control characters
        detail.append(safe_text(record.run_id), "bold")
        detail.append(safe_text(f"  {', '.join(s['presets']) or 'no presets'}  "))
        detail.append(safe_text(s["status"]), STATUS_STYLE.get(s["status"], ""))
        detail.append(f"  {s['epochs_completed']}/{s['epochs_planned'] or '-'} epochs\n")
        detail.append(f"best val acc {fmt(s['best_val_acc'])} (epoch {fmt(s['best_epoch'])})  "
                      f"final gap {fmt(s['final_gap'])}  test acc {fmt(s['test_acc'])}\n")
        detail.append(f"diagnosis: {diagnosis_text(s)}", "bold")
        if s.get("peak_gpu_mem"):
            detail.append(f"  peak GPU memory {fmt_bytes(s['peak_gpu_mem'])}")
        self.query_one("#run-detail", Static).update(detail)

    @on(DataTable.RowSelected)
    def open_run(self, event: DataTable.RowSelected) -> None:
        record = self.records[event.row_key.value]
        if record.status == "unreadable":
            self.notify(f"{record.run_id} cannot be read: {diagnosis_text(record.summary)}",
                        severity="error", markup=False)
            return
        self.app.show_run(record.path)

    def action_mark(self) -> None:
        run_id = self.highlighted
        if run_id is None:
            return
        if run_id in self.marked:
            self.marked.remove(run_id)
        else:
            self.marked.append(run_id)
        table = self.query_one(DataTable)
        for marked_id in self.records:  # numbers shift when one is unmarked
            table.update_cell(marked_id, "mark", self._mark_cell(marked_id))
        self._show_heading()

    def action_compare(self) -> None:
        if len(self.marked) < 2:
            self.notify("mark two or more runs with space first", severity="warning")
            return
        from regtui.tui.screens.compare import CompareScreen

        try:
            screen = CompareScreen([self.records[r].path for r in self.marked])
        except RunDirError as error:
            self.notify(safe_text(str(error)), severity="error", markup=False)
            return
        self.app.push_screen(screen)

    def action_export(self) -> None:
        if self.highlighted is not None:
            from regtui.tui.screens.export import ExportDialog

            self.app.push_screen(ExportDialog(self.records[self.highlighted].path))

    def action_delete(self) -> None:
        """The marked runs, or else the highlighted one, after a yes."""
        doomed = self.marked or ([self.highlighted] if self.highlighted else [])
        paths = [self.records[run_id].path for run_id in doomed]
        if not paths or self._refuse_live(paths):
            return
        noun = "this run" if len(paths) == 1 else f"these {len(paths)} runs"
        names = "\n".join(f"  {safe_text(p.name)}" for p in paths)

        def answered(yes: bool | None) -> None:
            if yes and not self._refuse_live(paths):
                self._delete(paths)

        self.app.push_screen(Confirm(f"Delete {noun} for good?\n{names}\n", "Delete", "Keep"),
                             answered)

    def _refuse_live(self, paths: list[Path]) -> bool:
        live = [p.name for p in paths if is_alive(p)]
        if live:
            self.notify(safe_text(f"{live[0]} is still training; stop it before deleting it"),
                        severity="error", markup=False)
        return bool(live)

    def _delete(self, paths: list[Path]) -> None:
        for path in paths:
            try:
                delete_run(path)
            except (RunDirError, OSError) as error:
                self.notify(safe_text(f"could not delete {path.name}: {error}"),
                            severity="error", markup=False)
        self.marked = []
        self.action_reload()
