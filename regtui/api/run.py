"""regtui.init and Run: a script's own training loop writes a regtui run.

    run = regtui.init(name="resnet-cifar", config={"lr": 3e-4}, num_classes=10)
    run.log({"train/loss": loss}, step=global_step)          # throttled step events
    run.log({"train/loss": tl, "val/loss": vl, "val/acc": va}, epoch=epoch)
    run.finish()                                              # or `with regtui.init(...)`

The run directory is written through rundir.RunStore (its one writer), so `regtui runs`,
`show`, `watch`, `compare` and `export` treat it like a run regtui trained. After init
returns, nothing here raises into the script: a failed write, a value that is not a
number or a bug of ours prints one line on stderr (once per kind) and the script goes on.
docs/api.md documents every call. Torch-free: values are converted with their own .item().
"""

from __future__ import annotations

import os
import platform
import socket
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Mapping

from regtui.api import endings
from regtui.api.epochs import EpochGatherer, Ready
from regtui.api.metrics import MetricNames, describe, printable, to_float
from regtui.diagnose import Diagnoser
from regtui.events import Alert, Checkpoint, Epoch, RunFinished, Step
from regtui.rundir import RunStore, RunWriteError, stop_requested
from regtui.views.format import alert_head

FINISH_STATUSES = ("completed", "stopped", "interrupted", "diverged", "failed")
STOP_CHECK_SECONDS = 1.0  # stop.request is looked for at most this often


