"""What a notification says: one short text for people, and the same as fields for programs.

The webhook body, `{"text": ..., "content": ..., "regtui": {fields}}`, fits a Slack
incoming webhook (it reads `text`), a Discord one (`content`, at most 2,000 characters)
and any JSON consumer (`regtui`). A command gets the text on stdin and each field as an
environment variable REGTUI_<FIELD> (upper case), plus REGTUI_TITLE, a one-line title.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from regtui.events import Alert, RunFinished
from regtui.views.format import alert_head, fmt

DISCORD_LIMIT = 2000  # characters of a Discord message's content


@dataclass(frozen=True)
class Message:
    event: str  # what happened: "alert" or "run_finished"
    title: str  # one line: "regtui: <run id> completed"
    text: str  # the title and a line or two more
    fields: dict[str, Any]  # run_id, host, run_dir, and the event's own (see for_alert, ...)

    def body(self) -> bytes:
        """The webhook's JSON body (UTF-8)."""
        content = self.text if len(self.text) <= DISCORD_LIMIT \
            else self.text[:DISCORD_LIMIT - 1] + "…"
        return json.dumps({"text": self.text, "content": content, "regtui": self.fields},
                          default=str).encode()

    def environment(self) -> dict[str, str]:
        """REGTUI_<FIELD> for every field (lists joined by commas, None as ""), REGTUI_TITLE."""
        variables = {"REGTUI_TITLE": self.title}
        for key, value in self.fields.items():
            if isinstance(value, (list, tuple)):
                value = ",".join(str(item) for item in value)
            variables[f"REGTUI_{key.upper()}"] = "" if value is None else str(value)
        return variables


def _place(run_id: str, host: str) -> str:
    return f"{run_id or 'a run'} on {host}" if host else (run_id or "a run")


def for_alert(alert: Alert, run_id: str, host: str, run_dir: str = "") -> Message:
    """An alert: its level, kind, epoch, message and suggestions."""
    head = alert_head(alert.level, alert.kind, alert.message)
    title = f"regtui: {alert.level} · {alert.kind.replace('_', ' ')} in {run_id or 'a run'}"
    text = f"regtui · {_place(run_id, host)}, epoch {alert.epoch}\n{head} {alert.message}"
    if alert.suggest:
        text += f"\n→ try {', '.join(alert.suggest)}"
    fields = {"event": "alert", "run_id": run_id, "host": host, "run_dir": run_dir,
              "epoch": alert.epoch, "level": alert.level, "kind": alert.kind,
              "message": alert.message, "suggest": list(alert.suggest)}
    return Message("alert", title, text, fields)


def for_finish(finished: RunFinished, summary: dict[str, Any], run_id: str, host: str,
               run_dir: str = "") -> Message:
    """The end of a run: status (and why), best and test accuracy, the diagnosis, epochs.
    `summary` is the run's summary (SummaryBuilder.to_dict()) at its end."""
    diagnosis = (summary.get("diagnosis") or {}).get("verdict")
    epochs = f"{summary.get('epochs_completed', 0)}/{summary.get('epochs_planned') or '-'}"
    status = finished.status
    if finished.reason and finished.reason != status:
        status += f" ({finished.reason})"
    title = f"regtui: {run_id or 'a run'} {finished.status}"
    lines = [f"regtui · {_place(run_id, host)}: {status} after {epochs} epochs"]
    if finished.best_epoch is not None:
        lines.append(f"best val acc {fmt(finished.best_val_acc)} at epoch "
                     f"{finished.best_epoch}, test acc {fmt(finished.test_acc)}")
    if diagnosis:
        lines.append(f"diagnosis: {diagnosis}")
    if finished.error:
        lines.append(f"error: {finished.error}")
    fields = {"event": "run_finished", "run_id": run_id, "host": host, "run_dir": run_dir,
              "status": finished.status, "reason": finished.reason,
              "epochs_completed": summary.get("epochs_completed"),
              "epochs_planned": summary.get("epochs_planned"),
              "best_epoch": finished.best_epoch, "best_val_acc": finished.best_val_acc,
              "test_acc": finished.test_acc, "diagnosis": diagnosis, "error": finished.error,
              "peak_gpu_mem": summary.get("peak_gpu_mem")}
    return Message("run_finished", title, "\n".join(lines), fields)
