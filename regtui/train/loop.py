"""The trainer: runs epochs, emits events, honours a Control, checkpoints for resume.

Per step it touches the host only every train.log_every steps (for a `step` event);
losses, accuracies, clip counts and gradient norms are summed on the device and read
back once per epoch.
"""

from __future__ import annotations

import contextlib
import math
import time
import traceback
from typing import Callable, Protocol

import torch
from torch import Tensor

from regtui.control import Control
from regtui.config import to_dict
from regtui.events import Alert, Epoch, Event, RunFinished, RunStarted, Step
from regtui.rundir import RunStore, RunWriteError
from regtui.train import models, precision, regularize
from regtui.train import state as training_state
from regtui.train.augment import Augmenter
from regtui.train.checkpoint import Checkpointer
from regtui.train.data import Split
from regtui.train.devices import environment
from regtui.train.optim import make_optimizer, make_scheduler
from regtui.train.samples import sample_images
from regtui.train.setup import Prepared, uses_channels_last

EVAL_BATCH = 1024
SMALL_WEIGHT = 1e-3  # |w| below this counts towards the sparsity figure


class Diagnoser(Protocol):
    def update(self, epoch: Epoch) -> list[Alert]: ...
    def state_dict(self) -> dict: ...
    def load_state_dict(self, state: dict) -> None: ...

    @property
    def diverging(self) -> str | None:
        """Why the latest epoch counts as diverged (whether or not it fired an alert)."""


