"""Alert senders against real receivers on 127.0.0.1, and the pure rendering underneath."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from monitor._alerts import (
    SENDER_KINDS,
    EmailSender,
    WebhookSender,
    build_senders,
    email_message,
    sign,
    webhook_headers,
    webhook_payload,
)
from monitor._config import EmailConfig, WebhookConfig
from monitor._errors import ConfigError, DeliveryError, EndpointGoneError
from monitor._models import Alert
from tests.receivers import SmtpServer, WebhookReceiver

NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
INJECTIONS = [
    "Hi\r\nBcc: evil@x.org",
    "Hi\nBcc: evil@x.org",
    "=?utf-8?q?a=0d=0aBcc:_evil@x.org?=",
    "x =?utf-8?q?a=0d=0aBcc:_evil@x.org?= y",
    # an encoded word that decodes to another encoded word that decodes to CRLF
    "=?utf-8?q?=3D=3Futf-8=3Fq=3Fa=3D0d=3D0aBcc:=5Fevil@x.org=3F=3D?=",
    "a\u2028Bcc: x",
    "a\u0085Bcc: x\u2029Cc: y\x0bTo: z",
    "x" * 1_000_000,
]
MAIL_HEADERS = {
    "From", "To", "Subject", "Date", "Message-ID", "Auto-Submitted", "MIME-Version",
    "Content-Type",
}  # fmt: skip


def make_alert(**changes: Any) -> Alert:
    alert = Alert(
        id="hit-0001",
        topic="chips",
        score=0.87,
        title="Foundry opens 2nm line",
        summary="The new line starts volume production.\nMore to follow.",
        link="https://news.example/2nm",
        feed="Example News",
        feed_url="https://news.example/feed.xml",
        published=datetime(2026, 11, 22, 10, 30, tzinfo=UTC),
        detected_at=datetime(2026, 11, 22, 11, 0, tzinfo=UTC),
        matched=(("phrase:2nm", 0.41), ("term:foundry", 0.22)),
        story_id="story-7",
    )
    return replace(alert, **changes)


def mail_cfg(port: int, **changes: Any) -> EmailConfig:
    cfg = EmailConfig(
        host="127.0.0.1",
        port=port,
        tls="none",
        sender="monitor@example.org",
        recipients=("ops@example.org", "news@example.org"),
        timeout=5.0,
    )
    return replace(cfg, **changes)


def post(cfg: WebhookConfig, alert: Alert | None = None) -> None:
    async def run() -> None:
        async with httpx.AsyncClient() as client:
            await WebhookSender(cfg, client).send(alert or make_alert(), now=NOW)

    asyncio.run(run())


def mail(cfg: EmailConfig, alert: Alert | None = None, **kwargs: Any) -> None:
    asyncio.run(EmailSender(cfg, **kwargs).send(alert or make_alert()))


def parse(raw: bytes) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


def body_text(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert isinstance(part, EmailMessage)
    content = part.get_content()
    assert isinstance(content, str)
    return content


def free_port() -> int:
    """A port nothing listens on (bound, then closed: connections to it are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# ----------------------------------------------------------------------------- rendering


def test_sign_matches_the_standard_webhooks_reference_vector() -> None:
    # From the Standard Webhooks reference libraries' test suite.
    signature = sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        b'{"test": 2432232314}',
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_sign_agrees_with_the_standard_webhooks_library() -> None:
    """The official library signs the same bytes with the same key (padded or not)."""
    from standardwebhooks.webhooks import Webhook

    for secret in ("whsec_cGxhaW4=", "whsec_cGxhaW4", "whsec_" + "A" * 44):
        expected = Webhook(secret).sign("id", datetime.fromtimestamp(1, UTC), "{}")
        assert sign(secret, "id", 1, b"{}") == expected


def test_a_secret_without_the_whsec_prefix_is_refused() -> None:
    """A receiver using a Standard Webhooks library base64-decodes any secret: used as raw
    bytes here, it could never verify our signatures. So it is refused, clearly."""
    with pytest.raises(ValueError, match="must start with 'whsec_'"):
        sign("plain", "id", 1, b"{}")


def test_webhook_payload_is_compact_json_with_every_field() -> None:
    body = webhook_payload(make_alert())
    assert b": " not in body and b", " not in body
    assert json.loads(body) == {
        "type": "monitor.hit",
        "id": "hit-0001",
        "topic": "chips",
        "score": 0.87,
        "title": "Foundry opens 2nm line",
        "summary": "The new line starts volume production.\nMore to follow.",
        "link": "https://news.example/2nm",
        "feed": "Example News",
        "feed_url": "https://news.example/feed.xml",
        "published": "2026-11-22T10:30:00.000Z",
        "detected_at": "2026-11-22T11:00:00.000Z",
        "matched": [
            {"feature": "phrase:2nm", "weight": 0.41},
            {"feature": "term:foundry", "weight": 0.22},
        ],
        "story_id": "story-7",
    }


def test_webhook_payload_survives_hostile_values() -> None:
    alert = make_alert(
        published=None, score=float("nan"), title="x" * 1_000_000 + "\ud800", summary="s" * 10**6
    )
    data = json.loads(webhook_payload(alert))
    assert data["published"] is None and data["score"] is None
    assert len(data["title"]) <= 300 and len(data["summary"]) <= 2000


def test_webhook_headers_sign_only_with_a_secret() -> None:
    body = b"{}"
    signed = webhook_headers("hit-1", body, "whsec_" + "A" * 44, NOW)
    assert signed["webhook-id"] == "hit-1"
    assert signed["webhook-timestamp"] == str(int(NOW.timestamp()))
    assert signed["webhook-signature"].startswith("v1,")
    assert signed["content-type"] == "application/json"
    assert signed["user-agent"].startswith("monitor/")
    assert "webhook-signature" not in webhook_headers("hit-1", body, None, NOW)


def test_unsafe_ids_become_a_stable_digest() -> None:
    first = webhook_headers("a\r\nX: y", b"", None, NOW)["webhook-id"]
    assert first == webhook_headers("a\r\nX: y", b"", None, NOW)["webhook-id"]
    assert first.isalnum()
    message = email_message(make_alert(id="a\r\nX: y"), mail_cfg(25))
    assert message["Message-ID"] == f"<{first}@monitor>"
    assert set(parse(message.as_bytes()).keys()) == MAIL_HEADERS


def test_email_message_headers_and_bodies() -> None:
    message = email_message(make_alert(), mail_cfg(25), now=NOW)
    parsed = parse(message.as_bytes())
    assert set(parsed.keys()) == MAIL_HEADERS
    assert parsed["Subject"] == "[monitor:chips] Foundry opens 2nm line"
    assert parsed["Message-ID"] == "<hit-0001@monitor>"
    assert parsed["To"] == "ops@example.org, news@example.org"
    assert parsed["Date"].datetime == NOW
    text = body_text(parsed, "plain")
    for expected in (
        "Foundry opens 2nm line", "https://news.example/2nm", "0.87", "Example News",
        "2026-11-22T10:30:00.000Z", "phrase:2nm (weight 0.410)", "term:foundry (weight 0.220)",
    ):  # fmt: skip
        assert expected in text
    assert '<a href="https://news.example/2nm">' in body_text(parsed, "html")
    for body in (text, body_text(parsed, "html")):  # how to judge it, with the hit's id
        assert "monitor feedback hit-0001 --irrelevant" in body
        assert "monitor feedback hit-0001 --relevant" in body


def test_a_feed_health_email_offers_no_judgement() -> None:
    health = make_alert(kind="feed_health", topic="feed-health", matched=())
    message = parse(email_message(health, mail_cfg(25)).as_bytes())
    for subtype in ("plain", "html"):
        assert "monitor feedback" not in body_text(message, subtype)


@pytest.mark.parametrize("title", INJECTIONS, ids=lambda t: repr(t[:30]))
def test_email_title_cannot_inject_headers(title: str) -> None:
    raw = email_message(make_alert(title=title), mail_cfg(25)).as_bytes()
    parsed = parse(raw)
    assert set(parsed.keys()) == MAIL_HEADERS
    assert "\n" not in parsed["Subject"] and "\r" not in parsed["Subject"]
    assert len(parsed["Subject"]) <= 200
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nBcc:" not in head and b"\r\nCc:" not in head
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))


