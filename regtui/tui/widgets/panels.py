"""Text panels of the monitor: status line, alerts, training signals, results, errors."""

from __future__ import annotations

import os
from pathlib import Path

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from regtui.events import Alert, RunFinished
from regtui.tui.state import RunState
from regtui.tui.widgets import image_grid
from regtui.views.format import (LEVEL_STYLE, STATUS_STYLE, alert_head, duration, fmt,
                                 safe_text)

LEVEL_RANK = {"critical": 2, "warning": 1, "info": 0}
SAMPLE_ROWS = 2  # rows of test images at most: the charts stay within reach


def shown_path(path: Path | None) -> str:
    """A run directory as a user would type it: relative to here when it is below here."""
    if path is None:
        return "-"
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return str(path)
    return relative if not relative.startswith("..") else str(path)


class LivePanel(Static):
    """A Static redrawn every second or so. A layout pass re-renders the whole screen (tens
    of milliseconds of the CPU that training runs on), so an unchanged text costs nothing
    and a changed one asks for a layout only when its number of lines changes."""

    _shown: str | Text | None = None

    def show_content(self, content: str | Text, fixed_height: bool = False) -> None:
        if content == self._shown:
            return
        lines = _line_count(content)
        resized = self._shown is None or lines != _line_count(self._shown)
        self.update(content, layout=resized and not fixed_height)
        self._shown = content


def _line_count(content: str | Text) -> int:
    return (content.plain if isinstance(content, Text) else content).count("\n")


def _no_presets(source: str) -> str:
    """What stands in for the presets of a run that has none."""
    return {"api": "your own loop (regtui.init)",
            "tensorboard": "imported from TensorBoard"}.get(source, "no presets")


class StatusLine(LivePanel):
    """Where the run is saved, presets, device, status; epoch i/N, ETA, samples/s."""

    def show(self, state: RunState, paused: bool, override: str | None = None,
             failure: str | None = None, run_dir: Path | None = None) -> None:
        started = state.started
        if started is None:
            if failure is not None:
                text = Text("could not start: ", "bold red")
                text.append(safe_text(failure.splitlines()[0]) if failure else "")
                text.append("\nn: back to Setup with these choices   q: quit", "dim")
            elif override is not None:  # its process ended before the run had started
                text = Text(safe_text(shown_path(run_dir) if run_dir else ""), "bold")
                text.append(f"  {override}", STATUS_STYLE.get(override.split()[0], ""))
                text.append(" before its first event: no epoch to show", "dim")
            else:
                text = Text("waiting for the run to start: loading data and building the "
                            "model…")
            text.no_wrap, text.overflow = True, "ellipsis"
            self.show_content(text, fixed_height=True)
            return
        status = state.finished.status if state.finished else (
            override or ("paused" if paused else "training"))
        last = state.last_epoch
        text = Text(no_wrap=True, overflow="ellipsis")  # names from files: plain, safe text
        text.append(safe_text(shown_path(run_dir) if run_dir else started.run_id), "bold")
        text.append(safe_text(f"  {', '.join(started.presets) or _no_presets(started.source)}  "))
        bf16 = started.env.get("precision", "").startswith("bf16")
        device = started.env.get("device") or ""  # an API run may not know it
        text.append(safe_text(f"{device}{' bf16' if bf16 else ''}  ") if device else "", "dim")
        text.append(safe_text(status), STATUS_STYLE.get(status.split()[0], "cyan"))
        eta = None if override else state.eta_seconds()
        params = started.model.get("params")
        text.append(f"\nepoch {last.epoch if last else 0}/{state.planned_epochs or '-'}"
                    + (f"  ETA {duration(eta)}" if not (state.finished or override) else "")
                    + f"  {fmt(last.samples_per_s, 0) if last else '-'} samples/s"
                    + (f"  {params:,} params" if isinstance(params, int) else ""))
        self.show_content(text, fixed_height=True)  # two lines, always (CSS height: 2)


