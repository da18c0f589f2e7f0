"""Alert senders: announce one hit by signed webhook or by email.

Senders are registered by kind (:data:`SENDER_KINDS`, in the manner of urlwatch's reporters);
:func:`build_senders` makes the configured ones. Every sender has ``kind`` and
``async send(alert)``, which returns when the alert was accepted and otherwise raises
:class:`~monitor._errors.DeliveryError` (``retryable`` says whether to try again) or its
subclass :class:`~monitor._errors.EndpointGoneError` (stop sending to that endpoint).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import httpx

from monitor._config import EmailConfig, WebhookConfig
from monitor._models import Alert

from ._email import EmailSender
from ._render import email_message, sign, webhook_headers, webhook_payload
from ._webhook import WebhookSender

__all__ = [
    "SENDER_KINDS",
    "EmailSender",
    "Sender",
    "WebhookSender",
    "build_senders",
    "email_message",
    "sign",
    "webhook_headers",
    "webhook_payload",
]


class Sender(Protocol):
    """What the alert stage needs from a sender."""

    @property
    def kind(self) -> str:
        """The registry key, e.g. ``"webhook"`` or ``"email"`` (also used in logs and the DB)."""
        ...

    @property
    def concurrency(self) -> int:
        """How many sends of this channel may run at once (each channel has its own bound)."""
        ...

    async def send(self, alert: Alert, *, recipients: Sequence[str] | None = None) -> None:
        """Deliver once (``recipients``: only those still owed it, for channels that have
        recipients); raise ``DeliveryError`` / ``EndpointGoneError`` when not accepted."""
        ...


SENDER_KINDS: dict[str, type[WebhookSender] | type[EmailSender]] = {
    cls.kind: cls for cls in (WebhookSender, EmailSender)
}


def build_senders(
    webhook: WebhookConfig | None, email: EmailConfig | None, client: httpx.AsyncClient
) -> list[Sender]:
    """The senders for the configured channels, webhook first; ``[]`` when none is set.

    ``client`` is shared and owned by the caller (it closes it). Raises ``ConfigError`` for a
    malformed webhook secret or an unknown email ``tls`` mode.
    """
    senders: list[Sender] = []
    if webhook is not None:
        senders.append(WebhookSender(webhook, client))
    if email is not None:
        senders.append(EmailSender(email))
    return senders
