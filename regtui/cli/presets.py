"""`regtui presets`: list the presets, or show one in full."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import typer

from regtui.cli.common import app, fail, out

if TYPE_CHECKING:
    from regtui import presets as presets_module

@app.command("presets")
def presets_command(
    name: Optional[str] = typer.Argument(None, help="Show one preset in full."),
) -> None:
    """List the presets, or show one: its description and the settings it changes."""
    from regtui import presets as presets_module
    from regtui.config import ConfigError

    try:
        if name:
            _show_preset(presets_module.load(name))
            return
        from rich.table import Table
        from rich.text import Text

        from regtui.views.format import safe_text

        # Names and descriptions come from files (a user's presets): shown as plain text.
        table = Table("name", "group", "description", box=None, pad_edge=False)
        for preset in presets_module.available():
            table.add_row(Text.assemble((safe_text(preset.name), "bold"),
                                        "" if preset.builtin else " (user)"),
                          Text(safe_text(preset.group)), Text(safe_text(preset.summary)))
        out.print(table)
        out.print("\nCompose left to right: regtui run --preset he --preset dropout. "
                  "`regtui presets NAME` shows one in full.")
    except ConfigError as error:
        raise fail(str(error))


def _show_preset(preset: presets_module.Preset) -> None:
    from rich.text import Text

    from regtui import presets as presets_module
    from regtui.views.format import safe_text

    out.print(Text.assemble((safe_text(preset.name), "bold"),
                            safe_text(f"  ({preset.group}; {preset.path})"), "\n"))
    out.print(Text(safe_text(preset.description, lines=True) + "\n"))
    out.print(Text(safe_text(presets_module.settings_toml(preset), lines=True)))
