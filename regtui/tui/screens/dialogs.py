"""Small modal screens: help, yes/no questions."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

HELP = """[b]regtui keys[/b]   (ctrl+p lists every command)

  ?  this help           q  quit: asks while a run trains, then stops it
                            cleanly (ctrl+q and ctrl+c do the same)
  p  pause / resume      s  stop: the run ends, tested on its best epoch
  n  new run: Setup with this run's settings plus the remedy that its
     diagnosis suggests (it replaces baseline)
  a  augmentation preview: before / after (r re-rolls)
  e  export: md, json, csv, html or TensorBoard, into the run directory
  r  runs kept on disk: open, compare, export, delete
  l  log-scale y on the loss plots
  m  smoothing: off, 0.6, 0.9 (EMA, debiased); the raw curve stays faint
  esc  back

Setup: space ticks a preset, tab moves on, ctrl+s starts.
Runs: enter opens, space marks, c compares the marked, d deletes."""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", id="help-dialog"):
            yield Static(HELP, id="help-text")


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
