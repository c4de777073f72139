"""Notifications: tell a webhook (Slack, Discord, any JSON consumer) or a local command
when an alert fires or a run ends, from a background sender that never blocks training.

Torch- and textual-free, for the trainer and for runs written through the API: a
`Notifier` is a listener of the run's events; start(emit) lets it report each outcome as
a `notification` event; close() waits, within a bound, for the last message.
docs/notifications.md is the user's page."""

from __future__ import annotations

from regtui.notify.message import Message, for_alert, for_finish
from regtui.notify.sender import Notifier
from regtui.notify.targets import (ENV_MODE, ENV_URLS, Command, SendError, Webhook,
                                   redact_url, targets_for)

__all__ = ["Command", "ENV_MODE", "ENV_URLS", "Message", "Notifier", "SendError", "Webhook",
           "for_alert", "for_finish", "redact_url", "targets_for"]
