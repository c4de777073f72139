"""Where notifications go: webhooks (a JSON POST) and local commands (message on stdin).

A target is named in events and on the console by a redacted label only (a webhook URL's
path and query hold its token: `https://hooks.slack.com/…`; a command by its program).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Mapping, Protocol
from urllib.parse import urlsplit

from regtui.config import ConfigError, NotifyConfig, check_webhook_urls
from regtui.notify.message import Message

ENV_URLS = "REGTUI_NOTIFY"  # webhook URLs, separated by spaces or commas
ENV_MODE = "REGTUI_MODE"  # "disabled": nothing is sent (tests, dry runs)


class SendError(Exception):
    """One attempt failed; `retry` says whether another attempt may succeed."""

    def __init__(self, message: str, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


class Target(Protocol):
    label: str  # redacted: safe to record and print

    def send(self, message: Message, timeout: float) -> None:
        """Deliver once within `timeout` seconds; raise SendError otherwise."""


def redact_url(url: str) -> str:
    """scheme://host[:port], then "/…" when the URL had a path or query (its token)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    rest = "/…" if parts.path.strip("/") or parts.query or parts.fragment else ""
    return f"{parts.scheme}://{host}{port}{rest}"


@dataclass(frozen=True)
class Webhook:
    """POST the message as JSON; 2xx is success; 5xx, 429 and no answer are retried."""
    url: str = field(repr=False)  # the token must not reach a log through repr()

    @property
    def label(self) -> str:
        return redact_url(self.url)

    def send(self, message: Message, timeout: float) -> None:
        request = urllib.request.Request(
            self.url, data=message.body(), method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "regtui"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                response.read(4096)
        except urllib.error.HTTPError as error:
            raise SendError(f"HTTP {error.code} {error.reason}",
                            retry=error.code >= 500 or error.code == 429) from None
        except urllib.error.URLError as error:
            raise SendError(_reason(error.reason), retry=True) from None
        except (TimeoutError, OSError) as error:
            raise SendError(_reason(error), retry=True) from None


@dataclass(frozen=True)
class Command:
    """Run `sh -c command` with the message on stdin and its fields as REGTUI_* variables;
    exit status 0 is success. Never retried: a command that failed may have sent already."""
    command: str = field(repr=False)

    @property
    def label(self) -> str:
        try:
            words = shlex.split(self.command)
        except ValueError:
            words = self.command.split()
        program = os.path.basename(words[0]) if words else "?"
        return f"command:{program}"

    def send(self, message: Message, timeout: float) -> None:
        try:
            # Its own process group: a timeout ends the command and whatever it started.
            process = subprocess.Popen(["sh", "-c", self.command], stdin=subprocess.PIPE,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                       env={**os.environ, **message.environment()},
                                       start_new_session=True)
        except OSError as error:
            raise SendError(_reason(error), retry=False) from None
        try:
            _, stderr = process.communicate(message.text.encode(), timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise SendError(f"timed out after {timeout:g} s", retry=False) from None
        if process.returncode != 0:
            said = stderr.decode(errors="replace").strip().splitlines()
            raise SendError(f"exit status {process.returncode}"
                            + (f": {said[-1][:200]}" if said else ""), retry=False)


def _reason(reason: object) -> str:
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason) or type(reason).__name__


def targets_for(notify: NotifyConfig, environ: Mapping[str, str] | None = None
                ) -> list[Target]:
    """The run's targets: notify.urls, the URLs in $REGTUI_NOTIFY (each once), then
    notify.command. None at all with REGTUI_MODE=disabled.

    Raises ConfigError naming REGTUI_NOTIFY when it holds something that is not a URL."""
    environ = os.environ if environ is None else environ
    if environ.get(ENV_MODE, "").strip().lower() == "disabled":
        return []
    from_env = tuple(word for word in environ.get(ENV_URLS, "").replace(",", " ").split())
    problem = check_webhook_urls(from_env)
    if problem:
        raise ConfigError(f"{ENV_URLS}: {problem}; accepted: webhook URLs separated by "
                          "spaces or commas")
    urls = list(dict.fromkeys((*notify.urls, *from_env)))
    targets: list[Target] = [Webhook(url) for url in urls]
    if notify.command.strip():
        targets.append(Command(notify.command))
    return targets
