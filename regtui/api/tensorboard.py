"""`regtui import-tb`: a TensorBoard log's scalars become a regtui run, alerts included.

Scalars are read with tensorboard's own EventAccumulator. A LOGDIR is one run: every
folder under it that holds event files is read, and when there are several (Keras writes
train/ and validation/) each tag is prefixed with its folder (`validation/epoch_loss`).

Which scalars are epochs: when the log has an `epoch` scalar (Lightning writes one beside
every logged step), each value belongs to the epoch that scalar held at its step, and a
tag with at most one value per epoch is an epoch metric (the others are steps). Without
one, each step of a tag is an epoch (Keras' epoch_* tags, regtui's own tensorboard
export); a log counting from 0 is shifted to regtui's 1-based epochs. Tag names are mapped
like regtui.init's metric names (Lightning's `_step` / `_epoch` suffixes dropped).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from regtui.api.metrics import MetricNames
from regtui.api.start import config_toml
from regtui.config import AlertsConfig, RunConfig, to_dict
from regtui.diagnose import Diagnoser
from regtui.events import Epoch, Event, RunFinished, RunStarted, Step
from regtui.rundir import RunDirError, RunStore

SKIPPED_TAGS = ("epoch", "hp_metric")  # Lightning's bookkeeping


def _skipped(tag: str) -> bool:
    """Bookkeeping, and add_hparams' one-off summary values (`hparam/...`)."""
    return tag in SKIPPED_TAGS or tag.split("/")[-2:-1] == ["hparam"] or \
        tag.startswith("hparam/")


class LogdirError(RunDirError):
    """LOGDIR cannot be imported (missing, no event files, no scalars): one line."""


@dataclass(frozen=True)
class Scalar:
    wall_time: float
    step: int
    value: float


def read_scalars(logdir: Path) -> dict[str, list[Scalar]]:
    """Every scalar tag under `logdir`, tags prefixed with their folder when there are
    several folders of event files. Raises LogdirError."""
    if not logdir.is_dir():
        raise LogdirError(f"{logdir}: no such folder (give a TensorBoard log folder)")
    folders = sorted({path.parent for path in logdir.rglob("*tfevents*") if path.is_file()})
    if not folders:
        raise LogdirError(f"{logdir}: no TensorBoard event files (events.out.tfevents.*) "
                           "in it or below it")
    try:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    except ModuleNotFoundError:
        raise LogdirError("import-tb needs tensorboard: pip install 'regtui[tensorboard]'") \
            from None
    scalars: dict[str, list[Scalar]] = {}
    for folder in folders:
        accumulator = EventAccumulator(str(folder), size_guidance={"scalars": 0})
        accumulator.Reload()
        prefix = "" if len(folders) == 1 else f"{folder.relative_to(logdir).as_posix()}/"
        for tag in accumulator.Tags().get("scalars", []):
            values = [Scalar(e.wall_time, int(e.step), float(e.value))
                      for e in accumulator.Scalars(tag)]
            scalars[tag if tag in SKIPPED_TAGS else prefix + tag] = values
    if not any(not _skipped(tag) for tag in scalars):
        raise LogdirError(f"{logdir}: the event files hold no scalars")
    return scalars


class _EpochOf:
    """The epoch (1-based) a step belongs to."""

    def __init__(self, scalars: Mapping[str, list[Scalar]]) -> None:
        marks = sorted((s.step, s.value) for s in scalars.get("epoch", []))
        self.steps = [step for step, _ in marks]
        self.epochs = [int(value) for _, value in marks]
        every = [s.step for tag, values in scalars.items() if not _skipped(tag)
                 for s in values]
        self.offset = 1 if (self.epochs[0] if self.epochs else min(every, default=1)) == 0 \
            else 0

    @property
    def from_tag(self) -> bool:
        return bool(self.steps)

    def __call__(self, step: int) -> int:
        if not self.steps:
            return step + self.offset
        index = bisect.bisect_right(self.steps, step) - 1
        return self.epochs[max(index, 0)] + self.offset


