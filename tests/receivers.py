"""Real receivers on 127.0.0.1 for the alert senders: a webhook endpoint and an SMTP server.

Both bind port 0 (the kernel picks a free port, so parallel test runs cannot race for it),
record what they receive, can be told to fail, and shut down when the fixture ends.
The webhook receiver verifies Standard Webhooks signatures with the official
``standardwebhooks`` library, independent of ``monitor._alerts``, so a bug in the sender's
signing (or key handling) cannot hide behind a shared helper.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from standardwebhooks.webhooks import Webhook

TEST_KEY = bytes(range(32))
TEST_SECRET = "whsec_" + base64.b64encode(TEST_KEY).decode("ascii")


def _wait(cond: threading.Condition, ready: Callable[[], bool], timeout: float, what: str) -> None:
    with cond:
        if not cond.wait_for(ready, timeout):
            raise TimeoutError(f"{what} did not arrive within {timeout}s")


# --------------------------------------------------------------------------- webhook


@dataclass(frozen=True)
class WebhookRequest:
    """One request as the receiver saw it. Header names are lower-cased."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any  # the parsed body, or None when it was not JSON
    signature_ok: bool | None  # None: no webhook-signature header was sent
    arrived_at: float  # time.time()


def verify_signature(secret: str, headers: dict[str, str], body: bytes) -> bool | None:
    """Standard Webhooks verification with the official ``standardwebhooks`` library (its key
    handling, its signing), independent of ``monitor._alerts``: any ``v1,`` signature in the
    header may match. The timestamp's age is not checked (tests sign with fixed clocks)."""
    header = headers.get("webhook-signature")
    if header is None:
        return None
    try:
        stamp = datetime.fromtimestamp(int(headers.get("webhook-timestamp", "")), UTC)
        text = body.decode("utf-8")
    except (ValueError, OverflowError):
        return False
    expected = Webhook(secret).sign(headers.get("webhook-id", ""), stamp, text)
    wanted = expected.partition(",")[2]
    return any(
        version == "v1" and hmac.compare_digest(sig, wanted)
        for version, _, sig in (part.partition(",") for part in header.split())
    )


class WebhookReceiver:
    """A threaded HTTP server on 127.0.0.1 that records every request.

    By default it answers 204. ``fail_next(n, status)`` makes the next ``n`` requests fail;
    ``respond_with(status)`` sets the answer for all later ones; ``refuse()`` closes the
    listening socket (connections are refused) and ``accept()`` listens again on the same port.
    Connections are not kept alive, so a refusal really applies to the next request.
    """

    def __init__(self, secret: str = TEST_SECRET) -> None:
        self.secret = secret
        self.received: list[WebhookRequest] = []
        self._cond = threading.Condition()
        self._fail_left = 0
        self._fail_status = 500
        self._status = 204
        self.delay = 0.0  # seconds each answer waits (a slow endpoint)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self.accept()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    # -- control

    def fail_next(self, n: int, status: int = 500) -> None:
        with self._cond:
            self._fail_left, self._fail_status = n, status

    def respond_with(self, status: int) -> None:
        with self._cond:
            self._status = status

    def refuse(self) -> None:
        """Close the listening socket: new connections get ECONNREFUSED."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None and thread is not None:
            server.shutdown()
            server.server_close()
            thread.join(5)

    def accept(self) -> None:
        """Listen (again) — on the port used before, or on a fresh ephemeral one at first."""
        if self._server is not None:
            return
        server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler_class())
        server.daemon_threads = True
        self.port = server.server_address[1]
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.daemon = True
        thread.start()
        self._server, self._thread = server, thread

    def close(self) -> None:
        self.refuse()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[WebhookRequest]:
        """Block until ``count`` requests have arrived; return them all."""
        _wait(self._cond, lambda: len(self.received) >= count, timeout, f"{count} request(s)")
        return list(self.received)

    # -- serving

    def _answer(self, request: WebhookRequest) -> int:
        with self._cond:
            self.received.append(request)
            self._cond.notify_all()
            if self._fail_left > 0:
                self._fail_left -= 1
                return self._fail_status
            return self._status

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # one request per connection

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                try:
                    parsed = json.loads(body)
                except ValueError:
                    parsed = None
                status = receiver._answer(
                    WebhookRequest(
                        method=self.command,
                        path=self.path,
                        headers=headers,
                        body=body,
                        json=parsed,
                        signature_ok=verify_signature(receiver.secret, headers, body),
                        arrived_at=time.time(),
                    )
                )
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("location", "http://127.0.0.1:9/elsewhere")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep the test output quiet

        return Handler


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    try:
        yield receiver
    finally:
        receiver.close()


# --------------------------------------------------------------------------- SMTP


@dataclass(frozen=True)
class ReceivedMail:
    """One accepted message: the SMTP envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage


