"""Detectors: overfitting, underfitting, divergence, gradient health, plateaus. Torch-free.

Each detector is a pure function of the epoch history and the thresholds, returning a
Finding or None. The Diagnoser turns findings into alerts only when a condition starts
or gets worse (a higher level), and re-arms a detector after it has been quiet for
QUIET_EPOCHS epochs, so a noisy curve does not repeat the same alert.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass
from typing import Any, Callable, Collection, Mapping, Sequence

from regtui.config import AlertsConfig, RunConfig
from regtui.events import Alert, Epoch

LEVELS = ("info", "warning", "critical")
QUIET_EPOCHS = 5  # epochs without a finding before a detector may fire again
OVERFIT_REMEDIES = ("dropout", "l2", "augment-light", "early-stopping", "label-smoothing",
                    "mixup")
GAP_WIDENING = 0.02
# Gradient norms below this are never called exploding (a net leaving a vanishing-gradient
# start grows its gradients by orders of magnitude: that is recovery, not explosion).
EXPLODE_FLOOR = 0.1
# A first-layer gradient norm below this, while the model is still far from fitting, has
# vanished whatever the last layer does (a too-small init shrinks every layer's gradient).
VANISH_FLOOR = 1e-5  # a wide gap must have grown by at least this over the window


@dataclass(frozen=True)
class Point:
    """What the detectors need of one epoch."""
    epoch: int
    train_loss: float
    val_loss: float
    train_acc: float
    val_acc: float
    grad_norm: float
    first_grad: float | None = None  # first weight layer's gradient norm
    last_grad: float | None = None
    weight_layers: int = 0
    # False when the run did not measure that loss this epoch (an API run that logs no
    # validation, or validates every few epochs): its NaN is then a gap, not a divergence.
    train_measured: bool = True
    val_measured: bool = True

    @classmethod
    def of(cls, event: Epoch, measured: Collection[str] | None = None) -> Point:
        layers = list((event.extras or {}).get("layer_grad_norms", {}).values())
        return cls(event.epoch, event.train_loss, event.val_loss, event.train_acc,
                   event.val_acc, event.grad_norm, layers[0] if layers else None,
                   layers[-1] if layers else None, len(layers),
                   measured is None or "train_loss" in measured,
                   measured is None or "val_loss" in measured)


@dataclass(frozen=True)
class Context:
    cfg: AlertsConfig
    num_classes: int | None  # None: unknown (an API run that did not say): no chance level
    in_use: frozenset[str]  # remedies already active in this run (preset names)

    def suggest(self, names: Sequence[str]) -> list[str]:
        return [name for name in names if name not in self.in_use]


@dataclass(frozen=True)
class Finding:
    level: str
    message: str
    suggest: list[str]
    evidence: dict[str, Any]
    onset_epoch: int | None = None


def _pct(value: float) -> str:
    return f"{value * 100:.0f}%"


# ---------------------------------------------------------------- detectors

def _best_val(history: Sequence[Point]) -> Point:
    finite = [p for p in history if math.isfinite(p.val_loss)]
    return min(finite, key=lambda p: p.val_loss) if finite else history[0]


def detect_overfitting(history: Sequence[Point], ctx: Context) -> Finding | None:
    """Val loss stuck above its best while train loss falls, or a wide, widening acc gap."""
    cfg, now = ctx.cfg, history[-1]
    best = _best_val(history)
    onset = best.epoch + 1
    suggest = ctx.suggest(OVERFIT_REMEDIES)
    recent = history[-cfg.overfit_patience:]
    rising = len(history) > cfg.overfit_patience and best.epoch < recent[0].epoch and all(
        p.val_loss > best.val_loss * (1 + cfg.overfit_margin) for p in recent)
    if rising and now.train_loss < best.train_loss:
        above = now.val_loss / best.val_loss - 1
        fell = 1 - now.train_loss / best.train_loss
        level = "critical" if above >= cfg.overfit_critical else "warning"
        return Finding(level, f"val loss {now.val_loss:.3f} is {_pct(above)} above its best "
                       f"{best.val_loss:.3f} at epoch {best.epoch} while train loss fell "
                       f"{_pct(fell)}", suggest,
                       {"val_loss": now.val_loss, "best_val_loss": best.val_loss,
                        "best_epoch": best.epoch, "above_best": above, "train_loss_fall": fell},
                       onset)
    if len(history) > cfg.gap_window:
        then = history[-1 - cfg.gap_window]
        gap, gap_then = now.train_acc - now.val_acc, then.train_acc - then.val_acc
        # A widening gap counts only while val loss has made no new best in the window:
        # while it still improves, the model is still learning something that generalizes.
        stalled = best.epoch <= then.epoch
        if stalled and gap > cfg.gap_threshold and gap - gap_then >= GAP_WIDENING:
            return Finding("warning", f"train-val accuracy gap {gap:.3f} (train "
                           f"{now.train_acc:.3f}, val {now.val_acc:.3f}) has widened from "
                           f"{gap_then:.3f} over {cfg.gap_window} epochs", suggest,
                           {"gap": gap, "gap_before": gap_then, "train_acc": now.train_acc,
                            "val_acc": now.val_acc}, onset)
    return None


def detect_underfitting(history: Sequence[Point], ctx: Context) -> Finding | None:
    """After warm-up: train accuracy near chance, or a stalled train loss with val ≈ train."""
    cfg, now = ctx.cfg, history[-1]
    if len(history) < cfg.warmup:
        return None
    chance = 1 / max(ctx.num_classes, 1) if ctx.num_classes else math.nan
    regularizers = sorted(ctx.in_use - {"he", "xavier", "orthogonal", "batchnorm"})
    advice = "a bigger model or a higher lr" + (
        f"; less regularization (in use: {', '.join(regularizers)})" if regularizers else "")
    suggest = ctx.suggest(("batchnorm", "he"))
    evidence = {"train_acc": now.train_acc, "val_acc": now.val_acc, "chance": chance,
                "epochs": len(history)}
    if now.train_acc < chance * cfg.chance_factor:
        return Finding("warning", f"train accuracy {now.train_acc:.3f} is near chance "
                       f"({chance:.3f}) after {len(history)} epochs: try {advice}",
                       suggest, evidence)
    window = history[-cfg.stall_window:]
    if len(window) == cfg.stall_window and now.train_acc < cfg.stall_acc:
        change = (window[0].train_loss - now.train_loss) / max(abs(window[0].train_loss), 1e-12)
        if change < cfg.stall_tolerance and abs(now.train_acc - now.val_acc) < 0.05:
            return Finding("warning", f"train loss has stopped improving ({_pct(change)} over "
                           f"{cfg.stall_window} epochs) at train acc {now.train_acc:.3f} ≈ val "
                           f"acc {now.val_acc:.3f}: try {advice}", suggest,
                           {**evidence, "train_loss_change": change})
    return None


def detect_divergence(history: Sequence[Point], ctx: Context) -> Finding | None:
    """A non-finite loss, or a train loss many times that of a uniform guess (when the
    number of classes is known). A loss the run did not measure is no evidence."""
    now = history[-1]
    suggest = ctx.suggest(("gradclip", "batchnorm"))
    measured = [loss for loss, on in ((now.train_loss, now.train_measured),
                                      (now.val_loss, now.val_measured)) if on]
    if not all(math.isfinite(loss) for loss in measured):
        bad = next(loss for loss in measured if not math.isfinite(loss))
        return Finding("critical", f"the loss became {bad} at epoch {now.epoch}: "
                       "training diverged; lower the lr", suggest,
                       {"train_loss": now.train_loss, "val_loss": now.val_loss}, now.epoch)
    if not ctx.num_classes or not now.train_measured:
        return None
    guess = math.log(max(ctx.num_classes, 2))
    limit = ctx.cfg.divergence_factor * guess
    if now.train_loss > limit:
        return Finding("critical", f"train loss {now.train_loss:.4g} is "
                       f"{now.train_loss / guess:.3g}× the loss of a uniform guess "
                       f"({guess:.3f}): training diverged; lower the lr", suggest,
                       {"train_loss": now.train_loss, "uniform_guess_loss": guess,
                        "limit": limit}, now.epoch)
    return None


def detect_exploding_gradients(history: Sequence[Point], ctx: Context) -> Finding | None:
    """The grad norm jumps far above its running median while the train loss gets worse."""
    before = [p.grad_norm for p in history[:-1] if math.isfinite(p.grad_norm)]
    now = history[-1]
    if len(before) < 3 or math.isnan(now.grad_norm):
        return None
    median = statistics.median(before)
    worse = not now.train_loss < history[-2].train_loss  # a falling loss is recovery
    if worse and now.grad_norm > ctx.cfg.explode_factor * max(median, EXPLODE_FLOOR):
        return Finding("warning", f"gradient norm {now.grad_norm:.4g} jumped to "
                       f"{now.grad_norm / max(median, 1e-12):.3g}× its running median "
                       f"{median:.4g} while train loss rose to {now.train_loss:.4g}",
                       ctx.suggest(("gradclip",)) + ["lower lr"],
                       {"grad_norm": now.grad_norm, "median": median,
                        "train_loss": now.train_loss}, now.epoch)
    return None


def detect_vanishing_gradients(history: Sequence[Point], ctx: Context) -> Finding | None:
    """The first layer's gradient is a tiny fraction of the last layer's, or tiny outright
    while the model is still far from fitting the training set."""
    now = history[-1]
    if now.weight_layers < 3 or now.first_grad is None or now.last_grad is None:
        return None
    ratio = now.first_grad / now.last_grad if now.last_grad else 1.0
    evidence = {"first_layer_grad": now.first_grad, "last_layer_grad": now.last_grad,
                "ratio": ratio, "train_acc": now.train_acc}
    suggest = ctx.suggest(("he", "xavier", "batchnorm"))
    if ratio < ctx.cfg.vanish_ratio:
        return Finding("warning", f"the first layer's gradient norm {now.first_grad:.3g} is "
                       f"{ratio:.2g} of the last layer's {now.last_grad:.3g}: the early layers "
                       "barely learn", suggest, evidence, now.epoch)
    if now.first_grad < VANISH_FLOOR and now.train_acc < ctx.cfg.stall_acc:
        return Finding("warning", f"the first layer's gradient norm is {now.first_grad:.3g} "
                       f"(last layer {now.last_grad:.3g}) while train accuracy is only "
                       f"{now.train_acc:.3f}: the gradients vanish before they reach the "
                       "weights", suggest, evidence, now.epoch)
    return None


def detect_plateau(history: Sequence[Point], ctx: Context) -> Finding | None:
    """Val loss flat over the window, at its best: a val loss that rose from its best and
    stays up (0.709 → 0.736 → flat) is the start of overfitting, not a plateau."""
    cfg = ctx.cfg
    window = history[-cfg.stall_window:]
    if len(history) < cfg.warmup or len(window) < cfg.stall_window:
        return None
    losses = [p.val_loss for p in window]
    mean = statistics.fmean(losses)
    best = _best_val(history).val_loss
    if not math.isfinite(mean) or mean > best * (1 + cfg.stall_tolerance):
        return None
    spread = (max(losses) - min(losses)) / max(abs(mean), 1e-12)
    if spread < cfg.stall_tolerance:
        return Finding("info", f"val loss has stayed within {_pct(spread)} of {mean:.3f} for "
                       f"{cfg.stall_window} epochs", ctx.suggest(("cosine",)) + ["lr decay"],
                       {"val_loss_mean": mean, "spread": spread}, window[0].epoch)
    return None


DETECTORS: dict[str, Callable[[Sequence[Point], Context], Finding | None]] = {
    "divergence": detect_divergence,
    "overfitting": detect_overfitting,
    "underfitting": detect_underfitting,
    "exploding_gradients": detect_exploding_gradients,
    "vanishing_gradients": detect_vanishing_gradients,
    "plateau": detect_plateau,
}


# ---------------------------------------------------------------- the diagnoser

def remedies_in_use(config: RunConfig, presets: Sequence[str] = ()) -> frozenset[str]:
    """Presets in effect, whether chosen by name or by setting the same keys."""
    reg, aug = config.regularization, config.augment
    active = {
        "dropout": config.model.dropout > 0,
        "l2": reg.l2 > 0 or reg.weight_decay > 0,
        "l1": reg.l1 > 0,
        "augment-light": aug != type(aug)(),
        "early-stopping": reg.early_stopping,
        "label-smoothing": reg.label_smoothing > 0,
        "mixup": reg.mixup_alpha > 0,
        "cutmix": reg.cutmix_alpha > 0,
        "gradclip": reg.clip_norm > 0 or reg.clip_value > 0,
        "batchnorm": config.model.batchnorm,
        "he": config.init.scheme.startswith("kaiming"),
        "xavier": config.init.scheme.startswith("xavier"),
        "cosine": config.train.scheduler != "none",
    }
    return frozenset(presets) | {name for name, on in active.items() if on}


class Diagnoser:
    """Feed it epoch events in order; it returns the alerts to emit."""

    def __init__(self, cfg: AlertsConfig, num_classes: int | None,
                 in_use: frozenset[str] = frozenset()):
        """num_classes None: unknown (no chance-level or uniform-guess checks)."""
        self.ctx = Context(cfg, num_classes, frozenset(in_use))
        self.history: list[Point] = []
        self._rows: list[dict] = []  # history as plain dicts, kept for cheap state_dicts
        self.fired: dict[str, str] = {}  # kind -> the level it last fired at
        self.quiet: dict[str, int] = {}  # kind -> epochs since its last finding
        self.diverging: str | None = None  # the latest epoch's critical divergence finding

    def update(self, event: Epoch, measured: Collection[str] | None = None) -> list[Alert]:
        """The alerts this epoch fires. Also sets `diverging` to the reason when this
        epoch counts as diverged, whether or not that fires an alert (a detector that has
        fired stays quiet until it re-arms; the trainer must stop all the same).
        measured: the Epoch fields the run measured this epoch (None: all of them)."""
        point = Point.of(event, measured)
        self.history.append(point)
        self._rows.append(asdict(point))
        alerts = []
        self.diverging = None
        for kind, detect in DETECTORS.items():
            finding = detect(self.history, self.ctx)
            if kind == "divergence" and finding is not None and finding.level == "critical":
                self.diverging = finding.message
            alert = self._on_finding(kind, finding, event.epoch)
            if alert:
                alerts.append(alert)
        return alerts

    def _on_finding(self, kind: str, finding: Finding | None, epoch: int) -> Alert | None:
        if finding is None:
            self.quiet[kind] = self.quiet.get(kind, 0) + 1
            if self.quiet[kind] >= QUIET_EPOCHS:
                self.fired.pop(kind, None)  # re-armed: a new onset fires again
            return None
        self.quiet[kind] = 0
        previous = self.fired.get(kind)
        if previous is not None and LEVELS.index(finding.level) <= LEVELS.index(previous):
            return None
        self.fired[kind] = finding.level
        prefix = {"overfitting": f"overfitting since epoch {finding.onset_epoch}: ",
                  "underfitting": "underfitting: ", "plateau": "plateau: "}.get(kind, "")
        return Alert(epoch=epoch, kind=kind, level=finding.level,
                     message=prefix + finding.message, suggest=finding.suggest,
                     onset_epoch=finding.onset_epoch, evidence=finding.evidence)

    def state_dict(self) -> dict:
        """A copy that later updates leave alone (rows are never changed once added),
        made in time independent of the run's length: the trainer takes one per epoch."""
        return {"history": list(self._rows), "fired": dict(self.fired),
                "quiet": dict(self.quiet)}

    def load_state_dict(self, state: dict) -> None:
        self._rows = [dict(row) for row in state.get("history", [])]
        self.history = [Point(**row) for row in self._rows]
        self.fired = dict(state.get("fired", {}))
        self.quiet = dict(state.get("quiet", {}))


