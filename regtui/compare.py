"""Compare runs: the config keys that differ, their outcomes, and attribution in words."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

from rich.table import Table

from regtui.console import fmt
from regtui.export import RunData

# Plain text has no colours: each run gets its own marker (plotext's legends can fail on
# short series, so the legend is printed under the plot).
MARKERS = ("•", "x", "+", "o", "*", "#")


def _flat(config: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {f"{section}.{key}": value for section, values in config.items()
            for key, value in values.items()}


def _config_of(run: RunData) -> dict[str, Any]:
    started = next((e for e in run.events if e.type == "run_started"), None)
    return _flat(started.config) if started else {}


@dataclass(frozen=True)
class Outcome:
    best_val_acc: float | None
    best_epoch: int | None
    final_gap: float | None
    onset: int | None  # first overfitting onset epoch
    test_acc: float | None
    seconds: float

    @classmethod
    def of(cls, run: RunData) -> Outcome:
        s = run.summary
        onsets = [a.get("onset_epoch") for a in s.get("alerts", []) if a["kind"] == "overfitting"]
        return cls(s["best_val_acc"], s["best_epoch"], s["final_gap"],
                   onsets[0] if onsets else None, s["test_acc"], s["train_seconds"])


@dataclass(frozen=True)
class Comparison:
    runs: list[RunData]
    differing: dict[str, list[Any]]  # key -> value per run, only keys that differ
    outcomes: list[Outcome]

    def attribution(self, index: int) -> str:
        """What run `index` changed against the first run, and what followed."""
        base, other = self.outcomes[0], self.outcomes[index]
        changes = [f"{key} {_fmt(values[index])} (vs {_fmt(values[0])})"
                   for key, values in self.differing.items() if values[index] != values[0]]
        effects = [f"final gap {_fmt(base.final_gap)} → {_fmt(other.final_gap)}",
                   f"best val acc {_fmt(base.best_val_acc)} → {_fmt(other.best_val_acc)}"]
        if base.onset or other.onset:
            effects.append(f"overfitting onset {_fmt(base.onset)} → {_fmt(other.onset)}")
        return f"{', '.join(changes) or 'same config'}: {', '.join(effects)}"


def _fmt(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:.3f}" if math.isfinite(value) else str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value)


def compare(runs: Sequence[RunData]) -> Comparison:
    configs = [_config_of(run) for run in runs]
    configs = [{"presets": "+".join(run.summary["presets"]) or "-", **config}
               for run, config in zip(runs, configs)]
    keys = sorted({key for config in configs for key in config})
    differing = {key: [config.get(key) for config in configs] for key in keys
                 if len({repr(config.get(key)) for config in configs}) > 1}
    return Comparison(list(runs), differing, [Outcome.of(run) for run in runs])


OUTCOME_ROWS = (("best val acc", "best_val_acc"), ("best epoch", "best_epoch"),
                ("final gap", "final_gap"), ("overfitting onset", "onset"),
                ("test acc", "test_acc"), ("seconds", "seconds"))


def comparison_table(comparison: Comparison) -> Table:
    """One column per run: the keys that differ, then the outcomes (bold)."""
    table = Table("", *[f"#{i} {r.summary['run_id']}" for i, r in enumerate(comparison.runs, 1)],
                  box=None, pad_edge=False)
    for key, values in comparison.differing.items():
        table.add_row(key, *[_fmt(v) if isinstance(v, list) else fmt(v) for v in values])
    for label, attribute in OUTCOME_ROWS:
        table.add_row(f"[bold]{label}[/]", *[fmt(getattr(o, attribute))
                                             for o in comparison.outcomes])
    return table


def text_plot(comparison: Comparison, width: int = 78, height: int = 16) -> str:
    """Validation accuracy and loss of every run, overlaid (plain text)."""
    import plotext as plt

    markers = MARKERS * (len(comparison.runs) // len(MARKERS) + 1)
    plt.clear_figure()
    plt.plotsize(width, height)
    plt.subplots(1, 2)
    for index, key in enumerate(("val_acc", "val_loss"), start=1):
        plt.subplot(1, index)
        plt.title(key)
        for number, run in enumerate(comparison.runs, start=1):
            points = [(e.epoch, getattr(e, key)) for e in run.epochs
                      if math.isfinite(getattr(e, key))]
            if points:
                plt.plot([p[0] for p in points], [p[1] for p in points],
                         marker=markers[number - 1])
    text = plt.uncolorize(plt.build())
    plt.clear_figure()
    legend = "   ".join(f"{markers[i]} #{i + 1}" for i in range(len(comparison.runs)))
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n" + legend
