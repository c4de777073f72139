"""Snapshots of the screens a user sees first (scripted events, fixed times, no blinking)."""

from __future__ import annotations

from pathlib import Path

from helpers import wait_for
from regtui.tui.app import RegtuiApp
from scripted import ScriptedSource, scripted_run


async def _settle(pilot) -> None:
    """Wait until every scripted event is in and the screen shows all of them (however long
    the redraw timer takes on a loaded machine: a snapshot of a half-drawn screen fails)."""
    def settled() -> bool:
        monitor = pilot.app.monitor
        if monitor is None:
            return True
        state = monitor.state
        return (not monitor.source.pending() and  # every scripted event taken
                monitor.drawn_version == state.version and
                monitor.drawn_curves == state.curves_version)

    await wait_for(pilot, settled)
    await pilot.pause(0.3)


def test_setup_screen(snap_compare, runs_dir: Path) -> None:
    assert snap_compare(RegtuiApp(runs_dir), terminal_size=(80, 24), run_before=_settle)


def test_monitor_mid_run_with_an_alert(snap_compare, runs_dir: Path) -> None:
    app = RegtuiApp(runs_dir, source=ScriptedSource(scripted_run(epochs=12)))
    assert snap_compare(app, terminal_size=(120, 36), run_before=_settle)


def test_monitor_at_the_end(snap_compare, runs_dir: Path) -> None:
    app = RegtuiApp(runs_dir, source=ScriptedSource(scripted_run(epochs=12, finished=True)))
    assert snap_compare(app, terminal_size=(80, 24), run_before=_settle)