class Run:
    """A run that a script writes. Made by regtui.init; every method is safe to call in a
    training loop (it never raises) and cheap (steps between `log_every` cost a compare)."""

    disabled = False

    def __init__(self, store: RunStore, *, user_config: dict[str, Any], names: MetricNames,
                 diagnoser: Diagnoser | None, log_every: int, print_alerts: bool) -> None:
        self._store = store
        self._names = names
        self._diagnoser = diagnoser
        self._log_every = log_every
        self._print_alerts = print_alerts
        self.config: dict[str, Any] = user_config
        self.alerts: list[Alert] = []
        self._lock = threading.RLock()
        self._step = 0  # the last step seen (for log() calls without step=)
        self._written_step: int | None = None  # the step of the last step event
        self._epochs = EpochGatherer(time.monotonic())
        self._diagnosed: tuple[int, dict, set[tuple[str, str]]] | None = None
        self._warned: set[str] = set()
        self._dead = False  # writing failed: nothing more is written
        self._finished = False
        self._stop_seen = False
        self._stop_checked = -float("inf")
        endings.track(self)

    # ------------------------------------------------------------ what a script reads

    @property
    def path(self) -> Path:
        """The run directory."""
        return self._store.path

    @property
    def run_id(self) -> str:
        return self._store.run_id

    @property
    def finished(self) -> bool:
        return self._finished

    @property
    def stop_requested(self) -> bool:
        """True once a monitor asked this run to stop (`s` in `regtui watch`): the loop may
        break and call finish(), which then records `stopped`. Looks at the disk at most
        once a second."""
        if self._stop_seen or self._finished:
            return self._stop_seen
        now = time.monotonic()
        if now - self._stop_checked >= STOP_CHECK_SECONDS:
            self._stop_checked = now
            self._stop_seen = stop_requested(self._store.path)
        return self._stop_seen

    # ------------------------------------------------------------ logging

    def log(self, metrics: Mapping[str, Any], step: int | None = None,
            epoch: int | None = None) -> None:
        """Record metrics: an epoch's when only `epoch` is given, else a step's.

        metrics: {name: number}; numbers may be Python numbers, NumPy scalars or 0-d
        tensors (a CUDA tensor is read back when it is written: one sync per written step,
        every epoch). step: the global step (counts on from the last one when omitted);
        only one step in `log_every` is written. epoch: the epoch number (regtui counts
        from 1). Never raises."""
        try:
            if epoch is None or step is not None:
                self._log_step(metrics, step, epoch)
            else:
                self._log_epoch(metrics, epoch)
        except Exception as error:
            self._internal_error(error)

    def _log_step(self, metrics: Mapping[str, Any], step: int | None,
                  epoch: int | None) -> None:
        if step is None:
            step = self._step + 1
        elif type(step) is not int:
            step = self._whole_step(step)
            if step is None:
                return
        self._step = step
        written = self._written_step
        due = written is None or step - written >= self._log_every or step < written
        if not due and self._epochs.pending is None:
            return  # the common case: one compare, nothing converted, nothing written
        if self._finished or self._dead:
            self._after_finish()
            return
        with self._lock:
            epoch_number = self._epoch_number(epoch) if epoch is not None else None
            self._write_ready(self._epochs.step(epoch_number))
            if not due:
                return
            self._written_step = step
            fields, extras = self._numbers(metrics, step=True)
            if epoch_number is None:
                epoch_number = self._epochs.current_epoch()
            self._write(Step(epoch=epoch_number, step=step, extras=extras, **fields))

    def _log_epoch(self, metrics: Mapping[str, Any], epoch: Any) -> None:
        if self._finished or self._dead:
            self._after_finish()
            return
        number = self._epoch_number(epoch)
        if number is None:
            return
        with self._lock:
            fields, extras = self._numbers(metrics, step=False)
            self._write_ready(self._epochs.add(number, fields, extras, time.monotonic()))

    def log_checkpoint(self, path: str | os.PathLike[str], epoch: int | None = None,
                       best: bool = False) -> None:
        """Record that the script saved a checkpoint (a `checkpoint` event; regtui does not
        copy the file). epoch: defaults to the last epoch logged. Never raises."""
        try:
            if self._finished or self._dead:
                return
            with self._lock:
                number = self._epoch_number(epoch) if epoch is not None else \
                    self._epochs.current_epoch() - 1
                self._write(Checkpoint(epoch=number or 0, path=str(path), best=bool(best)))
        except Exception as error:
            self._internal_error(error)

    # ------------------------------------------------------------ values

    def _whole_step(self, step: Any) -> int | None:
        """A step given as a NumPy integer, a tensor or a whole float, as an int."""
        try:
            number = to_float(step)
            if number != int(number):
                raise ValueError("not a whole number")
            return int(number)
        except (TypeError, ValueError, OverflowError):
            self._warn(f"step:{type(step).__name__}",
                       f"run.log: step={describe(step)} is not a whole number; those "
                       "metrics are not recorded")
            return None

    def _epoch_number(self, epoch: Any) -> int | None:
        try:
            number = to_float(epoch)
            if number != int(number):
                raise ValueError("not a whole number")
            return int(number)
        except (TypeError, ValueError, OverflowError):
            self._warn(f"epoch:{type(epoch).__name__}",
                       f"run.log: epoch={describe(epoch)} is not a whole number; "
                       "those metrics are not recorded")
            return None

    def _numbers(self, metrics: Mapping[str, Any], step: bool
                 ) -> tuple[dict[str, float], dict[str, float]]:
        """(Epoch or Step fields, extras) from a script's dict; bad values warned and left out."""
        fields: dict[str, float] = {}
        extras: dict[str, float] = {}
        items = metrics.items() if isinstance(metrics, Mapping) else None
        if items is None:
            self._warn("metrics-type", f"run.log: metrics must be a dict of numbers, not "
                       f"{printable(type(metrics).__name__)}; nothing recorded")
            return fields, extras
        for key, value in items:
            if not isinstance(key, str):
                key = str(key)
            try:
                number = to_float(value)
            except (TypeError, ValueError, OverflowError):
                self._warn(f"value:{key}", f"run.log: {printable(key)!r} = {describe(value)} "
                           "is not a number (accepted: Python numbers, NumPy scalars, 0-d "
                           "tensors); left out")
                continue
            target = self._names.field(key)
            if step:
                target = {"train_loss": "loss", "lr": "lr", "grad_norm": "grad_norm"}.get(
                    target or "")
            if target is None:
                extras[key] = number
                continue
            if target.endswith("_acc") and number > 1:
                self._warn(f"percent:{key}", f"run.log: {printable(key)!r} = {number:g} is "
                           "above 1: regtui reads accuracies as fractions (0-1); log "
                           "accuracy / 100 for the alerts to judge it")
            fields[target] = number
        return fields, extras

    # ------------------------------------------------------------ epochs and alerts

    def _write_ready(self, ready: list[Ready]) -> None:
        for item in ready:
            record = item.record
            fields = {"seconds": record.seconds, **record.values}  # the script's own wins
            event = Epoch(epoch=record.epoch, extras=dict(record.extras), **fields)
            self._write(event)
            if self._dead:
                return
            self._diagnose(event, set(record.values), item.update)

    def _diagnose(self, event: Epoch, measured: set[str], update: bool) -> None:
        """Feed the detectors one epoch (again, merged, when late metrics updated the
        latest epoch); write and print the alerts that fire."""
        if self._diagnoser is None:
            return
        try:
            if update:
                if self._diagnosed is None or self._diagnosed[0] != event.epoch:
                    return  # an older epoch changed: the detectors have moved past it
                self._diagnoser.load_state_dict(self._diagnosed[1])
                already = self._diagnosed[2]
            else:
                already = set()
                self._diagnosed = (event.epoch, self._diagnoser.state_dict(), already)
            alerts = self._diagnoser.update(event, measured)
        except Exception as error:
            self._diagnoser = None
            self._warn("detectors", f"the detectors failed ({type(error).__name__}: "
                       f"{printable(str(error))[:200]}); this run goes on without alerts")
            return
        for alert in alerts:
            if (alert.kind, alert.level) in already:
                continue
            already.add((alert.kind, alert.level))
            self._write(alert)
            self.alerts.append(alert)
            if self._print_alerts:
                suggest = f" → try {', '.join(alert.suggest)}" if alert.suggest else ""
                print(f"regtui: epoch {alert.epoch} "
                      f"{alert_head(alert.level, alert.kind, alert.message)} {alert.message}"
                      f"{suggest}", file=sys.stderr, flush=True)

    # ------------------------------------------------------------ the end

    def finish(self, status: str | None = None, error: str | None = None,
               reason: str = "") -> None:
        """End the run: `completed` by default (`stopped` when a monitor's stop request was
        seen through stop_requested); also `stopped` (the script's own early stop),
        `interrupted`, `diverged` or `failed` (with `error`, one line). reason: why it
        ended early, in words ("early stopping"). A second call does nothing. Never raises."""
        try:
            with self._lock:
                if self._finished:
                    return
                self._finished = True
                endings.untrack(self)
                reason = printable(str(reason))
                if status is None:
                    status = "stopped" if self._stop_seen else "completed"
                    if self._stop_seen:
                        reason = reason or "stop requested from a monitor"
                elif status not in FINISH_STATUSES:
                    self._warn("status", f"run.finish: status {printable(str(status))!r} is "
                               f"unknown (accepted: {', '.join(FINISH_STATUSES)}); recorded "
                               "as completed")
                    status = "completed"
                if not self._dead:
                    self._write_ready(self._epochs.close())
                best = self._store.summary.curves.best()
                self._store.write(RunFinished(
                    status=status, reason=reason,
                    error=printable(str(error))[:2000] if error is not None else None,
                    best_epoch=int(best["epoch"]) if best else None,
                    best_val_acc=best["val_acc"] if best else None))
        except RunWriteError:
            pass  # warned when writing first failed; the store tried its last words
        except Exception as failure:
            self._internal_error(failure)
        finally:
            self._store.close()

    def _fail(self, exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
        """End the run from an exception that ends the script (a `with` block, sys.excepthook)."""
        if issubclass(exc_type, KeyboardInterrupt):
            self.finish("interrupted", reason="KeyboardInterrupt")
            return
        if issubclass(exc_type, SystemExit) and exc.code in (None, 0):
            self.finish()
            return
        if not self._finished:
            self._store.record_error("".join(traceback.format_exception(exc_type, exc, tb)))
        self.finish("failed", printable(f"{exc_type.__name__}: {exc}".splitlines()[0])[:500])

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        if exc_type is None:
            self.finish()
        else:
            self._fail(exc_type, exc, tb)
        return False

    # ------------------------------------------------------------ never raising

    def _write(self, event: Any) -> None:
        if self._dead:
            return
        try:
            self._store.write(event)
        except RunWriteError as error:
            self._dead = True
            self._warn("write", f"{printable(str(error))}; training goes on, but this run "
                       "records nothing more")

    def _warn(self, kind: str, message: str) -> None:
        if kind not in self._warned:
            self._warned.add(kind)
            print(f"regtui: {message}", file=sys.stderr, flush=True)

    def _after_finish(self) -> None:
        if self._finished:
            self._warn("after-finish", f"run.log after run.finish(): {self.run_id} has "
                       "ended; not recorded")

    def _internal_error(self, error: Exception) -> None:
        self._warn(f"internal:{type(error).__name__}",
                   f"internal error ({type(error).__name__}: {printable(str(error))[:200]}); "
                   "training goes on. Please report it with the traceback below.\n"
                   + "".join(traceback.format_exception(error)))


def environment(world_size: int, model: dict[str, Any]) -> dict[str, Any]:
    """run_started's env: versions, host and command (torch's version only if imported)."""
    torch = sys.modules.get("torch")
    env: dict[str, Any] = {"python": platform.python_version(), "host": socket.gethostname(),
                           "argv": [printable(arg) for arg in sys.argv],
                           "world_size": world_size}
    if torch is not None:
        env["torch"] = getattr(torch, "__version__", "")
    if "device" in model:
        env["device"] = model.pop("device")
    return env
