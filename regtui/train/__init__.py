"""The one road into training, for the CLI and the TUI: start or resume a run.

Events go to the run store first (the run directory's one writer), then to the listeners
(the views). A listener that raises is reported once, through `on_listener_error`, and
the run goes on: a broken view, exporter or notifier never stops training. The store's
own write errors do stop it: the run ends `failed` with one line (RunWriteError).
Listeners are called on the training thread and must not block.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, Sequence

from regtui import config as config_module
from regtui.control import Control
from regtui.diagnose import Diagnoser, remedies_in_use
from regtui.events import Event, RunFinished, RunStarted, read_events
from regtui.presets import Resolved
from regtui.rundir import (CONFIG_NAME, EVENTS_NAME, LAST_CHECKPOINT, RunDirError, RunStore,
                           RunWriteError, is_run_dir)
from regtui.train.setup import SetupError, prepare

Listener = Callable[[Event], None]
ListenerErrorHandler = Callable[[Listener, BaseException], None]

__all__ = ["SetupError", "RunDirError", "RunWriteError", "start", "resume", "Listener",
           "diagnoser_for", "fan_out"]


def diagnoser_for(config: config_module.RunConfig, presets: Sequence[str],
                  classes: int) -> Diagnoser | None:
    """The alerts of a run as `regtui run` makes them (None when alerts are off)."""
    if not config.alerts.enabled:
        return None
    return Diagnoser(config.alerts, classes, remedies_in_use(config, presets))


def report_to_stderr(listener: Listener, error: BaseException) -> None:
    """The default report of a failing listener: one line on stderr."""
    name = getattr(listener, "__qualname__", type(listener).__name__)
    print(f"regtui: a view ({name}) failed and is ignored from now on: "
          f"{type(error).__name__}: {error}", file=sys.stderr)


def fan_out(store: RunStore, listeners: Sequence[Listener],
            on_listener_error: ListenerErrorHandler = report_to_stderr) -> Listener:
    """emit(event): the store writes it (RunWriteError propagates: the run fails), then
    every listener gets it; a listener that raises is reported once and dropped."""
    live = list(listeners)

    def emit(event: Event) -> None:
        store.write(event)  # disk first: a listener that fails cannot lose the event
        for listener in tuple(live):
            try:
                listener(event)
            except Exception as error:  # noqa: BLE001 - a view must never stop training
                live.remove(listener)
                on_listener_error(listener, error)
    return emit


def config_header(presets: Sequence[str]) -> str:
    return ("regtui run configuration, fully resolved.\n"
            f"presets: {', '.join(presets) or '(none)'}\n"
            "repeat this run with: regtui run --config <this file>")


def start(resolved: Resolved, runs_dir: Path, *, name: str | None = None,
          listeners: Sequence[Listener] = (), control: Control | None = None,
          on_created: Callable[[Path], None] | None = None,
          on_listener_error: ListenerErrorHandler = report_to_stderr,
          ) -> tuple[Path, RunFinished]:
    """Prepare (may raise SetupError before anything is written), then train a new run.

    Raises SetupError (bad settings, data, device) or RunWriteError (runs_dir unusable)
    before a run directory exists; afterwards every outcome is a RunFinished."""
    from regtui.rundir.probe import check_runs_dir
    from regtui.train.loop import Trainer

    check_runs_dir(runs_dir)  # before the data loads: a bad runs dir costs no waiting
    prepared = prepare(resolved.config)
    label = name or "+".join(resolved.presets) or "default"
    toml = config_module.to_toml(resolved.config, config_header(resolved.presets))
    with RunStore.create(runs_dir, label, toml) as store:
        if on_created:
            on_created(store.path)
        trainer = Trainer(prepared, store, fan_out(store, listeners, on_listener_error), control,
                          diagnoser_for(resolved.config, resolved.presets,
                                        prepared.dataset.num_classes), resolved.presets)
        return store.path, trainer.run(store.run_id)


def resume(run_dir: Path, *, epochs: int | None = None, device: str | None = None,
           listeners: Sequence[Listener] = (), control: Control | None = None,
           on_listener_error: ListenerErrorHandler = report_to_stderr,
           ) -> tuple[Path, RunFinished]:
    """Continue a run from its last.pt, to its configured epochs (or `epochs`).

    Nothing in the run directory changes until the resume is known to be valid (its lock
    taken, its checkpoint read, the new target checked); the extended config.toml is then
    replaced atomically. Raises RunDirError, SetupError or ConfigError."""
    from regtui.train.loop import Trainer

    if not is_run_dir(run_dir):
        raise RunDirError(f"{run_dir}: not a run directory (no {CONFIG_NAME})")
    if not (run_dir / LAST_CHECKPOINT).is_file():
        raise RunDirError(f"{run_dir}: no {LAST_CHECKPOINT} to resume from (the run was "
                          "killed before its first checkpoint, written once "
                          "train.checkpoint_seconds have passed); start it again")
    overrides: config_module.Layer = {}
    if epochs is not None:
        overrides["train"] = {"epochs": epochs}
    if device is not None:
        overrides.setdefault("train", {})["device"] = device
    checked = config_module.check_layer(overrides, "command line")
    layer = config_module.merge(config_module.load_file(run_dir / CONFIG_NAME), checked)
    run_config = config_module.build(layer, str(run_dir / CONFIG_NAME))
    started = [e for e in read_events(run_dir / EVENTS_NAME) if isinstance(e, RunStarted)]
    presets = tuple(started[0].presets) if started else ()
    prepared = prepare(run_config)
    with RunStore.reopen(run_dir) as store:
        trainer = Trainer(prepared, store, fan_out(store, listeners, on_listener_error), control,
                          diagnoser_for(run_config, presets, prepared.dataset.num_classes), presets)
        trainer.load_checkpoint()
        if trainer.epoch >= run_config.train.epochs:
            raise RunDirError(f"{run_dir.name} already finished {trainer.epoch} of "
                              f"{run_config.train.epochs} epochs; pass --epochs N (more than "
                              f"{trainer.epoch}) to train further")
        if epochs is not None:  # the new target becomes part of the run's config
            store.rewrite_config(config_module.to_toml(run_config, config_header(presets)))
        return run_dir, trainer.run(store.run_id)
