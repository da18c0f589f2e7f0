"""Deliver an alert by SMTP (``smtplib`` in a thread of its own, under a total deadline).

smtplib bounds each socket operation but not a whole conversation: a server that drips its
replies one byte under the timeout holds a send for ever. So every attempt runs in its own
daemon thread (never asyncio's default pool, which the parser pool needs) and ends at
``timeout`` in all: the socket is closed under it, which ends the thread too. Shutdown
abandons a send in flight the same way. How many sends run at once is bounded by the
deliverer, per channel (:attr:`EmailSender.concurrency`).

Outcome of one attempt (RFC 5321 reply classes decide):

* accepted for every recipient — delivered;
* a 4xx for some recipients — ``DeliveryError(retryable=True, remaining=…)``: at least once
  per recipient, so the message goes again (same ``Message-ID``) to the refused recipients
  only (one refused with a 5xx beside them is tried once more with them);
* a 5xx for some recipients only — ``DeliveryError(retryable=False, remaining=…)``: a failed
  delivery naming them (the others have the message); ``monitor redeliver`` sends it to
  them only (a digest too: it goes to the recipients its rows are owed to);
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
import contextlib
import logging
import smtplib
import socket
import ssl
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import ClassVar

from monitor._config import EmailConfig
from monitor._errors import ConfigError, DeliveryError, DeliveryTimeout
from monitor._models import Alert

from ._render import email_message

log = logging.getLogger(__name__)


class EmailSender:
    """Mails alerts through one SMTP server. ``ssl_context`` overrides the system CA store."""

    kind: ClassVar[str] = "email"
    concurrency: ClassVar[int] = 2  # mail sends at once (each in its own thread)

    def __init__(self, cfg: EmailConfig, *, ssl_context: ssl.SSLContext | None = None) -> None:
        if cfg.tls not in ("ssl", "starttls", "none"):
            raise ConfigError(f"email tls must be 'ssl', 'starttls' or 'none', not {cfg.tls!r}")
        self._cfg = cfg
        self._ssl_context = ssl_context
        self._label = f"smtp {cfg.host}:{cfg.port}"

    def __repr__(self) -> str:
        return f"EmailSender({self._label!r}, tls={self._cfg.tls!r})"

    async def send(self, alert: Alert, *, recipients: Sequence[str] | None = None) -> None:
        """Deliver ``alert`` once; raise :class:`DeliveryError` if it was not accepted, and
        :class:`DeliveryTimeout` if the whole attempt took longer than ``timeout``."""
        try:
            message = email_message(alert, self._cfg, now=datetime.now(UTC))
        except ValueError as exc:
            raise DeliveryError(f"email: cannot render alert: {exc}", retryable=False) from None
        await self.send_message(message, recipients=recipients)

    async def send_message(
        self, message: EmailMessage, *, recipients: Sequence[str] | None = None
    ) -> None:
        """Send a prepared message (an alert's, or a digest) once, in its own thread under the
        total deadline; raise as :meth:`send` does."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        conversation = _Conversation()

        def work() -> None:
            error: BaseException | None = None
            try:
                self._deliver(message, conversation, tuple(recipients or self._cfg.recipients))
            except BaseException as exc:  # handed to the awaiting task, never lost
                error = exc
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
                loop.call_soon_threadsafe(_settle, done, error)

        threading.Thread(target=work, name="smtp-send", daemon=True).start()
        try:
            async with asyncio.timeout(self._cfg.timeout):
                await done
        except TimeoutError:
            conversation.abort()
            raise DeliveryTimeout(
                f"email via {self._label}: no complete answer within the deadline of "
                f"{self._cfg.timeout:g}s"
            ) from None
        except asyncio.CancelledError:  # shutdown: abandon the conversation
            conversation.abort()
            raise

    def _deliver(
        self, message: EmailMessage, conversation: _Conversation, to: tuple[str, ...]
    ) -> None:
        try:
            refused = self._transmit(message, conversation, to)
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
        if not refused:
            return
        # At least once per recipient: a refusal is not a delivery. The delivery stays owed
        # to the refused recipients only (the retry, or a `redeliver`, goes to them).
        later = sorted(rcpt for rcpt, (code, _) in refused.items() if 400 <= code < 500)
        never = sorted(rcpt for rcpt in refused if rcpt not in later)
        codes = sorted({code for code, _ in refused.values()})
        if later:  # tried again (same Message-ID); one refused for good too, once more
            detail = f"recipients refused for now {codes}: {', '.join(later)}"
            if never:
                detail += f"; for good: {', '.join(never)}"
            error = self._error(detail, True)
        else:  # a failed delivery that names them, not a "delivered" that hides them
            error = self._error(
                f"recipients refused for good {codes}: {', '.join(never)} (the others have it)",
                False,
            )
        error.remaining = tuple(sorted(refused))
        raise error

    def _transmit(
        self, message: EmailMessage, conversation: _Conversation, to: tuple[str, ...]
    ) -> dict[str, tuple[int, bytes]]:
        cfg = self._cfg
        smtp: smtplib.SMTP
        if cfg.tls == "ssl":
            smtp = smtplib.SMTP_SSL(timeout=cfg.timeout, context=self._tls())
        else:
            smtp = smtplib.SMTP(timeout=cfg.timeout)
        # what __init__ would set when connecting itself: the name TLS checks (SNI, certificate)
        smtp._host = cfg.host  # type: ignore[attr-defined]
        conversation.begin(smtp)
        with smtp:
            code, reply = smtp.connect(cfg.host, cfg.port)
            if code != 220:
                raise smtplib.SMTPConnectError(code, reply)
            conversation.check()
            if cfg.tls == "starttls":
                smtp.starttls(context=self._tls())
            if cfg.username:
                smtp.login(cfg.username, cfg.password or "")
            return smtp.send_message(message, from_addr=cfg.sender, to_addrs=list(to))

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


class _Conversation:
    """The SMTP connection of one attempt, which the awaiting task can cut (deadline,
    shutdown): closing the socket makes the worker thread's blocked read fail at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._smtp: smtplib.SMTP | None = None
        self._aborted = False

    def begin(self, smtp: smtplib.SMTP) -> None:
        with self._lock:
            self._smtp = smtp
        self.check()

    def check(self) -> None:
        """Raise in the worker if the attempt was abandoned (before or while connecting)."""
        with self._lock:
            aborted, smtp = self._aborted, self._smtp
        if aborted:
            if smtp is not None:
                _close(smtp)
            raise OSError("abandoned: the deadline passed or the monitor is stopping")

    def abort(self) -> None:
        with self._lock:
            self._aborted = True
            smtp = self._smtp
        if smtp is not None:
            _close(smtp)


def _close(smtp: smtplib.SMTP) -> None:
    sock = getattr(smtp, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            sock.close()


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():  # the awaiting task gave up (deadline, shutdown)
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
