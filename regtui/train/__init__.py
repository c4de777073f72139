"""The one road into training, for the CLI and the TUI: start or resume a run.

Events go to the run store first (the run directory's one writer), then to the listeners
(the views). A listener that raises is reported once, through `on_listener_error`, and
the run goes on: a broken view, exporter or notifier never stops training. The store's
own write errors do stop it: the run ends `failed` with one line (RunWriteError).
Listeners are called on the training thread and must not block; the events of the
system sampler and the notifier (regtui.background) come from their own threads, one at
a time (the background's emit takes a lock).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, Mapping, Sequence

from regtui import config as config_module
from regtui.background import RunBackground
from regtui.control import Control
from regtui.diagnose import Diagnoser, remedies_in_use
from regtui.events import Event, RunFinished
from regtui.presets import Resolved
from regtui.rundir import (CONFIG_NAME, LAST_CHECKPOINT, RunDirError, RunStore, RunWriteError,
                           SummaryBuilder, is_run_dir)
from regtui.train.setup import SetupError, prepare

Listener = Callable[[Event], None]
ListenerErrorHandler = Callable[[Listener, BaseException], None]

__all__ = ["SetupError", "RunDirError", "RunWriteError", "start", "resume", "Listener",
           "check_resumable", "diagnoser_for", "fan_out"]


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

    Raises SetupError (bad settings, data, device), ConfigError (a bad $REGTUI_NOTIFY) or
    RunWriteError (runs_dir unusable) before a run directory exists; afterwards every
    outcome is a RunFinished."""
    from regtui.rundir.probe import check_runs_dir
    from regtui.train.loop import Trainer

    check_runs_dir(runs_dir)  # before the data loads: a bad runs dir costs no waiting
    background = RunBackground(resolved.config)  # a bad $REGTUI_NOTIFY: nothing written yet
    prepared = prepare(resolved.config)
    label = name or "+".join(resolved.presets) or "default"
    toml = config_module.to_toml(resolved.config, config_header(resolved.presets))
    with RunStore.create(runs_dir, label, toml) as store:
        if on_created:
            on_created(store.path)
        emit = background.wrap(fan_out(store, listeners, on_listener_error), store.path)
        trainer = Trainer(prepared, store, emit, control,
                          diagnoser_for(resolved.config, resolved.presets,
                                        prepared.dataset.num_classes), resolved.presets)
        try:
            return store.path, trainer.run(store.run_id)
        finally:
            background.close()  # before the store closes: the last notification's outcome


def resume(run_dir: Path, *, epochs: int | None = None, device: str | None = None,
           notify: Mapping[str, object] | None = None,
           listeners: Sequence[Listener] = (), control: Control | None = None,
           on_listener_error: ListenerErrorHandler = report_to_stderr,
           ) -> tuple[Path, RunFinished]:
    """Continue a stopped, interrupted or failed run from its last.pt, to its planned
    epochs (or `epochs`); a run whose training had ended before its process died (no
    run_finished) is tested and finished. See docs/runs.md, "Resume and extending".
    `notify`: [notify] settings for this process (config.toml never records its URLs).

    The run's lock is taken first (RunDirError while another process writes the run);
    nothing in the run directory changes until the resume is known to be valid (the run
    resumable, the new length fitting its schedule, the checkpoint read and matching the
    model); only then is config.toml replaced (atomically, when `epochs` changes it) and
    the first event written. Raises RunDirError (refused, locked, unreadable checkpoint),
    SetupError or ConfigError."""
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
    if notify:
        overrides["notify"] = dict(notify)
    checked = config_module.check_layer(overrides, "command line")
    recorded = config_module.load_file(run_dir / CONFIG_NAME)
    run_config = config_module.build(config_module.merge(recorded, checked),
                                     str(run_dir / CONFIG_NAME))
    planned = config_module.build(recorded, str(run_dir / CONFIG_NAME)).train.epochs
    with RunStore.reopen(run_dir) as store:  # the lock first: one writer per run
        check_resumable(run_dir, store.summary, run_config, planned, epochs)
        started = store.summary.started
        presets = tuple(started.presets) if started else ()
        background = RunBackground(run_config)  # a bad $REGTUI_NOTIFY: nothing written yet
        prepared = prepare(run_config)
        emit = background.wrap(fan_out(store, listeners, on_listener_error), run_dir)
        try:
            trainer = Trainer(prepared, store, emit, control,
                              diagnoser_for(run_config, presets, prepared.dataset.num_classes),
                              presets)
            try:
                trainer.load_checkpoint()
            except RunDirError as error:
                raise RunDirError(f"{run_dir.name}: cannot resume: {error}") from None
            if trainer.epoch > run_config.train.epochs:
                raise RunDirError(f"--epochs {run_config.train.epochs}: {run_dir.name} has "
                                  f"already trained {trainer.epoch} epochs; give more")
            if run_config.train.epochs != planned:  # the new length becomes part of the run
                store.rewrite_config(config_module.to_toml(run_config, config_header(presets)))
            return run_dir, trainer.run(store.run_id)
        finally:
            background.close()  # before the store closes: the last notification's outcome


# Schedules whose shape is fixed by the run's length: a resume cannot change the length.
LENGTH_BOUND_SCHEDULERS = ("cosine", "onecycle")


def check_resumable(run_dir: Path, summary: SummaryBuilder, run_config: config_module.RunConfig,
                    planned: int, epochs: int | None) -> None:
    """RunDirError, saying what to do instead, when the run must not be resumed as asked:

    - diverged: its weights are the diverged ones;
    - completed by early stopping: the stop was the run's own decision;
    - completed all its epochs: only with --epochs N beyond them (an extension);
    - an extension (or cut) of a cosine or onecycle schedule, which is fixed by the
      run's length.

    Stopped, interrupted and failed runs continue from their last checkpoint."""
    finished = summary.finished
    status = finished.status if finished else "interrupted"
    name, again = run_dir.name, f"regtui run --config {run_dir / CONFIG_NAME}"
    done = summary.curves.epochs[-1] if len(summary.curves) else 0
    if status == "diverged":
        lower = f" --lr {run_config.train.lr / 10:g}"
        raise RunDirError(f"{name} diverged ({finished.reason or 'the loss exploded'}); a "
                          "resume would go on from the diverged weights. Start a new run "
                          f"with its settings and a lower learning rate: {again}{lower}")
    if status == "completed" and finished.reason == "early stopping":
        raise RunDirError(f"{name} was ended by early stopping after epoch {done}; a resume "
                          "would overrule it. To train longer, start a new run: "
                          f"{again} --set regularization.patience=N (or --epochs N)")
    if status == "completed" and (epochs is None or epochs <= done):
        asked = f"--epochs {epochs} is not more than that; " if epochs is not None else ""
        raise RunDirError(f"{name} already completed its {done} epochs; {asked}pass --epochs "
                          f"N (more than {done}) to train it further, or start a new run: "
                          f"{again} --epochs N")
    scheduler = run_config.train.scheduler
    if run_config.train.epochs != planned and scheduler in LENGTH_BOUND_SCHEDULERS:
        raise RunDirError(f"--epochs {run_config.train.epochs}: {name} uses the {scheduler} "
                          f"learning-rate schedule, which was built for its {planned} epochs "
                          "and cannot be stretched or cut; resume without --epochs to finish "
                          f"it, or start a new run: {again} --epochs "
                          f"{run_config.train.epochs}")
