"""The headless view of a run: a Rich progress bar over epochs and one line per event."""

from __future__ import annotations

from typing import Iterable

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.text import Text

from regtui.events import Alert, Epoch, Event, Notification, RunFinished, RunStarted
from regtui.rundir.summary import SummaryBuilder
from regtui.views.format import LEVEL_STYLE, STATUS_STYLE, alert_head, fmt, safe_text
from regtui.views.system import notification_text


def epoch_line(event: Epoch, total: int | None) -> str:
    """One epoch in under 80 columns (up to epoch 999/999): train, then val."""
    of = f"/{total}" if total else ""
    return (f"epoch {event.epoch:>3}{of}  loss {fmt(event.train_loss, 4)} "
            f"val {fmt(event.val_loss, 4)}  acc {fmt(event.train_acc)} "
            f"val {fmt(event.val_acc)}  lr {event.lr:.1e}  {event.seconds:.2f}s")


class ConsoleView:
    """An event listener that prints the run; call close() when the run is over.

    Everything a file supplied (preset and class names, paths, messages) is printed as
    plain text without control characters, never as rich markup."""

    def __init__(self, console: Console | None = None, earlier: Iterable[Event] = (),
                 errors: Console | None = None) -> None:
        """`earlier`: the events the run had before this process took it over (a resume),
        folded but not printed, so that the diagnosis at the end judges the whole run.
        `errors`: where a failed run's error line goes (default: `console`)."""
        self.console = console or Console(highlight=False)
        self.errors = errors or self.console
        self.total: int | None = None
        self.progress: Progress | None = None
        self.task = None
        self.summary = SummaryBuilder()  # for the diagnosis printed at the end
        for event in earlier:
            self.summary.add(event)
        self.failed_targets: set[str] = set()  # a target's failures are printed once

    def _print(self, *parts: str | tuple[str, str]) -> None:
        """One line from plain parts and (text, style) pairs; text is never markup."""
        self.console.print(Text.assemble(*[safe_text(p) if isinstance(p, str) else
                                           (safe_text(p[0]), p[1]) for p in parts]),
                           soft_wrap=True)

    def __call__(self, event: Event) -> None:
        self.summary.add(event)
        if isinstance(event, RunStarted):
            self._started(event)
        elif isinstance(event, Epoch):
            self._print(epoch_line(event, self.total))
            if self.progress is not None:
                self.progress.update(self.task, completed=event.epoch)
        elif isinstance(event, Alert):
            self._alert(event)
        elif isinstance(event, RunFinished):
            self.close()
            self._finished(event)
        elif isinstance(event, Notification):
            self._notification(event)

    def _started(self, event: RunStarted) -> None:
        config = self.summary.config
        self.total = config.train.epochs
        data, model, env = event.data, event.model, event.env
        verb = f"resuming after epoch {event.resumed_from}" if event.resumed_from else "run"
        self._print((f"{verb} {event.run_id}", "bold"),
                    f"  presets: {', '.join(event.presets) or '(none)'}")
        self._print(
            f"  {data.get('name')} {'x'.join(map(str, data.get('shape', [])))}: "
            f"{data.get('train')} train / {data.get('val')} val / {data.get('test')} test  │ "
            f"{config.model.name} {model.get('params', 0):,} params  │ "
            f"{env.get('device')} ({env.get('device_name')}), torch {env.get('torch')}"
            + (f", {env['precision']}" if env.get("precision") else ""))
        if data.get("source"):
            self.console.print(f"  data: {data['source']}", markup=False)
        for warning in data.get("warnings", []):
            self._print("  ", ("warning:", "yellow"), f" {warning}")
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
        self._print((alert_head(event.level, event.kind, event.message), style),
                    f" {event.message}{suggest}")

    def _finished(self, event: RunFinished) -> None:
        style = STATUS_STYLE.get(event.status, "")
        reason = f" ({event.reason})" if event.reason and event.reason != event.status else ""
        outcome = "no valid epoch to test" if event.best_epoch is None else (
            f"best val acc {fmt(event.best_val_acc)} at epoch {event.best_epoch}  │ "
            f"test acc {fmt(event.test_acc)}")
        self._print((event.status, style), f"{reason}  {outcome}")
        diagnosis = self.summary.to_dict()["diagnosis"]  # the whole run, resumes included
        if diagnosis:
            colour = "green" if diagnosis["kind"] == "good_fit" else "yellow"
            self._print("diagnosis: ", (diagnosis["verdict"], colour),
                        f"  (final train acc {fmt(diagnosis['final_train_acc'])}, val acc "
                        f"{fmt(diagnosis['final_val_acc'])}, gap {fmt(diagnosis['final_gap'])})")
        if event.error:
            self.errors.print(Text.assemble(("regtui:", "bold red"), " run failed: ",
                                            safe_text(event.error)), soft_wrap=True)

    def _notification(self, event: Notification) -> None:
        """Called on the notifier's thread (Rich's console takes its own lock)."""
        if event.ok:
            self.console.print(notification_text(event), style="dim", markup=False)
        elif event.target not in self.failed_targets:
            self.failed_targets.add(event.target)
            self.console.print(notification_text(event) + " (further failures of this "
                               "target are recorded in events.jsonl only)",
                               style="yellow", markup=False)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
