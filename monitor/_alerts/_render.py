"""Pure rendering of one :class:`~monitor._models.Alert` into what goes on the wire.

* :func:`webhook_payload` and :func:`webhook_headers` — a Standard-Webhooks request;
* :func:`email_message` — a ``multipart/alternative`` email (plain text + escaped HTML).

Nothing here does I/O or reads the clock; the caller passes ``now``.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from monitor._config import EmailConfig
from monitor._models import Alert
from monitor._times import iso

from ._mail_body import html_body, text_body
from ._safe import (
    FIELD_LIMIT,
    LINK_LIMIT,
    MATCHED_LIMIT,
    SUBJECT_LIMIT,
    SUMMARY_LIMIT,
    TITLE_LIMIT,
    clip,
    has_control,
    header_text,
    one_line,
    text_block,
    token,
)
from ._signing import sign

__all__ = ["USER_AGENT", "email_message", "sign", "webhook_headers", "webhook_payload"]


def _version() -> str:
    try:
        return importlib.metadata.version("monitor")
    except importlib.metadata.PackageNotFoundError:
        return "0"


EVENT_TYPE = "monitor.hit"
USER_AGENT = f"monitor/{_version()}"


def webhook_payload(alert: Alert) -> bytes:
    """Compact UTF-8 JSON describing the hit; ``"type"`` is ``"monitor.hit"`` (a feed health
    change: ``"monitor.feed_health"``, with topic ``"feed-health"``, score 0, no ``matched``).

    Titles and summaries are cleaned and cut like in the email (300 / 2,000 characters), so a
    hostile feed cannot make the payload huge. A non-finite score is sent as ``null``.
    """
    data: dict[str, Any] = {
        "type": EVENT_TYPE if alert.kind == "hit" else f"monitor.{alert.kind}",
        "id": alert.id,
        "topic": alert.topic,
        "score": alert.score if math.isfinite(alert.score) else None,
        "title": one_line(alert.title, TITLE_LIMIT),
        "summary": text_block(alert.summary, SUMMARY_LIMIT),
        "link": clip(alert.link, LINK_LIMIT),
        "feed": one_line(alert.feed, FIELD_LIMIT),
        "feed_url": clip(alert.feed_url, LINK_LIMIT),
        "published": iso(alert.published),
        "detected_at": iso(alert.detected_at),
        "matched": [
            {"feature": one_line(feature, FIELD_LIMIT), "weight": _finite(weight)}
            for feature, weight in alert.matched[:MATCHED_LIMIT]
        ],
        "story_id": alert.story_id,
    }
    if alert.judge is not None:  # [feedback]: the pages that judge the hit
        data["judge"] = dict(zip(("irrelevant", "relevant"), alert.judge, strict=True))
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def webhook_headers(
    alert_id: str, body: bytes, secret: str | None, now: datetime
) -> dict[str, str]:
    """Request headers for one delivery; ``webhook-signature`` only when a secret is set.

    ``webhook-id`` is the alert id (or a stable digest of it when it is not header-safe), so a
    retried delivery carries the same id and the receiver can drop the duplicate.
    Raises ``ValueError`` (without the secret in it) for a malformed ``whsec_`` secret.
    """
    msg_id = token(alert_id)
    timestamp = int(now.timestamp())
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }
    if secret:
        headers["webhook-signature"] = sign(secret, msg_id, timestamp, body)
    return headers


def email_message(alert: Alert, cfg: EmailConfig, *, now: datetime | None = None) -> EmailMessage:
    """The alert email. ``Date`` is ``now`` (default: the alert's ``detected_at``).

    ``Message-ID`` is ``<{alert.id}@monitor>`` (a digest when the id is not header-safe), so a
    repeated delivery is recognisable. Every header value is cleaned by
    :func:`~._safe.header_text`; as a last line of defence a ``ValueError`` is raised if any
    header still holds a control character after parsing.
    """
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = one_line(cfg.sender, FIELD_LIMIT)
    msg["To"] = ", ".join(one_line(rcpt, FIELD_LIMIT) for rcpt in cfg.recipients)
    topic = one_line(alert.topic, 60)
    msg["Subject"] = header_text(f"[monitor:{topic}] {alert.title}", SUBJECT_LIMIT)
    msg["Date"] = format_datetime(_utc(now or alert.detected_at))
    msg["Message-ID"] = f"<{token(alert.id)}@monitor>"
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    for name, value in msg.items():
        if has_control(str(value)):
            raise ValueError(f"email header {name} would carry a control character")
    msg.set_content(text_body(alert), cte="quoted-printable")  # 7-bit safe on any server
    msg.add_alternative(html_body(alert), subtype="html", cte="quoted-printable")
    return msg


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