def test_html_part_escapes_everything() -> None:
    alert = make_alert(
        title="<script>alert(1)</script>",
        summary='<img src=x onerror="alert(2)">',
        feed="<b>feed</b>",
        matched=(("<i>f</i>", 1.0),),
        link='javascript:alert(3)"',
    )
    html = body_text(parse(email_message(alert, mail_cfg(25)).as_bytes()), "html")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img" not in html and "<b>feed" not in html and "<i>f" not in html
    assert "href" not in html  # a javascript: link is shown, never linked


# ----------------------------------------------------------------------------- webhook


def test_webhook_delivers_a_signed_request(webhook_receiver: WebhookReceiver) -> None:
    post(WebhookConfig(url=webhook_receiver.url, secret=webhook_receiver.secret))
    [request] = webhook_receiver.wait_for(1)
    assert request.signature_ok is True
    assert request.method == "POST" and request.path == "/hook"
    assert request.headers["webhook-id"] == "hit-0001"
    assert request.headers["webhook-timestamp"] == str(int(NOW.timestamp()))
    assert request.headers["content-type"] == "application/json"
    assert request.json["type"] == "monitor.hit" and request.json["id"] == "hit-0001"


def test_webhook_without_secret_sends_no_signature(webhook_receiver: WebhookReceiver) -> None:
    post(WebhookConfig(url=webhook_receiver.url))
    [request] = webhook_receiver.wait_for(1)
    assert "webhook-signature" not in request.headers
    assert request.signature_ok is None


