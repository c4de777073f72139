"""Compare runs: the config keys that differ, their outcomes, and attribution in words."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from rich.table import Table
from rich.text import Text

from regtui.config import to_dict
from regtui.rundir import RunData
from regtui.views.format import fmt, safe_text
from regtui.views.textplot import MARKERS, Series
from regtui.views.textplot import text_plot as draw_text_plot


def settings_of(run: RunData) -> dict[str, Any]:
    """The run's settings as flat `section.key` names (none for a run that never started);
    for a run a script wrote through regtui.init (or imported), its own config as
    `user.key` names."""
    if run.started is None:
        return {}
    if run.started.source != "trainer":
        return dict(_flatten("user", run.started.user_config))
    return {f"{section}.{key}": value for section, values in to_dict(run.config).items()
            for key, value in values.items()}


def _flatten(prefix: str, value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        return [pair for key, item in value.items() for pair in _flatten(f"{prefix}.{key}", item)]
    return [(prefix, value)]


@dataclass(frozen=True)
class Outcome:
    best_val_acc: float | None
    best_epoch: int | None
    final_gap: float | None
    onset: int | None  # first overfitting onset epoch
    test_acc: float | None
    seconds: float
    status: str = "-"  # completed, running, interrupted...: a running run is not done
    epochs: str = "-"  # done/planned

    @classmethod
    def of(cls, run: RunData) -> Outcome:
        s = run.summary
        onsets = [a.get("onset_epoch") for a in s.get("alerts", []) if a["kind"] == "overfitting"]
        return cls(s["best_val_acc"], s["best_epoch"], s["final_gap"],
                   onsets[0] if onsets else None, s["test_acc"], s["train_seconds"],
                   s.get("status") or "-",
                   f"{s.get('epochs_completed', 0)}/{s.get('epochs_planned') or '-'}")


@dataclass(frozen=True)
class Comparison:
    runs: list[RunData]
    differing: dict[str, list[Any]]  # key -> value per run, only keys that differ
    outcomes: list[Outcome]

    def attribution(self, index: int) -> str:
        """What run `index` changed against the first run, and what followed (settings
        quoted as the runs recorded them: pass the text through safe_text to show it)."""
        base, other = self.outcomes[0], self.outcomes[index]
        changes = [f"{key} {_fmt(values[index])} (vs {_fmt(values[0])})"
                   for key, values in self.differing.items() if values[index] != values[0]]
        effects = [f"final gap {_fmt(base.final_gap)} → {_fmt(other.final_gap)}",
                   f"best val acc {_fmt(base.best_val_acc)} → {_fmt(other.best_val_acc)}"]
        if base.onset or other.onset:
            effects.append(f"overfitting onset {_fmt(base.onset)} → {_fmt(other.onset)}")
        unfinished = [f"#{n} is {o.status} at epoch {o.epochs}"
                      for n, o in ((1, base), (index + 1, other))
                      if o.status not in ("completed", "stopped")]
        note = f" (not final: {'; '.join(unfinished)})" if unfinished else ""
        return f"{', '.join(changes) or 'same config'}: {', '.join(effects)}{note}"


def _fmt(value: Any) -> str:
    return fmt(value, missing="none")


def compare(runs: Sequence[RunData]) -> Comparison:
    configs = [settings_of(run) for run in runs]
    configs = [{"presets": "+".join(run.summary["presets"]) or "-", **config}
               for run, config in zip(runs, configs)]
    keys = sorted({key for config in configs for key in config})
    differing = {key: [config.get(key) for config in configs] for key in keys
                 if len({repr(config.get(key)) for config in configs}) > 1}
    return Comparison(list(runs), differing, [Outcome.of(run) for run in runs])


OUTCOME_ROWS = (("status", "status"), ("epochs", "epochs"),
                ("best val acc", "best_val_acc"), ("best epoch", "best_epoch"),
                ("final gap", "final_gap"), ("overfitting onset", "onset"),
                ("test acc", "test_acc"), ("seconds", "seconds"))


def comparison_table(comparison: Comparison) -> Table:
    """One column per run: the keys that differ, then the outcomes (bold). Every cell is
    plain text (run ids and settings come from files: no markup, no control characters)."""
    table = Table("", box=None, pad_edge=False)
    for number, run in enumerate(comparison.runs, 1):
        table.add_column(Text(safe_text(f"#{number} {run.summary['run_id']}")))
    for key, values in comparison.differing.items():
        table.add_row(Text(safe_text(key)), *[Text(safe_text(fmt(v))) for v in values])
    for label, attribute in OUTCOME_ROWS:
        table.add_row(Text(label, "bold"), *[Text(fmt(getattr(o, attribute)))
                                             for o in comparison.outcomes])
    return table


def text_plot(comparison: Comparison, width: int = 78, height: int = 16) -> str:
    """Validation accuracy and loss of every run, overlaid (plain text)."""
    markers = MARKERS * (len(comparison.runs) // len(MARKERS) + 1)
    panels = [(key, [Series(f"#{number}", markers[number - 1], [e.epoch for e in run.epochs],
                            [getattr(e, key) for e in run.epochs])
                     for number, run in enumerate(comparison.runs, start=1)])
              for key in ("val_acc", "val_loss")]
    return draw_text_plot(panels, width, height)