class Trainer:
    """Trains one run. Every file it keeps goes through `store` (the run directory's one
    writer); every event goes to `emit` (the store first, then the views)."""

    def __init__(self, prepared: Prepared, store: RunStore, emit: Callable[[Event], None],
                 control: Control | None = None, diagnoser: Diagnoser | None = None,
                 presets: tuple[str, ...] = ()) -> None:
        self.cfg = prepared.config
        self.device = prepared.device
        self.data = prepared.dataset
        self.model = prepared.model
        self.store = store
        self.emit = emit
        self.control = control or Control()
        self.diagnoser = diagnoser
        self.presets = presets
        self._setup_training_state()

    # ------------------------------------------------------------ setup

    def _setup_training_state(self) -> None:
        cfg = self.cfg
        self.generator = torch.Generator(device=self.device).manual_seed(cfg.train.seed)
        self.augmenter = Augmenter(cfg.augment, self.generator, cfg.data.dataset)
        self.mixer = regularize.Mixer(cfg.regularization, cfg.train.seed, self.generator)
        self.criterion = regularize.criterion(cfg.regularization)
        self.optimizer = make_optimizer(cfg, self.model)
        self.steps_per_epoch = len(self._batch_starts())
        self.scheduler = make_scheduler(cfg, self.optimizer, self.steps_per_epoch)
        self.early_stopping = regularize.EarlyStopping(cfg.regularization.patience,
                                                       cfg.regularization.min_delta)
        self.weights = regularize.weight_parameters(self.model)
        self.weight_names = [n for n, p in self.model.named_parameters() if p.ndim > 1]
        self.parameters = list(self.model.parameters())
        self.clipping = bool(cfg.regularization.clip_norm or cfg.regularization.clip_value)
        self.forward = torch.compile(self.model) if cfg.train.compile else self.model
        self.use_amp = precision.use_bf16(cfg.train.amp, self.model, self.data.shape,
                                          cfg.train.batch_size, self.device)
        self.channels_last = uses_channels_last(cfg, self.device)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        self.epoch = 0
        self.global_step = 0
        self.best_epoch: int | None = None
        self.best_val_acc = -math.inf
        # (status, reason) once training has ended, kept in last.pt: a run killed between
        # its last epoch and its run_finished is finished by a resume, not trained on.
        self.ending: tuple[str, str] | None = None
        self.checkpoints = Checkpointer(self.store, self.emit, cfg.train.checkpoint_seconds)

    def _batch_starts(self) -> list[int]:
        n, size = len(self.data.train), self.cfg.train.batch_size
        starts = list(range(0, n, size))
        # A last batch of one sample breaks batch norm in train mode; it is dropped.
        if len(starts) > 1 and n - starts[-1] == 1:
            starts.pop()
        return starts

    def _autocast(self):
        if self.use_amp:
            return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    # ------------------------------------------------------------ checkpoints

    def load_checkpoint(self) -> None:
        """Continue from the run's last.pt (and best.pt); see train/state.load_into."""
        training_state.load_into(self)

    # ------------------------------------------------------------ one epoch

    def _batch(self, split: Split, index: Tensor | slice,
               positions: slice | None = None) -> Tensor:
        """Float batch of the samples at `index` (a slice reads them without a copy);
        with `positions` (their place in the epoch) it is augmented."""
        images = split.images[index]
        if positions is not None and self.augmenter.active:
            floats = self.augmenter.before_standardize(images.float().div_(255.0), positions)
            scaled = (floats - self.data.mean.view(1, -1, 1, 1)) / self.data.std.view(1, -1, 1, 1)
            batch = self.augmenter.after_standardize(scaled, positions)
        else:
            batch = self.data.normalize(images)
        if self.channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last)
        return batch

    def _set_frozen(self) -> None:
        if self.cfg.model.pretrained and self.cfg.model.freeze_epochs:
            models.set_backbone_frozen(self.model, self.epoch <= self.cfg.model.freeze_epochs)

    def _train_epoch(self) -> dict[str, float] | None:
        """Train one epoch; None if a stop was requested before it finished."""
        self.model.train()
        split = self.data.train
        order = torch.randperm(len(split), generator=self.generator, device=self.device)
        if self.augmenter.active:
            _, height, width = self.data.shape
            self.augmenter.plan(len(split), height, width, self.device)
        zero = torch.zeros((), device=self.device)
        loss_sum, correct, clipped, samples = zero.clone(), zero.clone(), zero.clone(), 0
        grad_sum, layer_sum, grad_samples = zero.clone(), None, 0
        size, log_every, diverged = self.cfg.train.batch_size, self.cfg.train.log_every, False
        control, optimizer = self.control, self.optimizer
        # Settings fixed for the run, looked up once: the step below runs thousands of times.
        l1, l2 = self.cfg.regularization.l1, self.cfg.regularization.l2
        per_step_lr = isinstance(self.scheduler, torch.optim.lr_scheduler.OneCycleLR)
        starts = self._batch_starts()
        for start in starts:
            if control.paused:
                self._wait_while_paused()
            if control.stop_requested:
                return None
            index = order[start:start + size]
            batch_size = int(index.shape[0])
            targets = split.labels[index]
            loss, logits, mixed = self._forward(
                self._batch(split, index, slice(start, start + batch_size)), targets)
            optimizer.zero_grad(set_to_none=True)
            extra = regularize.penalty(self.weights, l1, l2) if l1 or l2 else None
            (loss if extra is None else loss + extra).backward()
            self.global_step += 1
            sample_now = self.global_step % log_every == 0
            if sample_now or (len(starts) < log_every and start == 0):
                layer_norms = regularize.grad_norms(self.weights)
                layer_sum = layer_norms if layer_sum is None else layer_sum + layer_norms
                grad_sum += torch.linalg.vector_norm(layer_norms)
                grad_samples += 1
            if self.clipping:
                clipped += regularize.clip_gradients(self.parameters, self.cfg.regularization)
            optimizer.step()
            if per_step_lr:
                self.scheduler.step()
            samples += batch_size
            loss_sum += loss.detach() * batch_size
            predictions = logits.detach().argmax(dim=1)
            correct += mixed.correct(predictions) if mixed else (predictions == targets).sum()
            if sample_now and not self._report_step(loss, layer_norms):
                diverged = True
                break
        host = torch.stack([loss_sum, correct, clipped, grad_sum]).tolist()  # the one sync
        layers = (layer_sum / grad_samples).tolist() if layer_sum is not None else []
        return {
            "loss": host[0] / max(samples, 1) if not diverged else math.nan,
            "acc": host[1] / max(samples, 1),
            "clipped": host[2] / max(len(starts), 1),
            "grad_norm": host[3] / grad_samples if grad_samples else math.nan,
            "layer_grad_norms": dict(zip(self.weight_names, layers)),
            "samples": samples,
        }

    def _forward(self, images: Tensor, targets: Tensor):
        mixed = self.mixer(images, targets) if self.mixer.active else None
        with self._autocast():
            logits = self.forward(mixed.images if mixed else images)
            loss = mixed.loss(self.criterion, logits) if mixed else self.criterion(logits, targets)
        return loss, logits, mixed

    def _report_step(self, loss: Tensor, layer_norms: Tensor) -> bool:
        """Emit a throttled step event; False when the loss is no longer finite.

        layer_norms are the step's gradient norms, taken before clipping and the update.
        """
        value = loss.item()
        norm = torch.linalg.vector_norm(layer_norms).item()
        self.emit(Step(epoch=self.epoch, step=self.global_step, loss=value,
                       lr=self.optimizer.param_groups[0]["lr"], grad_norm=norm))
        return math.isfinite(value)

    def _wait_while_paused(self) -> None:
        paused_at = time.perf_counter()
        self.control.wait_while_paused()
        self._paused_seconds += time.perf_counter() - paused_at

    @torch.no_grad()
    def evaluate(self, split: Split, confusion: bool = False) -> dict:
        """Plain cross-entropy and accuracy in eval mode; with `confusion`, also the
        confusion matrix and every sample's prediction (a device tensor)."""
        self.model.eval()
        classes = self.data.num_classes
        loss_sum = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device)
        matrix = torch.zeros(classes * classes, dtype=torch.long, device=self.device)
        predicted = []
        for start in range(0, len(split), EVAL_BATCH):
            index = slice(start, start + EVAL_BATCH)
            targets = split.labels[index]
            with self._autocast():
                logits = self.forward(self._batch(split, index))
            loss_sum += regularize.cross_entropy_sum(logits, targets)
            predictions = logits.argmax(dim=1)
            correct += (predictions == targets).sum()
            if confusion:
                matrix += torch.bincount(targets * classes + predictions, minlength=classes ** 2)
                predicted.append(predictions)
        count = max(len(split), 1)
        loss, acc = torch.stack([loss_sum, correct]).tolist()
        result = {"loss": loss / count, "acc": acc / count}
        if confusion:
            result["confusion_matrix"] = matrix.view(classes, classes).tolist()
            result["predictions"] = torch.cat(predicted) if predicted else matrix[:0]
        return result

    def _weight_stats(self) -> dict[str, float]:
        with torch.no_grad():
            flat = torch.cat([w.detach().flatten() for w in self.weights])
            norm, small = torch.stack([flat.norm(), (flat.abs() < SMALL_WEIGHT).float().mean()])\
                .tolist()
        return {"weight_norm": norm, "sparsity": small}

    def _run_epoch(self) -> Epoch | None:
        self._paused_seconds = 0.0
        started = time.perf_counter()
        self._set_frozen()
        train = self._train_epoch()
        if train is None:
            return None
        train_seconds = time.perf_counter() - started - self._paused_seconds
        val = self.evaluate(self.data.val) if math.isfinite(train["loss"]) else \
            {"loss": math.nan, "acc": math.nan}
        lr = self.optimizer.param_groups[0]["lr"]
        self._step_scheduler(val["loss"])
        extras = {**self._weight_stats(), "layer_grad_norms": train["layer_grad_norms"]}
        if self.clipping:
            extras["clipped"] = train["clipped"]
        if self.cfg.model.pretrained and self.cfg.model.freeze_epochs:
            extras["frozen"] = self.epoch <= self.cfg.model.freeze_epochs
        return Epoch(epoch=self.epoch, train_loss=train["loss"], train_acc=train["acc"],
                     val_loss=val["loss"], val_acc=val["acc"], lr=lr,
                     grad_norm=train["grad_norm"],
                     seconds=time.perf_counter() - started - self._paused_seconds,
                     samples_per_s=train["samples"] / max(train_seconds, 1e-9), extras=extras)

    def _step_scheduler(self, val_loss: float) -> None:
        if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            if math.isfinite(val_loss):
                self.scheduler.step(val_loss)
        elif self.scheduler and not isinstance(self.scheduler,
                                               torch.optim.lr_scheduler.OneCycleLR):
            self.scheduler.step()

    # ------------------------------------------------------------ the run

    def started_event(self, run_id: str) -> RunStarted:
        return RunStarted(run_id=run_id, presets=list(self.presets), config=to_dict(self.cfg),
                          env=self._environment(), model=models.describe(self.model),
                          data={**self.data.describe(), "steps_per_epoch": self.steps_per_epoch},
                          resumed_from=self.epoch)

    def _environment(self) -> dict:
        env = environment(self.device)
        if self.device.type == "cuda":
            env["precision"] = precision.describe(self.use_amp, self.cfg.train.amp)
        return env

    def run(self, run_id: str) -> RunFinished:
        """Train to the configured epochs (from self.epoch); always ends with run_finished.

        Any error (the store's own write errors included: a full disk) ends the run
        `failed` with one line in run_finished.error; a Ctrl-C ends it `interrupted`."""
        try:
            self.emit(self.started_event(run_id))
            self.checkpoints.restart_clock()
            try:
                status, reason = self._epochs()
                self.checkpoints.write()
            except KeyboardInterrupt:
                status, reason = "interrupted", "interrupted (Ctrl-C)"
                self.checkpoints.write_quietly()
            try:
                finished = self._finish(status, reason)
            except KeyboardInterrupt:  # a second Ctrl-C during the test: end untested
                finished = self._untested("interrupted", "interrupted (Ctrl-C)")
            self.emit(finished)
            return finished
        except Exception as error:  # the run must still end with run_finished
            if isinstance(error, RunWriteError):  # the disk, not the code: no traceback
                message = str(error)
            else:
                self.store.record_error(traceback.format_exc())
                message = f"{type(error).__name__}: {error}"
            self.checkpoints.write_quietly()
            finished = self._untested("failed", "error", message)
            self.emit(finished)  # after a write error the store records it as it can
            return finished

    def _untested(self, status: str, reason: str, error: str | None = None) -> RunFinished:
        return RunFinished(status=status, reason=reason, error=error, best_epoch=self.best_epoch,
                           best_val_acc=self._best_or_none(), classes=self.data.classes)

    def _epochs(self) -> tuple[str, str]:
        if self.ending:  # resumed after its training had ended: only the finish is left
            return self.ending
        while self.epoch < self.cfg.train.epochs:
            self.epoch += 1
            event = self._run_epoch()
            if event is None:
                self.epoch -= 1
                status = self.control.stop_status
                return status, "stopped by user" if status == "stopped" else "interrupted"
            self.emit(event)
            alerts = self.diagnoser.update(event) if self.diagnoser else []
            for alert in alerts:
                self.emit(alert)
            improved = math.isfinite(event.val_acc) and event.val_acc > self.best_val_acc
            if improved:
                self.best_epoch, self.best_val_acc = self.epoch, event.val_acc
            self.ending = self._ending(event, alerts)
            self.checkpoints.keep(training_state.capture(self), self.model.state_dict() if improved else None,
                                  self.best_epoch)
            if self.ending:
                return self.ending
        return "completed", ""

    def _ending(self, event: Epoch, alerts: list[Alert]) -> tuple[str, str] | None:
        """(status, reason) when this epoch ends the run, else None."""
        if not (math.isfinite(event.train_loss) and math.isfinite(event.val_loss)):
            return "diverged", "the loss is no longer finite"
        diverged = [a for a in alerts if a.kind == "divergence" and a.level == "critical"]
        if diverged:
            return "diverged", diverged[0].message
        # The detector's verdict on this epoch, not only a newly fired alert: a detector
        # that already fired (a resumed run) stays quiet, and the run must stop all the same.
        diverging = getattr(self.diagnoser, "diverging", None) if self.diagnoser else None
        if diverging:
            return "diverged", diverging
        if self.cfg.regularization.early_stopping:
            stop, reason = self.early_stopping.update(event.val_loss)
            if stop:
                self.emit(Alert(epoch=self.epoch, kind="early_stop", level="info",
                                message=f"early stopping at epoch {self.epoch}: {reason}; "
                                f"the best epoch ({self.best_epoch}) is tested",
                                evidence={"best_val_loss": self.early_stopping.best,
                                          "patience": self.early_stopping.patience}))
                return "completed", "early stopping"
        return None

    def _best_or_none(self) -> float | None:
        return self.best_val_acc if self.best_epoch is not None else None

    def _finish(self, status: str, reason: str) -> RunFinished:
        test: dict = {}
        samples: dict = {}
        best_state = self.checkpoints.best_state
        if best_state is not None and len(self.data.test):
            self.model.load_state_dict(best_state)
            test = self.evaluate(self.data.test, confusion=True)
            samples = sample_images(self.data.test, test["predictions"])
        return RunFinished(status=status, reason=reason, best_epoch=self.best_epoch,
                           best_val_acc=self._best_or_none(), test_acc=test.get("acc"),
                           test_loss=test.get("loss"),
                           confusion_matrix=test.get("confusion_matrix"),
                           classes=self.data.classes, samples=samples)