def test_webhook_with_another_secret_fails_verification(webhook_receiver: WebhookReceiver) -> None:
    post(WebhookConfig(url=webhook_receiver.url, secret="whsec_" + "B" * 44))
    assert webhook_receiver.wait_for(1)[0].signature_ok is False


def test_repeated_delivery_carries_the_same_id(webhook_receiver: WebhookReceiver) -> None:
    cfg = WebhookConfig(url=webhook_receiver.url, secret=webhook_receiver.secret)
    post(cfg)
    post(cfg)
    first, second = webhook_receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(500, True), (503, True), (429, True), (408, True), (404, True), (401, True), (302, True),
     (400, False), (413, False), (422, False)],
)  # fmt: skip
def test_webhook_status_mapping(
    webhook_receiver: WebhookReceiver, status: int, retryable: bool
) -> None:
    webhook_receiver.fail_next(1, status=status)
    with pytest.raises(DeliveryError) as caught:
        post(WebhookConfig(url=webhook_receiver.url, secret=webhook_receiver.secret))
    assert type(caught.value) is DeliveryError
    assert caught.value.retryable is retryable
    assert str(status) in str(caught.value)
    assert webhook_receiver.secret not in str(caught.value)
    assert len(webhook_receiver.wait_for(1)) == 1  # a redirect is not followed


def test_webhook_410_means_gone(webhook_receiver: WebhookReceiver) -> None:
    webhook_receiver.respond_with(410)
    with pytest.raises(EndpointGoneError) as caught:
        post(WebhookConfig(url=webhook_receiver.url, secret=webhook_receiver.secret))
    assert caught.value.retryable is False
    assert webhook_receiver.secret not in str(caught.value)