def ranked(alerts: list[Alert]) -> tuple[list[Alert], list[Alert]]:
    """(current, earlier): the latest alert of each kind, most severe first (then newest),
    and the ones they superseded, newest first."""
    latest: dict[str, Alert] = {}
    for alert in alerts:
        latest[alert.kind] = alert
    current = sorted(latest.values(), key=lambda a: (LEVEL_RANK.get(a.level, 0), a.epoch),
                     reverse=True)
    kept = {id(a) for a in current}
    earlier = [a for a in reversed(alerts) if id(a) not in kept]
    return current, earlier


class AlertsPanel(LivePanel):
    """The most severe condition first, so it stays in view however many alerts follow;
    coloured by level, with the suggestion."""

    def show(self, alerts: list[Alert], finished: bool = False) -> None:
        if not alerts:
            self.show_content(Text("no alerts" if finished else "no alerts yet", "dim"))
            return
        current, earlier = ranked(alerts)
        text = Text()
        for alert in current:
            _alert_line(text, alert)
        for alert in earlier:
            _alert_line(text, alert, "dim")
        text.rstrip()
        self.show_content(text)


def _alert_line(text: Text, alert: Alert, style: str = "") -> None:
    head = alert_head(alert.level, alert.kind, alert.message)
    text.append(safe_text(f"e{alert.epoch} {head} "), style or LEVEL_STYLE.get(alert.level, ""))
    text.append(safe_text(alert.message), style)
    if alert.suggest:
        text.append(safe_text(f" → try {', '.join(alert.suggest)}"), style or "bold")
    text.append("\n")


class TrainingPanel(LivePanel):
    """Learning rate, gradient norms and weight statistics of the latest epoch and step."""

    def show(self, state: RunState) -> None:
        last = state.last_epoch
        step = state.last_step
        lines = [f"lr          {step.lr:.2e}" if step else "lr          -",
                 f"step loss   {fmt(step.loss, 4) if step else '-'}",
                 f"grad norm   {fmt(last.grad_norm, 4) if last else '-'}"]
        if last:
            extras = last.extras
            lines.append(f"weight norm {fmt(extras.get('weight_norm'), 2)}")
            lines.append(f"|w|<1e-3    {fmt(extras.get('sparsity'), 3)}")
            if "clipped" in extras:
                lines.append(f"clipped     {fmt(extras['clipped'], 2)}")
            norms = list(extras.get("layer_grad_norms", {}).values())
            if len(norms) >= 2:
                lines.append(f"grad first/last {fmt(norms[0], 3)}/{fmt(norms[-1], 3)}")
        self.show_content("\n".join(lines))


def confusion_table(finished: RunFinished) -> Table:
    """The confusion matrix (rows: true, columns: predicted) that reads without colour:
    zeros are `·`, errors are marked `*`; colour only adds to it."""
    matrix = finished.confusion_matrix or []
    classes = [safe_text(name)[:6] for name in finished.classes] or [str(i) for i in range(len(matrix))]
    table = Table(title="confusion: rows true, cols predicted", title_justify="left",
                  caption="· is 0, *n marks n errors", caption_justify="left",
                  box=None, padding=(0, 1), show_edge=False)
    table.add_column("", style="bold")
    for name in classes:
        table.add_column(Text(name), justify="right")
    for row_index, (name, row) in enumerate(zip(classes, matrix)):
        total = max(sum(row), 1)
        cells = []
        for col, count in enumerate(row):
            if count == 0:
                cells.append(Text("·", "dim"))
            elif col == row_index:
                cells.append(Text(str(count), "bold green"))
            else:
                weight = "bold " if count / total >= 0.1 else ""
                cells.append(Text(f"*{count}", f"{weight}red"))
        table.add_row(Text(name), *cells)
    return table


