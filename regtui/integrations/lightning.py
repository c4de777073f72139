"""Lightning: `Trainer(logger=RegtuiLogger())` writes a regtui run of a LightningModule's fit.

    from regtui.integrations.lightning import RegtuiLogger   # or regtui.lightning.RegtuiLogger
    trainer = Trainer(max_epochs=20, logger=RegtuiLogger(num_classes=10))

What Lightning hands its loggers becomes the run's events:

- `log_hyperparams` -> the run's user config (the module's and datamodule's hparams);
- metrics logged during training batches -> throttled `step` events (Lightning's
  `_step` suffix dropped; `log_every_n_steps` already thins them);
- metrics of an epoch's end (its `on_epoch=True` values, `_epoch` suffix dropped, and the
  validation that ran in it) -> one `epoch` event, epoch = Lightning's current_epoch + 1;
- ModelCheckpoint saves -> `checkpoint` events;
- the end of fit -> run_finished: `completed`, `stopped` (early stopping, or a monitor's
  stop request, which this logger honours by setting trainer.should_stop on every rank,
  checked every STOP_CHECK_BATCHES batches), `interrupted` (Ctrl-C) or `failed` with the
  error.

Lightning gives a logger the LightningModule in log_graph at the start of fit; the logger
then adds a small callback to that trainer to tell step metrics from epoch metrics and to
see exceptions. Needs `lightning` (or `pytorch_lightning`): pip install 'regtui[lightning]'.
"""

from __future__ import annotations

import time
from argparse import Namespace
from typing import Any

try:
    from lightning.pytorch import Callback
    from lightning.pytorch.loggers.logger import Logger, rank_zero_experiment
    from lightning.pytorch.utilities import rank_zero_only
except ImportError:  # the older package name
    try:
        from pytorch_lightning import Callback  # type: ignore[no-redef]
        from pytorch_lightning.loggers.logger import (Logger,  # type: ignore[no-redef]
                                                      rank_zero_experiment)
        from pytorch_lightning.utilities import rank_zero_only  # type: ignore[no-redef]
    except ImportError:
        raise ImportError("regtui's Lightning logger needs Lightning: "
                          "pip install 'regtui[lightning]' (or pip install lightning)") from None

import regtui.api as api

__all__ = ["RegtuiLogger"]

STOP_CHECK_BATCHES = 20  # batches between checks for a monitor's stop request


def _clean(metrics: dict[str, Any], suffix: str) -> dict[str, Any]:
    """Lightning's metrics without its bookkeeping keys and `suffix` (`_step`, `_epoch`)."""
    cleaned = {}
    for key, value in metrics.items():
        if key in ("epoch", "step"):
            continue
        cleaned[key[: -len(suffix)] if key.endswith(suffix) else key] = value
    return cleaned


class _Phases(Callback):
    """Tells the logger where in the fit loop Lightning is, and what ended it."""

    def __init__(self, logger: RegtuiLogger) -> None:
        self.logger = logger

    def on_train_batch_start(self, trainer: Any, *args: Any) -> None:
        self.logger._phase = "train"

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        """`s` in a watching monitor: rank 0 reads the request, and every rank follows
        (one collective decision every STOP_CHECK_BATCHES batches, the way EarlyStopping
        decides), so that no process of a DDP job is left waiting for the others."""
        if batch_idx % STOP_CHECK_BATCHES:
            return
        run = self.logger._run
        asked = bool(run is not None and run.stop_requested)
        if trainer.strategy.reduce_boolean_decision(asked, all=False):
            trainer.should_stop = True

    def on_validation_start(self, trainer: Any, *args: Any) -> None:
        self.logger._phase = "validation"

    def on_validation_epoch_end(self, trainer: Any, *args: Any) -> None:
        if not trainer.sanity_checking:
            self.logger._phase = "epoch"  # the validation epoch's metrics come next

    def on_validation_end(self, trainer: Any, *args: Any) -> None:
        self.logger._phase = "train"

    def on_train_epoch_end(self, trainer: Any, *args: Any) -> None:
        self.logger._phase = "epoch"
        optimizers = trainer.optimizers
        if optimizers and optimizers[0].param_groups:
            self.logger._epoch_lr = optimizers[0].param_groups[0].get("lr")

    def on_train_end(self, trainer: Any, *args: Any) -> None:
        self.logger._phase = None
        if trainer.should_stop and trainer.current_epoch < (trainer.max_epochs or 0):
            self.logger._stopped = True

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        self.logger._exception = exception


class _LazyRun:
    """The run, created when first used."""

    def __init__(self, logger: RegtuiLogger) -> None:
        self._logger = logger

    def __getattr__(self, name: str) -> Any:
        return getattr(self._logger._ensure_run(), name)