def test_webhook_refused_then_accepted(webhook_receiver: WebhookReceiver) -> None:
    cfg = WebhookConfig(url=webhook_receiver.url, secret=webhook_receiver.secret, timeout=2)
    webhook_receiver.refuse()
    with pytest.raises(DeliveryError) as caught:
        post(cfg)
    assert caught.value.retryable is True
    assert webhook_receiver.secret not in str(caught.value)
    webhook_receiver.accept()
    assert webhook_receiver.url == cfg.url
    post(cfg)
    assert webhook_receiver.wait_for(1)[0].signature_ok is True


def test_webhook_fail_next_then_success(webhook_receiver: WebhookReceiver) -> None:
    cfg = WebhookConfig(url=webhook_receiver.url, secret=webhook_receiver.secret)
    webhook_receiver.fail_next(2)
    for _ in range(2):
        with pytest.raises(DeliveryError):
            post(cfg)
    post(cfg)
    assert len(webhook_receiver.wait_for(3)) == 3


def test_webhook_timeout_is_retryable() -> None:
    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/hook"
        with pytest.raises(DeliveryError) as caught:
            post(WebhookConfig(url=url, secret="whsec_c2VjcmV0LXZhbHVl", timeout=0.2))
    assert caught.value.retryable is True
    assert "timed out" in str(caught.value)


def test_webhook_errors_hide_url_credentials_and_secret() -> None:
    url = f"http://user:pw-in-url@127.0.0.1:{free_port()}/hook?token=tok-in-url"
    secret = "whsec_cmF3LXNlY3JldC12YWx1ZQ=="  # base64 of "raw-secret-value"
    with pytest.raises(DeliveryError) as caught:
        post(WebhookConfig(url=url, secret=secret, timeout=2))
    for sensitive in ("pw-in-url", "tok-in-url", secret):
        assert sensitive not in str(caught.value)
        assert sensitive not in repr(caught.value)

    async def make() -> str:
        async with httpx.AsyncClient() as client:
            return repr(WebhookSender(WebhookConfig(url=url, secret=secret), client))

    assert secret not in asyncio.run(make()) and "tok-in-url" not in asyncio.run(make())


def test_webhook_unsupported_scheme_is_permanent() -> None:
    with pytest.raises(DeliveryError) as caught:
        post(WebhookConfig(url="ftp://127.0.0.1/hook"))
    assert caught.value.retryable is False


def test_malformed_secret_is_a_config_error_without_the_secret() -> None:
    async def make() -> None:
        async with httpx.AsyncClient() as client:
            WebhookSender(WebhookConfig(url="http://127.0.0.1/", secret=secret), client)

    secret = "whsec_sup3r$ecret!"
    with pytest.raises(ConfigError) as caught:
        asyncio.run(make())
    assert "sup3r$ecret" not in str(caught.value)


# ----------------------------------------------------------------------------- email


def test_email_arrives(smtp_server: SmtpServer) -> None:
    mail(mail_cfg(smtp_server.port))
    [received] = smtp_server.wait_for(1)
    assert received.mail_from == "monitor@example.org"
    assert received.rcpt_tos == ["ops@example.org", "news@example.org"]
    message = received.message
    assert set(message.keys()) == MAIL_HEADERS
    assert message["Subject"] == "[monitor:chips] Foundry opens 2nm line"
    assert message["Message-ID"] == "<hit-0001@monitor>"
    text = body_text(message, "plain")
    assert "https://news.example/2nm" in text and "phrase:2nm (weight 0.410)" in text
    assert "Foundry opens 2nm line" in body_text(message, "html")


@pytest.mark.parametrize("title", INJECTIONS, ids=lambda t: repr(t[:30]))
def test_received_email_has_no_injected_header(smtp_server: SmtpServer, title: str) -> None:
    mail(mail_cfg(smtp_server.port), make_alert(title=title))
    [received] = smtp_server.wait_for(1)
    assert set(received.message.keys()) == MAIL_HEADERS
    assert received.rcpt_tos == ["ops@example.org", "news@example.org"]


