"""The headless view of a run: a Rich progress bar over epochs and one line per event."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from regtui.events import Alert, Epoch, Event, RunFinished, RunStarted
from regtui.rundir.summary import SummaryBuilder
from regtui.views.format import LEVEL_STYLE, STATUS_STYLE, alert_head, fmt


def epoch_line(event: Epoch, total: int | None) -> str:
    """One epoch in under 80 columns (up to epoch 999/999): train, then val."""
    of = f"/{total}" if total else ""
    return (f"epoch {event.epoch:>3}{of}  loss {fmt(event.train_loss, 4)} "
            f"val {fmt(event.val_loss, 4)}  acc {fmt(event.train_acc)} "
            f"val {fmt(event.val_acc)}  lr {event.lr:.1e}  {event.seconds:.2f}s")


class ConsoleView:
    """An event listener that prints the run; call close() when the run is over."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(highlight=False)
        self.total: int | None = None
        self.progress: Progress | None = None
        self.task = None
        self.summary = SummaryBuilder()  # for the diagnosis printed at the end

    def __call__(self, event: Event) -> None:
        self.summary.add(event)
        if isinstance(event, RunStarted):
            self._started(event)
        elif isinstance(event, Epoch):
            self.console.print(epoch_line(event, self.total))
            if self.progress is not None:
                self.progress.update(self.task, completed=event.epoch)
        elif isinstance(event, Alert):
            self._alert(event)
        elif isinstance(event, RunFinished):
            self.close()
            self._finished(event)

    def _started(self, event: RunStarted) -> None:
        config = self.summary.config
        self.total = config.train.epochs
        data, model, env = event.data, event.model, event.env
        verb = f"resuming after epoch {event.resumed_from}" if event.resumed_from else "run"
        self.console.print(f"[bold]{verb} {event.run_id}[/]  presets: "
                           f"{', '.join(event.presets) or '(none)'}")
        self.console.print(
            f"  {data.get('name')} {'x'.join(map(str, data.get('shape', [])))}: "
            f"{data.get('train')} train / {data.get('val')} val / {data.get('test')} test  │ "
            f"{config.model.name} {model.get('params', 0):,} params  │ "
            f"{env.get('device')} ({env.get('device_name')}), torch {env.get('torch')}"
            + (f", {env['precision']}" if env.get("precision") else ""))
        for warning in data.get("warnings", []):
            self.console.print(f"  [yellow]warning:[/] {warning}")
        if self.console.is_terminal and self.total:
            self.progress = Progress(TextColumn("[progress.description]{task.description}"),
                                     BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                                     console=self.console, transient=True)
            self.task = self.progress.add_task("epochs", total=self.total,
                                               completed=event.resumed_from)
            self.progress.start()

    def _alert(self, event: Alert) -> None:
        style = LEVEL_STYLE.get(event.level, "")
        suggest = f"  → try {', '.join(event.suggest)}" if event.suggest else ""
        self.console.print(f"[{style}]{alert_head(event.level, event.kind, event.message)}[/] {event.message}{suggest}")

    def _finished(self, event: RunFinished) -> None:
        style = STATUS_STYLE.get(event.status, "")
        reason = f" ({event.reason})" if event.reason and event.reason != event.status else ""
        outcome = "no valid epoch to test" if event.best_epoch is None else (
            f"best val acc {fmt(event.best_val_acc)} at epoch {event.best_epoch}  │ "
            f"test acc {fmt(event.test_acc)}")
        self.console.print(f"[{style}]{event.status}[/]{reason}  {outcome}")
        diagnosis = self.summary.to_dict()["diagnosis"]
        if diagnosis:
            colour = "green" if diagnosis["kind"] == "good_fit" else "yellow"
            self.console.print(f"diagnosis: [{colour}]{diagnosis['verdict']}[/]  (final train "
                               f"acc {fmt(diagnosis['final_train_acc'])}, val acc "
                               f"{fmt(diagnosis['final_val_acc'])}, gap "
                               f"{fmt(diagnosis['final_gap'])})")
        if event.error:
            self.console.print(f"[red]error:[/] {event.error}")

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
