"""Text panels of the monitor: status line, alerts, training signals, results, errors."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from regtui.views.format import LEVEL_STYLE, STATUS_STYLE, alert_head, fmt, safe_text
from regtui.events import Alert, RunFinished
from regtui.tui.state import RunState
from regtui.tui.widgets import image_grid


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


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
    """Run id, presets, device, status, epoch i/N, ETA, samples/s."""

    def show(self, state: RunState, paused: bool, override: str | None = None) -> None:
        started = state.started
        if started is None:
            self.show_content("waiting for the run to start: loading data and building the model…",
                              fixed_height=True)
            return
        status = state.finished.status if state.finished else (
            override or ("paused" if paused else "training"))
        last = state.last_epoch
        text = Text()  # names from the run's files: plain text without control characters
        text.append(safe_text(started.run_id), "bold")
        text.append(safe_text(f"  {', '.join(started.presets) or _no_presets(started.source)}  "))
        bf16 = started.env.get("precision", "").startswith("bf16")
        device = started.env.get("device") or ""  # an API run may not know it
        text.append(safe_text(f"{device}{' bf16' if bf16 else ''}  ") if device else "", "dim")
        text.append(safe_text(status), STATUS_STYLE.get(status, "cyan"))
        params = started.model.get("params")
        text.append(f"\nepoch {last.epoch if last else 0}/{state.planned_epochs or '-'}"
                    f"  ETA {_duration(state.eta_seconds())}"
                    f"  {fmt(last.samples_per_s, 0) if last else '-'} samples/s"
                    + (f"  {params:,} params" if isinstance(params, int) else ""))
        self.show_content(text, fixed_height=True)  # two lines, always (CSS height: 2)


class AlertsPanel(LivePanel):
    """Newest first, coloured by level, with the suggestion."""

    def show(self, alerts: list[Alert]) -> None:
        if not alerts:
            self.show_content(Text("no alerts yet", "dim"))
            return
        text = Text()
        for alert in reversed(alerts):
            head = alert_head(alert.level, alert.kind, alert.message)
            text.append(safe_text(f"e{alert.epoch} {head} "), LEVEL_STYLE.get(alert.level, ""))
            text.append(safe_text(alert.message))
            if alert.suggest:
                text.append(safe_text(f" → try {', '.join(alert.suggest)}"), "bold")
            text.append("\n")
        self.show_content(text)


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
    """The confusion matrix as a heat-coloured table (rows: true, columns: predicted)."""
    matrix = finished.confusion_matrix or []
    # Class names are folder names: plain text (a Text header is never read as markup).
    classes = [safe_text(name)[:6] for name in finished.classes] or \
        [str(i) for i in range(len(matrix))]
    table = Table(title="confusion (rows true)", box=None, padding=(0, 1), show_edge=False)
    table.add_column("", style="bold")
    for name in classes:
        table.add_column(Text(name), justify="right")
    for name, row in zip(classes, matrix):
        total = max(sum(row), 1)
        cells = []
        for col, count in enumerate(row):
            share = count / total
            on_diagonal = col == classes.index(name)
            colour = ("green" if on_diagonal else "red") if share >= 0.05 else "dim"
            weight = "bold " if share >= 0.3 else ""
            cells.append(Text(str(count), f"{weight}{colour}"))
        table.add_row(Text(name), *cells)
    return table


def sample_grid(finished: RunFinished, width: int) -> Text:
    samples = finished.samples or {}
    shape = samples.get("shape")
    if not shape:
        return Text("")
    scale = image_grid.scale_for(shape[1])
    images, captions = [], []
    for pixels, label, prediction in zip(samples["pixels"], samples["labels"],
                                         samples["predictions"]):
        rows = image_grid.upscale(image_grid.decode(pixels, shape), scale)
        images.append(image_grid.render(rows))
        names = finished.classes
        right = label == prediction
        captions.append(Text(f"{'✓' if right else '✗'}{safe_text(names[prediction])[:5]}",
                             "green" if right else "bold red"))
    per_row = max(1, width // (shape[2] * scale + 2))
    return image_grid.grid(images, captions, per_row)


class ResultsPanel(Static):
    """Diagnosis, test accuracy, confusion matrix and sample predictions at the end."""

    def show(self, state: RunState) -> None:
        finished = state.finished
        if finished is None:
            return
        diagnosis = state.summary.to_dict()["diagnosis"] or {}
        head = Text()
        head.append(safe_text(finished.status), STATUS_STYLE.get(finished.status, ""))
        if finished.reason:
            head.append(safe_text(f" ({finished.reason})"))
        head.append(safe_text(f"   diagnosis: {diagnosis.get('verdict', '-')}"), "bold")
        head.append(f"   test acc {fmt(finished.test_acc)}   best val acc "
                    f"{fmt(finished.best_val_acc)} at epoch {fmt(finished.best_epoch)}")
        if finished.error:
            head.append("\nerror: " + safe_text(finished.error), "red")
        parts = [head]
        if finished.confusion_matrix:
            parts += [confusion_table(finished), Text("test samples (✗ = wrong)", "bold"),
                      sample_grid(finished, max(self.content_size.width, 40))]
        self.update(Group(*parts))


class ErrorPanel(Static):
    def show(self, message: str) -> None:
        self.update(Text("error: " + safe_text(message), "bold red"))

