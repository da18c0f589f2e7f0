"""Deliver an alert by SMTP (``smtplib`` in a worker thread).

Outcome of one attempt (RFC 5321 reply classes decide):

* accepted for at least one recipient — delivered (refused recipients are logged);
* 4xx replies, connection failures, timeouts, TLS failures, a dropped connection —
  ``DeliveryError(retryable=True)``: transient by definition;
* 5xx replies, a failed login, a server without STARTTLS/AUTH where the config needs it, a
  message that cannot be rendered — ``DeliveryError(retryable=False)``: permanent until the
  configuration or the server changes, so retrying on a schedule only repeats the failure.

Messages carry the server's reply text but never the password (it is blanked out even if a
server were to echo it).
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import ClassVar

from monitor._config import EmailConfig
from monitor._errors import ConfigError, DeliveryError
from monitor._models import Alert

from ._render import email_message

log = logging.getLogger(__name__)


class EmailSender:
    """Mails alerts through one SMTP server. ``ssl_context`` overrides the system CA store."""

    kind: ClassVar[str] = "email"

    def __init__(self, cfg: EmailConfig, *, ssl_context: ssl.SSLContext | None = None) -> None:
        if cfg.tls not in ("ssl", "starttls", "none"):
            raise ConfigError(f"email tls must be 'ssl', 'starttls' or 'none', not {cfg.tls!r}")
        self._cfg = cfg
        self._ssl_context = ssl_context
        self._label = f"smtp {cfg.host}:{cfg.port}"

    def __repr__(self) -> str:
        return f"EmailSender({self._label!r}, tls={self._cfg.tls!r})"

    async def send(self, alert: Alert) -> None:
        """Deliver ``alert`` once; raise :class:`DeliveryError` if it was not accepted."""
        try:
            message = email_message(alert, self._cfg, now=datetime.now(UTC))
        except ValueError as exc:
            raise DeliveryError(f"email: cannot render alert: {exc}", retryable=False) from None
        await asyncio.to_thread(self._deliver, message)

    def _deliver(self, message: EmailMessage) -> None:
        try:
            refused = self._transmit(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            transient = bool(codes) and all(400 <= code < 500 for code in codes)
            raise self._error(f"all recipients refused {sorted(set(codes))}", transient) from None
        except smtplib.SMTPAuthenticationError as exc:
            raise self._error(
                f"login failed: {exc.smtp_code} {_text(exc.smtp_error)}", False
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise self._error(f"not supported by the server: {exc}", False) from None
        except smtplib.SMTPResponseException as exc:
            code = exc.smtp_code
            reply = f"{code} {_text(exc.smtp_error)}"
            raise self._error(reply, not 500 <= code < 600) from None
        except (smtplib.SMTPException, OSError) as exc:  # disconnects, refusals, timeouts, TLS
            raise self._error(f"{type(exc).__name__}: {exc}", True) from None
        except ValueError as exc:  # the message or an address cannot be serialised
            raise self._error(f"cannot send the message: {exc}", False) from None
        if refused:
            log.warning("%s refused recipients %s", self._label, sorted(refused))

    def _transmit(self, message: EmailMessage) -> dict[str, tuple[int, bytes]]:
        cfg = self._cfg
        smtp: smtplib.SMTP
        if cfg.tls == "ssl":
            smtp = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout, context=self._tls())
        else:
            smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
        with smtp:
            if cfg.tls == "starttls":
                smtp.starttls(context=self._tls())
            if cfg.username:
                smtp.login(cfg.username, cfg.password or "")
            return smtp.send_message(message, from_addr=cfg.sender, to_addrs=list(cfg.recipients))

    def _tls(self) -> ssl.SSLContext:
        return self._ssl_context or ssl.create_default_context()

    def _error(self, detail: str, retryable: bool) -> DeliveryError:
        if self._cfg.password:
            detail = detail.replace(self._cfg.password, "***")
        return DeliveryError(f"email via {self._label}: {detail[:300]}", retryable=retryable)


def _text(reply: bytes | str) -> str:
    if isinstance(reply, bytes):
        return reply.decode("utf-8", "replace")
    return reply
