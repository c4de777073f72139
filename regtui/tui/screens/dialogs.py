"""Small modal screens: help, yes/no questions."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

HELP = """[b]regtui keys[/b]

  p   pause / resume training (between steps)
  s   stop the run: it ends cleanly, tested on its best epoch
  n   new run: Setup, prefilled with this run's presets plus the latest suggestion
  a   augmentation preview: training images before and after augmentation (r re-rolls)
  e   export this run: md, json, csv, html or TensorBoard files, into its run directory
  r   runs: every run kept on disk; open, compare, export or delete them
  q   quit (asks first while a run is training; the run still ends with run_finished)
  ?   this help        esc goes back

Setup: space toggles a preset, tab moves between fields, ctrl+s starts.
Runs: enter opens, space marks, c compares the marked runs, e exports, d deletes."""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "close")]

    def compose(self) -> ComposeResult:
        yield Static(HELP, id="help-text", classes="dialog")


class Confirm(ModalScreen[bool]):
    """A yes/no question; y or the first button says yes."""

    BINDINGS = [Binding("y", "answer(True)", "yes"), Binding("n,escape", "answer(False)", "no")]

    def __init__(self, question: str, yes: str, no: str) -> None:
        super().__init__()
        self.question, self.yes, self.no = question, yes, no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(f"{self.question} (y/n)"))  # holds run names: never markup
            with Horizontal():
                yield Button(self.yes, variant="error", id="yes")
                yield Button(self.no, id="no")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class ConfirmQuit(Confirm):
    def __init__(self) -> None:
        super().__init__("A run is training. Stop it and quit?", "Stop and quit", "Keep training")
