"""Small modal screens: help, confirm quit."""

from __future__ import annotations

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
  q   quit (asks first while a run is training; the run still ends with run_finished)
  ?   this help

Setup: space toggles a preset, tab moves between fields, ctrl+s starts.
Runs are kept under the runs directory; `regtui runs` lists them."""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "close")]

    def compose(self) -> ComposeResult:
        yield Static(HELP, id="help-text", classes="dialog")


class ConfirmQuit(ModalScreen[bool]):
    BINDINGS = [Binding("y", "answer(True)", "yes"), Binding("n,escape", "answer(False)", "no")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("A run is training. Stop it and quit? (y/n)")
            with Horizontal():
                yield Button("Stop and quit", variant="error", id="yes")
                yield Button("Keep training", id="no")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")