def test_received_email_escapes_html_and_cuts_long_titles(smtp_server: SmtpServer) -> None:
    mail(mail_cfg(smtp_server.port), make_alert(title="<script>x</script>" + "y" * 1_000_000))
    [received] = smtp_server.wait_for(1)
    assert len(received.raw) < 20_000
    assert len(received.message["Subject"]) <= 200
    assert received.message["Subject"].endswith("…")
    html = body_text(received.message, "html")
    assert "<script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    title_line = body_text(received.message, "plain").splitlines()[0]
    assert len(title_line) <= 300 and title_line.endswith("…")


@pytest.mark.parametrize(("code", "retryable"), [(451, True), (554, False)])
def test_smtp_rejection_maps_to_delivery_error(
    smtp_server: SmtpServer, code: int, retryable: bool
) -> None:
    smtp_server.reject_next(1, code)
    with pytest.raises(DeliveryError) as caught:
        mail(mail_cfg(smtp_server.port))
    assert caught.value.retryable is retryable
    assert str(code) in str(caught.value)
    mail(mail_cfg(smtp_server.port))
    assert len(smtp_server.wait_for(1)) == 1


def test_smtp_connection_refused_is_retryable() -> None:
    with pytest.raises(DeliveryError) as caught:
        mail(mail_cfg(free_port(), username="u", password="pw-secret"))
    assert caught.value.retryable is True
    assert "pw-secret" not in str(caught.value)


def _authenticator(
    server: object, session: object, envelope: object, mechanism: str, auth_data: object
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == b"alice"
        and auth_data.password == b"right-password"
    )
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535


@pytest.fixture
def auth_smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(authenticator=_authenticator, auth_require_tls=False)
    try:
        yield server
    finally:
        server.close()


def test_smtp_login(auth_smtp: SmtpServer) -> None:
    mail(mail_cfg(auth_smtp.port, username="alice", password="right-password"))
    assert len(auth_smtp.wait_for(1)) == 1


def test_smtp_bad_login_is_permanent_and_hides_password(auth_smtp: SmtpServer) -> None:
    with pytest.raises(DeliveryError) as caught:
        mail(mail_cfg(auth_smtp.port, username="alice", password="wrong-password"))
    assert caught.value.retryable is False
    assert "wrong-password" not in str(caught.value)
    assert "wrong-password" not in repr(EmailSender(mail_cfg(1, password="wrong-password")))


def test_starttls_required_but_not_offered_is_permanent(smtp_server: SmtpServer) -> None:
    with pytest.raises(DeliveryError) as caught:
        mail(mail_cfg(smtp_server.port, tls="starttls"))
    assert caught.value.retryable is False


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (made with the openssl CLI)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not available")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.mark.parametrize("mode", ["ssl", "starttls"])
def test_email_over_tls(tls_files: tuple[Path, Path], mode: str) -> None:
    cert, key = tls_files
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    options: dict[str, Any] = (
        {"ssl_context": server_ctx}
        if mode == "ssl"
        else {"tls_context": server_ctx, "require_starttls": True}
    )
    server = SmtpServer(**options)
    try:
        client_ctx = ssl.create_default_context(cafile=str(cert))
        mail(mail_cfg(server.port, tls=mode), ssl_context=client_ctx)
        assert len(server.wait_for(1)) == 1
        # Without the test CA the certificate does not verify: retryable (it may be renewed).
        with pytest.raises(DeliveryError) as caught:
            mail(mail_cfg(server.port, tls=mode, timeout=2))
        assert caught.value.retryable is True
    finally:
        server.close()


# ----------------------------------------------------------------------------- registry


def test_registry_and_build_senders() -> None:
    assert dict(SENDER_KINDS) == {"webhook": WebhookSender, "email": EmailSender}

    async def run() -> None:
        async with httpx.AsyncClient() as client:
            assert build_senders(None, None, client) == []
            senders = build_senders(WebhookConfig(url="http://127.0.0.1/"), mail_cfg(25), client)
            assert [s.kind for s in senders] == ["webhook", "email"]

    asyncio.run(run())


def test_unknown_tls_mode_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        EmailSender(mail_cfg(25, tls="tls"))