class RegtuiLogger(Logger):
    """A Lightning logger writing a regtui run.

    name: the run's label (default: the LightningModule's class name). Every other
    keyword goes to regtui.init (num_classes, runs_dir, metrics, print_alerts, alerts,
    dataset, log_every: default 1 here, since Lightning's log_every_n_steps thins steps)."""

    def __init__(self, name: str | None = None, **init_kwargs: Any) -> None:
        super().__init__()
        self._label = name
        self._init_kwargs = {"log_every": 1, **init_kwargs}
        self._hparams: dict[str, Any] = {}
        self._run: api.Run | api.DisabledRun | None = None
        self._phase: str | None = None
        self._epoch_lr: float | None = None
        self._stopped = False
        self._exception: BaseException | None = None
        self._trainer: Any = None
        self._version = time.strftime("%Y%m%d-%H%M%S")

    # ------------------------------------------------------------ Logger's properties

    @property
    def name(self) -> str:
        return "regtui"

    @property
    def version(self) -> str:
        """The run id once the run exists; before that a timestamp (ModelCheckpoint asks
        early, for its default folder)."""
        return self._run.run_id if isinstance(self._run, api.Run) else self._version

    @property
    @rank_zero_experiment
    def experiment(self) -> Any:
        """The regtui run. Lightning asks for it before fit starts, when the model and its
        hparams are not known yet, so this is a stand-in that creates the run on first
        use (`trainer.logger.experiment.log(...)`)."""
        return self._run if self._run is not None else _LazyRun(self)

    # ------------------------------------------------------------ what Lightning calls

    @rank_zero_only
    def log_hyperparams(self, params: dict[str, Any] | Namespace, *args: Any,
                        **kwargs: Any) -> None:
        params = vars(params) if isinstance(params, Namespace) else dict(params)
        if self._run is None or self._run.finished:
            self._hparams.update(params)

    def log_graph(self, model: Any, input_array: Any = None) -> None:
        """Lightning's call at the start of fit, with the module: the logger learns the
        trainer and adds its callback (on every rank: stop decisions are collective),
        and rank 0 starts the run."""
        trainer = getattr(model, "_trainer", None)
        if trainer is not None and trainer is not self._trainer:
            self._trainer = trainer
            if not any(isinstance(c, _Phases) and c.logger is self for c in trainer.callbacks):
                trainer.callbacks.append(_Phases(self))
        if rank_zero_only.rank == 0:
            self._ensure_run(model)

    @rank_zero_only
    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        run = self._ensure_run()
        trainer = self._trainer
        if run.finished or trainer is not None and trainer.sanity_checking:
            return  # after fit (trainer.test), and the sanity check's validation
        if trainer is not None and self._phase is None and not trainer.training:
            return  # trainer.validate / test outside fit
        epoch = metrics.get("epoch")
        epoch = int(epoch) + 1 if isinstance(epoch, (int, float)) else None
        if self._phase == "epoch" and epoch is not None:
            values = _clean(metrics, "_epoch")
            if self._epoch_lr is not None and "lr" not in values:
                values["lr"] = self._epoch_lr
            run.log(values, epoch=epoch)
        elif self._phase in ("train", None):
            run.log(_clean(metrics, "_step"), step=step, epoch=epoch)

    @rank_zero_only
    def after_save_checkpoint(self, checkpoint_callback: Any) -> None:
        if self._run is None:
            return
        path = getattr(checkpoint_callback, "_last_checkpoint_saved", "") or \
            getattr(checkpoint_callback, "last_model_path", "")
        if path:
            best = path == getattr(checkpoint_callback, "best_model_path", None)
            epoch = self._trainer.current_epoch + 1 if self._trainer is not None else None
            self._run.log_checkpoint(path, epoch=epoch, best=best)

    @rank_zero_only
    def finalize(self, status: str) -> None:
        run = self._run
        if run is None:
            return
        error = self._exception
        if status == "success":
            if self._stopped and not run.stop_requested:
                run.finish("stopped", reason="early stopping")
            else:
                run.finish()  # completed, or stopped when a monitor asked
        elif isinstance(error, KeyboardInterrupt) or status == "finished":
            run.finish("interrupted", reason="KeyboardInterrupt" if error else "SIGTERM")
        else:
            text = f"{type(error).__name__}: {error}" if error else "the fit failed"
            run.finish("failed", error=(text.splitlines() or [""])[0])
        self._phase, self._exception, self._stopped = None, None, False

    # ------------------------------------------------------------ the run

    def _ensure_run(self, model: Any = None) -> api.Run | api.DisabledRun:
        """The run, created at the start of a fit (log_graph) or on first use; a new fit
        with the same logger (model given) after the last one finished starts a new run."""
        if self._run is None or model is not None and self._run.finished:
            trainer = self._trainer
            max_epochs = getattr(trainer, "max_epochs", None)
            kwargs = dict(self._init_kwargs)
            if isinstance(max_epochs, int) and max_epochs > 0:
                kwargs.setdefault("epochs", max_epochs)
            if model is not None:
                kwargs.setdefault("model", model)
            label = self._label or (type(model).__name__ if model is not None else None)
            self._run = api.init(label, self._hparams, **kwargs)
        return self._run
