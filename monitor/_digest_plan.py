"""Email digests: when the next one is due, and the message. Pure.

A digest gathers the pending email deliveries of the outbox into one message (text and HTML,
grouped by topic, then by story), sent at the configured local times (``digest_at`` in
``timezone``) or every ``digest_every``, never in the quiet hours (``quiet_hours``): what
waits then goes out in the first digest after them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from html import escape
from zoneinfo import ZoneInfo

from ._alerts._safe import (
    FIELD_LIMIT,
    LINK_LIMIT,
    SUBJECT_LIMIT,
    TITLE_LIMIT,
    has_control,
    header_text,
    one_line,
)
from ._config import EmailConfig
from ._digest_quiet import in_window, quiet_until
from ._models import Alert


def next_slot(after: datetime, cfg: EmailConfig) -> datetime:
    """The first digest time strictly after ``after`` (UTC in, UTC out) outside the quiet
    hours: a ``digest_at`` time inside them is skipped; a ``digest_every`` slot inside them
    moves to their end."""
    if cfg.digest_every is not None:
        slot = after + timedelta(seconds=cfg.digest_every)
        return quiet_until(slot, cfg.quiet_hours, cfg.timezone) or slot
    zone = ZoneInfo(cfg.timezone)
    local = after.astimezone(zone)
    for day in range(0, 3):
        date = (local + timedelta(days=day)).date()
        slots = []
        for moment in cfg.digest_at:
            if cfg.quiet_hours is not None and in_window(moment, cfg.quiet_hours):
                continue
            hour, minute = (int(part) for part in moment.split(":"))
            slot = datetime(date.year, date.month, date.day, hour, minute, tzinfo=zone)
            if slot.astimezone(UTC) > after:
                slots.append(slot.astimezone(UTC))
        if slots:  # the earliest of the day, whatever order the times are listed in
            return min(slots)
    # digest_at is never empty, and never all inside the quiet hours (a config error)
    raise AssertionError("no digest slot within three days")


def digest_due(
    oldest: datetime | None, last: datetime | None, retry: datetime | None, cfg: EmailConfig
) -> datetime | None:
    """When the next digest goes out: ``None`` when nothing waits (``oldest``: the oldest
    pending email delivery); else the first slot after the last digest (or after the oldest
    hit, if that came later), not before a failed send's ``retry``, never in quiet hours."""
    if oldest is None:
        return None
    slot = next_slot(last if last is not None and last > oldest else oldest, cfg)
    due = max(slot, retry) if retry is not None else slot
    return quiet_until(due, cfg.quiet_hours, cfg.timezone) or due


def may_send(now: datetime, due: datetime | None, cfg: EmailConfig) -> bool:
    """Whether a digest goes out at ``now``: it is due, and ``now`` is not in quiet hours."""
    if due is None or due > now:
        return False
    return quiet_until(now, cfg.quiet_hours, cfg.timezone) is None


def digest_id(hit_ids: Sequence[str]) -> str:
    """The same hits always give the same Message-ID (a resend is recognisable), and other
    hits another one, whichever database they come from (hit ids hash the feed, the item and
    the topic; outbox row numbers, 1 to N in every new database, collided across installs)."""
    text = ",".join(sorted(hit_ids))
    return "digest_" + hashlib.sha256(text.encode()).hexdigest()[:24]


def digest_message(
    alerts: Sequence[Alert], cfg: EmailConfig, *, ident: str, now: datetime
) -> EmailMessage:
    groups: dict[str, dict[str, list[Alert]]] = {}
    for alert in sorted(alerts, key=lambda a: (a.topic, a.detected_at)):
        groups.setdefault(alert.topic, {}).setdefault(alert.story_id or alert.id, []).append(alert)
    counts = ", ".join(
        f"{one_line(topic, 60)} ({sum(len(s) for s in stories.values())})"
        for topic, stories in groups.items()
    )
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = one_line(cfg.sender, FIELD_LIMIT)
    msg["To"] = ", ".join(one_line(rcpt, FIELD_LIMIT) for rcpt in cfg.recipients)
    hits = "1 new hit" if len(alerts) == 1 else f"{len(alerts)} new hits"
    msg["Subject"] = header_text(f"[monitor] {hits}: {counts}", SUBJECT_LIMIT)
    msg["Date"] = format_datetime(now.astimezone(UTC))
    msg["Message-ID"] = f"<{ident}@monitor>"
    msg["Auto-Submitted"] = "auto-generated"
    for name, value in msg.items():
        if has_control(str(value)):
            raise ValueError(f"email header {name} would carry a control character")
    judge = any(alert.kind == "hit" for alert in alerts)
    msg.set_content(_text(groups, judge), cte="quoted-printable")
    msg.add_alternative(_html(groups, judge), subtype="html", cte="quoted-printable")
    return msg


# How a reader judges a hit of the digest (each copy's line gives its id), as a single alert
# says it with the id filled in (`_alerts._mail_body.judge_commands`).
_JUDGE = (
    "Judge a hit (its topic learns from it): monitor feedback HIT_ID --irrelevant (or --relevant)"
)


def _about(alert: Alert) -> str:
    """A copy's feed and score, and its hit id (what `monitor feedback` takes)."""
    about = f"{one_line(alert.feed, FIELD_LIMIT)}, {alert.score:.2f}"
    return f"{about}, {one_line(alert.id, FIELD_LIMIT)}" if alert.kind == "hit" else about


def _not_about(alert: Alert) -> str:
    """[feedback]: the copy's one-click "not about the topic" link (the likelier verdict in a
    digest: a reader skims for what does not belong)."""
    return alert.judge[0] if alert.judge is not None else ""


def _text(groups: dict[str, dict[str, list[Alert]]], judge: bool) -> str:
    lines: list[str] = []
    for topic, stories in groups.items():
        lines += [f"== {one_line(topic, 60)} ==", ""]
        for copies in stories.values():
            first = copies[0]
            lines.append(f"* {one_line(first.title, TITLE_LIMIT)}")
            for alert in copies:
                lines.append(f"  {one_line(alert.link, LINK_LIMIT)}  ({_about(alert)})")
                if alert.judge is not None:
                    lines.append(f"    not about the topic: {_not_about(alert)}")
            lines.append("")
    if judge:
        lines += [_JUDGE, ""]
    return "\n".join(lines)


def _html(groups: dict[str, dict[str, list[Alert]]], judge: bool) -> str:
    parts = ["<html><body>"]
    for topic, stories in groups.items():
        parts.append(f"<h2>{escape(one_line(topic, 60))}</h2><ul>")
        for copies in stories.values():
            parts.append(f"<li><b>{escape(one_line(copies[0].title, TITLE_LIMIT))}</b><br>")
            links = []
            for alert in copies:
                link = one_line(alert.link, LINK_LIMIT)
                label = escape(one_line(alert.feed, FIELD_LIMIT))
                href = escape(link, quote=True) if link.startswith(("http://", "https://")) else ""
                shown = f'<a href="{href}">{label}</a>' if href else label
                ident = f", <code>{escape(one_line(alert.id, FIELD_LIMIT))}</code>"
                links.append(f"{shown} ({alert.score:.2f}{ident if alert.kind == 'hit' else ''})")
                if alert.judge is not None:
                    href = escape(_not_about(alert), quote=True)
                    links[-1] += f' <a href="{href}">not about the topic</a>'
            parts.append(" · ".join(links) + "</li>")
        parts.append("</ul>")
    if judge:
        parts.append(f"<p>{escape(_JUDGE)}</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
