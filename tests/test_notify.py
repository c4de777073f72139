"""Notifications: a real HTTP server on the loopback address and a real command receive
them from a real run; failing webhooks are retried boundedly and reported once; tokens
never reach the run directory; REGTUI_MODE=disabled sends nothing."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest
from typer.testing import CliRunner

from helpers import tiny
from regtui import config as config_module
from regtui import presets, train
from regtui.background import RunBackground
from regtui.cli import app
from regtui.config import ConfigError
from regtui.control import Control
from regtui.events import Alert, Event, Notification, RunFinished, RunStarted, read_events
from regtui.notify import Command, Notifier, Webhook, redact_url, targets_for
from regtui.notify import sender as sender_module

TOKEN = "T000/B000/XXXXsecret"


class Webhooks:
    """A real HTTP server on 127.0.0.1: /ok/... answers 200, /fail/... 500, /gone/... 404,
    /slow/... after `slow_seconds`; every request's path and JSON body are kept."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.slow_seconds = 0.0
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hooks.requests.append((self.path, json.loads(body)))
                if self.path.startswith("/slow/"):
                    time.sleep(hooks.slow_seconds)
                code = {"/ok/": 200, "/fail": 500, "/gone": 404}.get(self.path[:5], 200)
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, kind: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/{kind}/{TOKEN}?key=k"

    def bodies(self, kind: str) -> list[dict[str, Any]]:
        return [body for path, body in self.requests if path.startswith(f"/{kind}/")]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _refused_url() -> str:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook/{TOKEN}"


@pytest.fixture(scope="module")
def hooks() -> Iterator[Webhooks]:
    server = Webhooks()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def no_proxy_no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback requests go straight to the server; the user's own settings stay out."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "REGTUI_NOTIFY",
                 "REGTUI_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sender_module, "BACKOFF_SECONDS", 0.01)