# ---------------------------------------------------------------- the verdict

def verdict(epochs: Sequence[Epoch], alerts: Sequence[Alert], status: str,
            cfg: AlertsConfig) -> dict[str, Any] | None:
    """One overall diagnosis of a run, with the numbers behind it."""
    if not epochs:
        return None
    lowest = min((e for e in epochs if math.isfinite(e.val_loss)), key=lambda e: e.val_loss,
                 default=epochs[-1])
    return verdict_from(_numbers(epochs[-1]), _numbers(lowest), alerts, status, cfg)


def _numbers(epoch: Epoch) -> dict[str, float]:
    return {"epoch": epoch.epoch, "train_acc": epoch.train_acc, "val_acc": epoch.val_acc,
            "val_loss": epoch.val_loss}


def verdict_from(last: Mapping[str, float] | None, lowest: Mapping[str, float] | None,
                 alerts: Sequence[Alert], status: str, cfg: AlertsConfig
                 ) -> dict[str, Any] | None:
    """The diagnosis from the last epoch's and the lowest-val-loss epoch's numbers
    (mappings with epoch, train_acc, val_acc, val_loss), as a long run keeps them."""
    if last is None:
        return None
    lowest = lowest or last
    gap = last["train_acc"] - last["val_acc"]
    evidence = {"final_train_acc": last["train_acc"], "final_val_acc": last["val_acc"],
                "final_gap": gap, "best_val_loss": lowest["val_loss"],
                "best_val_loss_epoch": int(lowest["epoch"]), "final_val_loss": last["val_loss"]}
    by_kind: dict[str, list[Alert]] = {}
    for alert in alerts:
        by_kind.setdefault(alert.kind, []).append(alert)
    if status == "diverged" or "divergence" in by_kind:
        onset = by_kind["divergence"][0].epoch if "divergence" in by_kind else int(last["epoch"])
        return {"verdict": f"diverged at epoch {onset}", "kind": "diverged", **evidence}
    still_over = last["val_loss"] > lowest["val_loss"] * (1 + cfg.overfit_margin) or \
        gap > cfg.gap_threshold
    if "overfitting" in by_kind and still_over:
        onset = by_kind["overfitting"][0].onset_epoch
        return {"verdict": f"overfitting since epoch {onset}", "kind": "overfitting",
                "onset_epoch": onset, **evidence}
    if "underfitting" in by_kind and last["train_acc"] < cfg.stall_acc:
        return {"verdict": "underfitting", "kind": "underfitting", **evidence}
    if {"exploding_gradients", "vanishing_gradients"} & set(by_kind):
        return {"verdict": "unstable gradients", "kind": "unstable_gradients", **evidence}
    return {"verdict": "good fit", "kind": "good_fit", **evidence}