@dataclass
class _MailHandler:
    """aiosmtpd handler: store messages, or reject the next ``reject_left`` with ``code``."""

    messages: list[ReceivedMail] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)
    reject_left: int = 0
    reject_code: int = 554
    refuse_rcpt: dict[str, int] = field(default_factory=dict)  # address -> refusals left
    refuse_code: dict[str, int] = field(default_factory=dict)  # address -> 450 or a 5xx
    hold: float = 0.0  # seconds between keeping a message and answering 250 (a slow server)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        with self.cond:
            if self.refuse_rcpt.get(address, 0) > 0:
                self.refuse_rcpt[address] -= 1
                if self.refuse_code.get(address, 450) >= 500:
                    return "550 5.1.1 no such user"
                return "450 4.2.1 mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self.cond:
            if self.reject_left > 0:
                self.reject_left -= 1
                kind = "4.3.0 try again later" if self.reject_code < 500 else "5.7.1 rejected"
                return f"{self.reject_code} {kind}"
        raw = envelope.original_content or b""
        if isinstance(envelope.content, bytes):
            raw = envelope.content
        message = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        mail = ReceivedMail(str(envelope.mail_from), list(envelope.rcpt_tos), raw, message)
        with self.cond:
            self.messages.append(mail)
            self.cond.notify_all()
            hold = self.hold
        if hold:
            await asyncio.sleep(hold)
        return "250 OK"


class _EphemeralController(Controller):
    """A Controller that binds port 0 and learns the real port before it pokes the server."""

    def _trigger_server(self) -> None:
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class SmtpServer:
    """An aiosmtpd server on 127.0.0.1 (plain SMTP, no TLS) that keeps what it receives."""

    host = "127.0.0.1"

    def __init__(self, **smtp_options: Any) -> None:
        self._handler = _MailHandler()
        self._controller = _EphemeralController(
            self._handler, hostname=self.host, port=0, **smtp_options
        )
        self._controller.start()
        self.port: int = self._controller.port

    @property
    def messages(self) -> list[ReceivedMail]:
        return self._handler.messages

    def reject_next(self, n: int, code: int = 554) -> None:
        with self._handler.cond:
            self._handler.reject_left, self._handler.reject_code = n, code

    def hold_answers(self, seconds: float) -> None:
        """Keep each message, then wait ``seconds`` before answering 250 (0: at once)."""
        with self._handler.cond:
            self._handler.hold = seconds

    def refuse_recipient(self, address: str, times: int = 1, code: int = 450) -> None:
        """Answer RCPT TO for ``address`` with a temporary 450 (or ``code`` 550: for good),
        ``times`` times."""
        with self._handler.cond:
            self._handler.refuse_rcpt[address] = times
            self._handler.refuse_code[address] = code

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedMail]:
        """Block until ``count`` messages have been accepted; return them all."""
        handler = self._handler
        _wait(handler.cond, lambda: len(handler.messages) >= count, timeout, f"{count} mail(s)")
        return list(handler.messages)

    def close(self) -> None:
        self._controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    try:
        yield server
    finally:
        server.close()


# --------------------------------------------------------------------------- a stalling SMTP server


class StallingSmtp:
    """A TCP server on 127.0.0.1 that greets like SMTP and then misbehaves after EHLO/HELO:
    ``mode="stall"`` never answers, ``mode="drip"`` drips an endless multi-line reply one byte
    every ``drip`` seconds (always under any socket timeout); ``mode="silent"`` says nothing at
    all, not even the greeting (an HTTP server that never answers). Counts the connections it
    took."""

    host = "127.0.0.1"

    def __init__(self, mode: str = "drip", drip: float = 0.2) -> None:
        import socket

        self.mode = mode
        self.drip = drip
        self.connections = 0
        self._stop = threading.Event()
        self._socket = socket.create_server((self.host, 0))
        self._socket.settimeout(0.1)
        self.port: int = self._socket.getsockname()[1]
        self._clients: list[Any] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._socket.accept()
            except OSError:
                continue
            self.connections += 1
            self._clients.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: Any) -> None:
        try:
            if self.mode == "silent":
                self._stop.wait()
                return
            conn.sendall(b"220 stalling.example ESMTP\r\n")
            conn.settimeout(0.2)
            buffer = b""
            while not self._stop.is_set() and b"\n" not in buffer:
                try:
                    chunk = conn.recv(1024)
                except TimeoutError:
                    continue
                if not chunk:
                    return
                buffer += chunk
            while not self._stop.is_set():
                if self.mode == "drip":
                    conn.sendall(b"2")
                self._stop.wait(self.drip)
        except OSError:
            return
        finally:
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._socket.close()
        for conn in self._clients:
            with contextlib.suppress(OSError):
                conn.close()
        self._thread.join(2)
