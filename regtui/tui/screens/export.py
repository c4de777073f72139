"""Export dialog: write the shown run as md, json, csv, html or TensorBoard files."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from regtui.rundir import RunDirError
from regtui.views.export import FORMATS, ExportError, export
from regtui.views.format import safe_text

FORMAT_HELP = {
    "md": "summary, config, diagnosis, alerts, text plot, confusion matrix",
    "json": "the summary plus every epoch",
    "csv": "one row per epoch",
    "html": "one self-contained page with charts (extra: html)",
    "tensorboard": "event files for tensorboard --logdir (extra: tensorboard)",
    "all": "every format above",
}


class ExportDialog(ModalScreen[None]):
    """Enter writes the highlighted format into the run directory; the paths are listed."""

    BINDINGS = [Binding("escape,q", "dismiss", "close")]

    def __init__(self, run_dir: Path) -> None:
        super().__init__()
        self.run_dir = run_dir
        self.written: list[Path] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="export-dialog", classes="dialog"):
            yield Static(Text(safe_text(f"export {self.run_dir.name}"), "bold"))
            yield OptionList(*[Option(f"{name:<12} {text}", id=name)
                               for name, text in FORMAT_HELP.items()], id="formats")
            yield Static("enter writes the highlighted format into the run directory; "
                         "esc closes", id="export-result")

    @work(thread=True, exclusive=True, exit_on_error=False)
    def write(self, names: list[str]) -> None:
        """Off the UI thread: html and TensorBoard import heavy packages."""
        lines = Text()
        for name in names:
            try:
                path = export(self.run_dir, name)
            except (ExportError, RunDirError, OSError) as error:
                lines.append(safe_text(f"{name}: {error}") + "\n", "red")
                continue
            self.written.append(path)
            lines.append(safe_text(f"{name}: {path}") + "\n", "green")
        self.app.call_from_thread(self.query_one("#export-result", Static).update, lines)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        name = event.option.id
        self.query_one("#export-result", Static).update(f"writing {name}…")
        self.write(list(FORMATS) if name == "all" else [name])
