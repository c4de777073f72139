"""How `regtui bench` shows its results: a rich table, or JSON."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import TYPE_CHECKING, Any, Sequence

from rich.table import Table

if TYPE_CHECKING:  # the workloads import torch; the report does not need it
    from regtui.bench.workloads import Result


def value(measure: float | None, unit: str) -> str:
    """One side's median: "1.234s", "12,345 samples/s", "not reached" (inf)."""
    if measure is None:
        return "-"
    if measure == float("inf"):
        return "not reached"
    return f"{measure:,.0f} {unit}" if unit == "samples/s" else f"{measure:.3f}{unit}"


def ratio(median: float | None, ratios: Sequence[float]) -> str:
    """The median, and the range of the pairs when there are several ("-": no reference)."""
    if median is None:
        return "-"
    if len(ratios) < 2:
        return f"{median:.3f}"
    return f"{median:.3f} ({min(ratios):.3f}-{max(ratios):.3f})"


def finite_or_none(item: Any) -> Any:
    """JSON has no infinity or NaN ("not reached" becomes null)."""
    if isinstance(item, float):
        return item if math.isfinite(item) else None
    if isinstance(item, (list, tuple)):
        return [finite_or_none(entry) for entry in item]
    return item


def to_json(env: dict[str, Any], results: Sequence[Result]) -> str:
    rows = [{key: finite_or_none(entry) for key, entry in dataclasses.asdict(r).items()}
            for r in results]
    return json.dumps({"env": env, "results": rows}, indent=2)


def header(env: dict[str, Any], epochs: int) -> str:
    return (f"{env['device']} ({env['device_name']}), torch {env['torch']}, "
            f"{env['threads']} threads, {epochs} epochs (W0-W2), medians of interleaved pairs")


def table(results: Sequence[Result]) -> Table:
    """One row a workload; a workload without a reference shows "-" for it and its ratio,
    and whether regtui's own measure met the goal."""
    rows = Table("workload", "what", "regtui side", "reference", "ratio (range)", "goal", "met",
                 box=None, pad_edge=False)
    for r in results:
        met = "-" if r.met is None else ("[green]yes[/]" if r.met else "[red]no[/]")
        ours = f"{r.ours} {value(r.ours_seconds, r.unit)}"
        if r.peak_mb is not None:
            ours += f", peak +{r.peak_mb:,.0f} MB"
        theirs = "-" if r.theirs is None else f"{r.theirs} {value(r.theirs_seconds, r.unit)}"
        rows.add_row(r.workload, r.what + (f" ({r.note})" if r.note else ""), ours, theirs,
                     ratio(r.ratio, r.ratios), r.goal, met)
    return rows
