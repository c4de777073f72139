"""Augmentation preview: training images before and after the chosen augmentation."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Static

from regtui.config import RunConfig
from regtui.engine import augmentation_preview
from regtui.tui.widgets import image_grid

PREVIEW_IMAGES = 5  # at most, side by side; fewer where the terminal is narrower
CHROME_COLUMNS = 8  # the dialog's border and padding
CHROME_ROWS = 9  # border, padding, the heading, the two labels and the last line


class AugmentPreview(ModalScreen[None]):
    BINDINGS = [Binding("r", "reroll", "re-roll"), Binding("escape,a,q", "dismiss", "close")]

    def __init__(self, config: RunConfig) -> None:
        super().__init__()
        self.config = config
        self.rolls = 0

    def compose(self) -> ComposeResult:
        yield Static("loading training images…", id="augment-view", classes="dialog")

    def on_mount(self) -> None:
        self.render_preview()

    def action_reroll(self) -> None:
        self.rolls += 1
        self.render_preview()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def render_preview(self) -> None:
        """Torch work off the UI thread: load, augment, render to text. A failure (the
        data cannot be loaded) is shown in place of the images."""
        try:
            before, after, active, fill = augmentation_preview(self.config, PREVIEW_IMAGES,
                                                               self.rolls)
            text = self._compose_text(before, after, active, fill, self.app.size.width,
                                      self.app.size.height)
        except Exception as error:  # noqa: BLE001 - shown to the user, never swallowed
            text = Text.assemble(("augmentation preview: the training images could not be "
                                  "loaded\n\n", "bold"), (str(error), "red"),
                                 ("\n\nesc closes", "dim"))
        self.app.call_from_thread(self.query_one("#augment-view", Static).update, text)

    def _compose_text(self, before, after, active: bool, fill: str, width: int,
                      height: int) -> Text:
        """As many images as fit the terminal, at double size where there is room."""
        shape = list(before.shape[1:])
        scale = image_grid.scale_for(shape[1])
        if scale > 1 and shape[1] * scale + CHROME_ROWS > height:  # two rows of half-blocks
            scale = 1
        per_row = max(1, min(len(before), (width - CHROME_COLUMNS) // (shape[2] * scale + 2)))
        render = lambda t: image_grid.render(  # noqa: E731
            image_grid.upscale(image_grid.decode(t.tobytes(), shape), scale))
        out = Text("augmentation preview   r re-rolls, esc closes\n", "bold")
        if not active:
            out.append("no augmentation is configured: choose augment-light or "
                       "augment-strong\n", "yellow")
        blank = [Text("")] * per_row
        out.append("before\n", "dim")
        out.append_text(image_grid.grid([render(t) for t in before[:per_row]], blank, per_row))
        out.append("after\n", "dim")
        out.append_text(image_grid.grid([render(t) for t in after[:per_row]], blank, per_row))
        out.append(f"fill where images moved away: {fill} (augment.fill)\n", "dim")
        out.append(f"roll {self.rolls + 1}; erasing, mixup and cutmix are not shown", "dim")
        return out
