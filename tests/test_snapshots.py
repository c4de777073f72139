"""Snapshots of the screens a user sees first (scripted events, fixed times, no blinking)."""

from __future__ import annotations

from pathlib import Path

from regtui.tui.app import RegtuiApp
from scripted import ScriptedSource, scripted_run


async def _settle(pilot) -> None:
    """Wait until every scripted event is in and the plots show all of them."""
    for _ in range(100):
        monitor = pilot.app.monitor
        delivered = monitor is not None and not monitor.source.pending()  # every event taken
        if monitor is None or (delivered and monitor.drawn_version == monitor.state.version
                               and monitor.drawn_curves == monitor.state.curves_version):
            break
        await pilot.pause(0.05)
    await pilot.pause(0.3)


def test_setup_screen(snap_compare, runs_dir: Path) -> None:
    assert snap_compare(RegtuiApp(runs_dir), terminal_size=(80, 24), run_before=_settle)


def test_monitor_mid_run_with_an_alert(snap_compare, runs_dir: Path) -> None:
    app = RegtuiApp(runs_dir, source=ScriptedSource(scripted_run(epochs=12)))
    assert snap_compare(app, terminal_size=(120, 36), run_before=_settle)


def test_monitor_at_the_end(snap_compare, runs_dir: Path) -> None:
    app = RegtuiApp(runs_dir, source=ScriptedSource(scripted_run(epochs=12, finished=True)))
    assert snap_compare(app, terminal_size=(80, 24), run_before=_settle)