class SampleGrid:
    """Test images with their labels, laid out for the width they get when drawn; the
    wrong predictions first, in at most SAMPLE_ROWS rows."""

    def __init__(self, finished: RunFinished) -> None:
        samples = finished.samples or {}
        self.shape = samples.get("shape")
        names = finished.classes
        self.items = []
        for pixels, label, prediction in zip(samples.get("pixels", []),
                                             samples.get("labels", []),
                                             samples.get("predictions", [])):
            true_name = safe_text(names[label])[:6] if label < len(names) else str(label)
            said = safe_text(names[prediction])[:6] if prediction < len(names) else str(prediction)
            right = label == prediction
            caption = Text(f"✓ {true_name}", "green") if right else \
                Text(f"✗ {true_name} as {said}", "bold red")
            self.items.append((not right, pixels, caption))
        self.items.sort(key=lambda item: not item[0])  # wrong ones first

    def width(self) -> int:
        return self.shape[2] * image_grid.scale_for(self.shape[1]) + 2 if self.shape else 0

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if not self.shape or not self.items:
            return
        per_row = max(1, options.max_width // self.width())
        shown = self.items[:per_row * SAMPLE_ROWS]
        wrong = sum(item[0] for item in self.items)
        yield Text(f"test samples: {len(self.items) - wrong} right (✓), {wrong} wrong "
                   f"(✗ true as predicted); {len(shown)} shown", "bold")
        scale = image_grid.scale_for(self.shape[1])
        images = [image_grid.render(image_grid.upscale(image_grid.decode(pixels, self.shape),
                                                        scale))
                  for _, pixels, _ in shown]
        yield image_grid.grid(images, [caption for _, _, caption in shown], per_row)


class ResultsPanel(Static):
    """At the end (or when the writer is gone): status, diagnosis, test accuracy, where
    the run is saved, and what to do next."""

    has_content = False

    def show(self, state: RunState, run_dir: Path | None = None,
             override: str | None = None) -> None:
        finished = state.finished
        if finished is None and override is None:
            return
        where = shown_path(run_dir)
        head = Text()
        if finished is not None:
            diagnosis = state.diagnosis() or {}
            head.append(safe_text(finished.status), STATUS_STYLE.get(finished.status, ""))
            if finished.reason and finished.reason != finished.status:
                head.append(safe_text(f" ({finished.reason})"))
            head.append(safe_text(f"   diagnosis: {diagnosis.get('verdict', '-')}"), "bold")
            head.append(f"   test acc {fmt(finished.test_acc)}   best val acc "
                        f"{fmt(finished.best_val_acc)} at epoch {fmt(finished.best_epoch)}")
            if finished.error:
                head.append("\nerror: " + safe_text(finished.error), "red")
            if finished.status == "interrupted":
                head.append(f"\ncontinue it: regtui run --resume {where}", "bold")
        else:
            done = len(state.epochs)
            head.append("interrupted", STATUS_STYLE["interrupted"])
            head.append(f" after {done} of {state.planned_epochs} epochs: its process "
                        "ended without finishing")
            head.append(f"\ncontinue it: regtui run --resume {where}", "bold")
        if run_dir is not None:
            head.append(f"\nsaved in {where}", "dim")
        self.update(head)
        self.has_content = True


class ResultsDetail(Static):
    """The confusion matrix and test samples, side by side when they fit."""

    has_content = False

    def show(self, state: RunState, run_dir: Path | None = None,
             override: str | None = None) -> None:
        finished = state.finished
        if finished is None or not finished.confusion_matrix:
            return
        self.update(_SideBySide(confusion_table(finished), SampleGrid(finished)))
        self.has_content = True


class _SideBySide:
    """Two renderables next to each other when the width allows, else one under the other."""

    def __init__(self, left: Table, right: SampleGrid) -> None:
        self.left, self.right = left, right

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        left_width = console.measure(self.left, options=options).maximum
        if options.max_width - left_width - 3 >= 2 * self.right.width():
            grid = Table.grid(padding=(0, 3))
            grid.add_column(width=left_width)
            grid.add_column()
            grid.add_row(self.left, self.right)
            yield grid
        else:
            yield Group(self.left, Text(""), self.right)


class ErrorPanel(Static):
    def show(self, message: str, started: bool = False) -> None:
        text = Text(f"{'error' if started else 'could not start'}: {safe_text(message)}",
                    "bold red")
        if not started:
            text.append("\n\nn opens Setup with the same choices to fix them (a dataset "
                        "that is not on disk needs a data dir or download); q quits.", "")
        self.update(text)