def _clean(tag: str) -> str:
    for suffix in ("_step", "_epoch"):
        if tag.endswith(suffix):
            return tag[: -len(suffix)]
    return tag


def build_events(scalars: Mapping[str, list[Scalar]], names: MetricNames
                 ) -> tuple[list[Step], list[tuple[Epoch, frozenset[str]]]]:
    """The run's step events, and its epoch events with the fields each measured."""
    epoch_of = _EpochOf(scalars)
    steps: dict[int, dict] = defaultdict(lambda: {"fields": {}, "extras": {}, "t": 0.0})
    epochs: dict[int, dict] = defaultdict(lambda: {"fields": {}, "extras": {}, "t": 0.0})
    for tag, values in scalars.items():
        if _skipped(tag):
            continue
        per_epoch = defaultdict(int)
        for scalar in values:
            per_epoch[epoch_of(scalar.step)] += 1
        is_step = tag.endswith("_step") or (epoch_of.from_tag and max(per_epoch.values()) > 1)
        field = names.field(_clean(tag))
        for scalar in values:
            if is_step:
                target = {"train_loss": "loss", "lr": "lr", "grad_norm": "grad_norm"}.get(
                    field or "")
                slot = steps[scalar.step]
                slot["epoch"] = epoch_of(scalar.step)
            else:
                target = field
                slot = epochs[epoch_of(scalar.step)]
            (slot["fields"] if target else slot["extras"])[target or _clean(tag)] = scalar.value
            slot["t"] = max(slot["t"], scalar.wall_time)
    step_events = [Step(t=slot["t"], epoch=slot["epoch"], step=step, extras=slot["extras"],
                        **slot["fields"]) for step, slot in sorted(steps.items())]
    epoch_events = []
    previous_t = None
    for number, slot in sorted(epochs.items()):
        seconds = slot["t"] - previous_t if previous_t is not None else 0.0
        previous_t = slot["t"]
        epoch_events.append((Epoch(t=slot["t"], epoch=number, extras=slot["extras"],
                                   **{"seconds": max(seconds, 0.0), **slot["fields"]}),
                             frozenset(slot["fields"])))
    return step_events, epoch_events


def import_logdir(logdir: Path, runs_dir: Path, name: str | None = None,
                  num_classes: int | None = None,
                  metrics: Mapping[str, str | None] | None = None) -> tuple[Path, int]:
    """Write one regtui run from `logdir`; returns (its directory, number of alerts).

    Raises LogdirError for an unusable LOGDIR, RunWriteError for an unusable runs_dir,
    ValueError for a bad metrics mapping."""
    names = MetricNames(metrics)
    scalars = read_scalars(logdir)
    steps, epochs = build_events(scalars, names)
    times = [s.wall_time for tag, values in scalars.items() if not _skipped(tag)
             for s in values]
    alerts_config = AlertsConfig()
    recorded = {"alerts": to_dict(RunConfig())["alerts"]}
    if epochs:
        recorded["train"] = {"epochs": epochs[-1][0].epoch}
    user = {"imported_from": str(logdir.resolve())}
    diagnoser = Diagnoser(alerts_config, num_classes)
    measured = {id(epoch): fields for epoch, fields in epochs}
    timeline: list[Event] = sorted([*steps, *(epoch for epoch, _ in epochs)], key=lambda e: e.t)
    alerts = 0
    with RunStore.create(runs_dir, name or logdir.resolve().name, config_toml(recorded, user)) \
            as store:
        store.write(RunStarted(t=min(times), run_id=store.run_id, config=recorded,
                               source="tensorboard", user_config=user,
                               env={"imported": "tensorboard"},
                               data={"classes": num_classes} if num_classes else {}))
        for event in timeline:
            store.write(event)
            if isinstance(event, Epoch):
                for alert in diagnoser.update(event, measured[id(event)]):
                    store.write(alert)
                    alerts += 1
        best = store.summary.curves.best()
        store.write(RunFinished(t=max(times), status="completed",
                                best_epoch=int(best["epoch"]) if best else None,
                                best_val_acc=best["val_acc"] if best else None))
    return store.path, alerts
