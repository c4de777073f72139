"""A selection list and a checkbox whose state reads without colour.

Textual draws every box with an `X`, ticked or not, and tells them apart by colour only:
with NO_COLOR (or a 16-colour terminal) every preset looks ticked. Here an unticked box
is empty.
"""

from __future__ import annotations

from rich.segment import Segment
from textual.strip import Strip
from textual.widgets import Checkbox, SelectionList
from textual.widgets.option_list import OptionDoesNotExist


class TickList(SelectionList[str]):
    def render_line(self, y: int) -> Strip:
        line = super().render_line(y)
        try:
            selection = self.get_option_at_index(self.scroll_offset.y + y)
        except OptionDoesNotExist:
            return line
        if selection.value in self._selected:
            return line
        segments = list(line)
        if len(segments) > 1 and segments[1].text == "X":
            segments[1] = Segment(" ", segments[1].style)
        return Strip(segments, line.cell_length)


class TickBox(Checkbox):
    @property
    def BUTTON_INNER(self) -> str:  # noqa: N802 - Textual's class attribute, per state
        return "X" if self.value else " "
