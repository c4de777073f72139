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

        table = Table("name", "group", "description", box=None, pad_edge=False)
        for preset in presets_module.available():
            table.add_row(f"[bold]{preset.name}[/]" + ("" if preset.builtin else " (user)"),
                          preset.group, preset.summary)
        out.print(table)
        out.print("\nCompose left to right: regtui run --preset he --preset dropout. "
                  "`regtui presets NAME` shows one in full.")
    except ConfigError as error:
        raise fail(str(error))


def _show_preset(preset: presets_module.Preset) -> None:
    from regtui import presets as presets_module

    out.print(f"[bold]{preset.name}[/]  ({preset.group}; {preset.path})\n")
    out.print(preset.description + "\n")
    out.print(presets_module.settings_toml(preset), markup=False)