@pytest.fixture(scope="module")
def notified_run(hooks: Webhooks, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One real run that overfits (stopped at its first overfitting alert), told to a
    working webhook, a command, a webhook answering 500 and one that refuses connections."""
    folder = tmp_path_factory.mktemp("notified")
    stdin_file, status_file = folder / "message.txt", folder / "status.txt"
    command = f"cat > '{stdin_file}'; printf %s \"$REGTUI_STATUS\" > '{status_file}'"
    urls = [hooks.url("ok"), hooks.url("fail"), _refused_url()]
    resolved = tiny("data.train_subset=100", "model.hidden=[256]", "train.lr=0.01",
                    "alerts.overfit_patience=1", f"notify.urls={json.dumps(urls)}",
                    f"notify.command={json.dumps(command)}", preset_names=["baseline"],
                    epochs=30)
    control = Control()

    def stop_when_overfitting(event: Event) -> None:
        if isinstance(event, Alert) and event.kind == "overfitting":
            control.stop("stopped")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sender_module, "BACKOFF_SECONDS", 0.01)
        run_dir, finished = train.start(resolved, folder / "runs", control=control,
                                        listeners=[stop_when_overfitting])
    return {"run_dir": run_dir, "finished": finished, "stdin": stdin_file,
            "status": status_file, "events": read_events(run_dir / "events.jsonl")}


# ---------------------------------------------------------------- a real run

def test_an_overfitting_alert_and_the_end_of_a_run_reach_a_loopback_webhook(
        hooks: Webhooks, notified_run: dict[str, Any]) -> None:
    bodies = hooks.bodies("ok")
    assert [body["regtui"]["event"] for body in bodies] == ["alert", "run_finished"]
    alert, end = bodies
    run_id = notified_run["run_dir"].name
    assert alert["regtui"]["kind"] == "overfitting" and alert["regtui"]["run_id"] == run_id
    assert alert["text"] == alert["content"] and "overfitting since epoch" in alert["text"]
    assert "→ try" in alert["text"]
    fields = end["regtui"]
    assert fields["status"] == "stopped" and fields["run_id"] == run_id
    assert fields["host"] == socket.gethostname() and fields["diagnosis"]
    assert fields["test_acc"] == pytest.approx(notified_run["finished"].test_acc)
    assert f"test acc {fields['test_acc']:.3f}" in end["text"]
    assert f"diagnosis: {fields['diagnosis']}" in end["text"]


def test_the_command_gets_the_message_on_stdin_and_the_fields_in_its_environment(
        notified_run: dict[str, Any]) -> None:
    message = notified_run["stdin"].read_text()
    assert message.startswith("regtui · ") and "stopped" in message
    assert notified_run["status"].read_text() == "stopped"  # the last message: the end


def test_failing_webhooks_are_retried_boundedly_reported_once_and_never_break_the_run(
        hooks: Webhooks, notified_run: dict[str, Any]) -> None:
    assert notified_run["finished"].status == "stopped"  # as asked: nothing broke the run
    assert len(hooks.bodies("fail")) == 2 * 3  # two messages, 1 + retries=2 attempts each
    outcomes = [e for e in notified_run["events"] if isinstance(e, Notification)]
    assert len(outcomes) == 2 * 4  # each message's outcome, once per target
    succeeded = [o for o in outcomes if o.ok]
    assert len(succeeded) == 4 and all(o.attempts == 1 for o in succeeded)
    failed = [o for o in outcomes if not o.ok]
    assert len(failed) == 4 and all(o.attempts == 3 for o in failed)
    assert [o.error for o in failed].count("HTTP 500 Internal Server Error") == 2
    assert sum("refused" in o.error.lower() for o in failed) == 2
    assert [o.event for o in outcomes] == ["alert"] * 4 + ["run_finished"] * 4


def test_webhook_tokens_never_reach_the_run_directory(notified_run: dict[str, Any]) -> None:
    run_dir = notified_run["run_dir"]
    for name in ("events.jsonl", "summary.json", "config.toml"):
        text = (run_dir / name).read_text()
        assert TOKEN not in text and "REGTUI_STATUS" not in text, name
    assert "# not recorded: command, urls" in (run_dir / "config.toml").read_text()
    targets = {e.target for e in notified_run["events"] if isinstance(e, Notification)}
    assert "command:cat" in targets


# ---------------------------------------------------------------- the sender alone

def _started() -> RunStarted:
    return RunStarted(run_id="20260101-120000-x-beef")


def _run_end(notifier: Notifier, *events: Event) -> list[Event]:
    seen: list[Event] = []
    notifier.start(seen.append)
    for event in (_started(), *events, RunFinished(status="completed")):
        notifier(event)
    assert notifier.close()
    return seen


def test_alerts_below_min_level_are_not_sent_and_a_404_is_not_retried(
        hooks: Webhooks) -> None:
    before = len(hooks.bodies("gone"))
    notifier = Notifier([Webhook(hooks.url("gone"))], min_level="critical", host="box")
    seen = _run_end(notifier, Alert(kind="overfitting", level="warning", message="m"),
                    Alert(kind="divergence", level="critical", message="loss exploded"))
    bodies = hooks.bodies("gone")[before:]
    assert [body["regtui"]["event"] for body in bodies] == ["alert", "run_finished"]
    assert bodies[0]["regtui"]["kind"] == "divergence"
    assert [(e.ok, e.attempts, e.error) for e in seen] == [
        (False, 1, "HTTP 404 Not Found")] * 2  # a wrong URL: retrying cannot help


def test_a_slow_webhook_never_blocks_the_caller_and_times_out(hooks: Webhooks) -> None:
    hooks.slow_seconds = 0.3
    notifier = Notifier([Webhook(hooks.url("slow"))], timeout=0.05, retries=0, host="box")
    seen: list[Event] = []
    notifier.start(seen.append)
    started = time.perf_counter()
    for _ in range(3):
        notifier(RunFinished(status="completed"))
    assert time.perf_counter() - started < 0.05  # the listener only queues
    assert notifier.close(wait=10)
    assert len(seen) == 3 and all(not e.ok and "timed out" in e.error for e in seen)


def test_a_command_that_fails_or_hangs_is_reported_and_its_children_are_ended(
        tmp_path: Path) -> None:
    notifier = Notifier([Command("echo 'no route to the mail host' >&2; exit 3"),
                         Command(f"sleep 30 & echo $! > '{tmp_path / 'child'}'; wait")],
                        timeout=0.3, host="box")
    started = time.perf_counter()
    seen = _run_end(notifier)
    assert time.perf_counter() - started < 5  # not the 30 s the command asked for
    assert [(e.target, e.ok, e.attempts) for e in seen] == [
        ("command:echo", False, 1), ("command:sleep", False, 1)]  # commands: no retry
    assert seen[0].error == "exit status 3: no route to the mail host"
    assert seen[1].error == "timed out after 0.3 s"
    child = int((tmp_path / "child").read_text())
    deadline = time.monotonic() + 5
    while _running(child):
        assert time.monotonic() < deadline, "the command's child outlived its timeout"
        time.sleep(0.02)


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie may wait for a reaper)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def test_regtui_mode_disabled_sends_nothing(hooks: Webhooks) -> None:
    before = len(hooks.requests)
    config = config_module.build({"notify": {"urls": (hooks.url("ok"),)}})
    background = RunBackground(config, environ={"REGTUI_MODE": "disabled",
                                                "REGTUI_NOTIFY": hooks.url("ok")})
    assert background.notifier is None
    seen: list[Event] = []
    emit = background.wrap(seen.append)
    for event in (_started(), Alert(kind="divergence", level="critical"),
                  RunFinished(status="completed")):
        emit(event)
    background.close()
    assert len(hooks.requests) == before
    assert not any(isinstance(e, Notification) for e in seen)


# ---------------------------------------------------------------- settings

def test_targets_come_from_the_config_and_the_environment_each_once(hooks: Webhooks) -> None:
    config = config_module.build({"notify": {"urls": (hooks.url("ok"),),
                                             "command": "notify-send regtui"}})
    environ = {"REGTUI_NOTIFY": f"{hooks.url('ok')}, https://hooks.slack.com/services/{TOKEN}"}
    targets = targets_for(config.notify, environ)
    assert [t.label for t in targets] == [f"http://127.0.0.1:{hooks.server.server_port}/…",
                                          "https://hooks.slack.com/…", "command:notify-send"]
    assert isinstance(targets[-1], Command) and TOKEN not in repr(targets)
    with pytest.raises(ConfigError, match="REGTUI_NOTIFY: \"slack\" is not an http"):
        targets_for(config.notify, {"REGTUI_NOTIFY": "slack"})


@pytest.mark.parametrize("url, label", [
    ("https://hooks.slack.com/services/T0/B0/XYZ", "https://hooks.slack.com/…"),
    ("https://discord.com/api/webhooks/1/abc?wait=true", "https://discord.com/…"),
    ("http://user:pw@127.0.0.1:8080/hook", "http://127.0.0.1:8080/…"),
    ("https://ntfy.sh", "https://ntfy.sh"),
])
def test_urls_are_redacted_to_scheme_and_host(url: str, label: str) -> None:
    assert redact_url(url) == label


def test_a_preset_can_set_notify_and_the_recorded_config_leaves_the_urls_out(
        tmp_path: Path) -> None:
    preset = tmp_path / "team.toml"
    preset.write_text('[preset]\ndescription = "tell the team"\n\n[notify]\n'
                      f'urls = ["https://hooks.slack.com/services/{TOKEN}"]\n'
                      'min_level = "critical"\n')
    config = presets.resolve([str(preset)]).config
    assert config.notify.urls == (f"https://hooks.slack.com/services/{TOKEN}",)
    assert "urls" not in config_module.to_dict(config)["notify"]
    assert TOKEN not in config_module.to_toml(config)
    assert 'min_level = "critical"' in config_module.to_toml(config)
    with pytest.raises(ConfigError, match=r"--set notify.urls=\[\"ftp://x\"\]: notify.urls"):
        presets.resolve([], ['notify.urls=["ftp://x"]'])


def test_the_cli_rejects_a_bad_notify_url_in_one_line_and_creates_nothing(
        runs_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["run", "--headless", "--notify", "hooks.slack.com/x"])
    assert result.exit_code == 2
    assert "--notify hooks.slack.com/x: notify.urls: \"hooks.slack.com/x\" is not an http" \
        in result.output
    assert len(result.output.strip().splitlines()) == 1
    monkeypatch.setenv("REGTUI_NOTIFY", "not-a-url")
    result = runner.invoke(app, ["run", "--headless"])
    assert result.exit_code == 2 and "REGTUI_NOTIFY" in result.output
    assert not runs_dir.exists()
