"""The two bodies of the alert email: plain text, and HTML with every value escaped."""

from __future__ import annotations

import math
from html import escape
from urllib.parse import urlsplit

from monitor._models import Alert
from monitor._times import iso

from ._safe import (
    FIELD_LIMIT,
    LINK_LIMIT,
    MATCHED_LIMIT,
    SUMMARY_LIMIT,
    TITLE_LIMIT,
    one_line,
    text_block,
)


def _number(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}" if math.isfinite(value) else "n/a"


def _facts(alert: Alert) -> list[tuple[str, str]]:
    """Label/value pairs shown in both bodies, already cleaned to one line each."""
    if alert.kind != "hit":  # a feed health change: no score, no publication
        return [
            ("Feed", one_line(alert.feed, FIELD_LIMIT)),
            ("Feed URL", one_line(alert.feed_url, LINK_LIMIT)),
            ("Detected", iso(alert.detected_at) or "unknown"),
        ]
    return [
        ("Topic", one_line(alert.topic, FIELD_LIMIT)),
        ("Score", _number(alert.score)),
        ("Feed", one_line(alert.feed, FIELD_LIMIT)),
        ("Feed URL", one_line(alert.feed_url, LINK_LIMIT)),
        ("Published", iso(alert.published) or "unknown"),
        ("Detected", iso(alert.detected_at) or "unknown"),
    ]


def _reasons(alert: Alert) -> list[str]:
    return [
        f"{one_line(feature, FIELD_LIMIT)} (weight {_number(weight, 3)})"
        for feature, weight in alert.matched[:MATCHED_LIMIT]
    ]


def judge_commands(hit_id: str) -> list[str]:
    """How a reader judges the hit: the commands that teach its topic (``monitor feedback``),
    the way the first few judgements lift a topic most (README, "Feedback pays")."""
    ident = one_line(hit_id, FIELD_LIMIT)
    return [f"monitor feedback {ident} --irrelevant", f"monitor feedback {ident} --relevant"]


_JUDGE = "Judge it (the topic learns from it):"
_LINKS = ("Not about the topic", "About the topic")  # the judge links' words (irrelevant first)


def text_body(alert: Alert) -> str:
    """Title, link, the facts, why it matched, the summary, then how to judge the hit."""
    lines = [one_line(alert.title, TITLE_LIMIT), one_line(alert.link, LINK_LIMIT), ""]
    lines += [f"{label + ':':<11}{value}" for label, value in _facts(alert)]
    if alert.kind == "hit":
        lines += ["", "Why it matched:"]
        lines += [f"  - {reason}" for reason in _reasons(alert)] or ["  (no features recorded)"]
    summary = text_block(alert.summary, SUMMARY_LIMIT)
    if summary:
        lines += ["", summary]
    if alert.kind == "hit":
        lines += ["", _JUDGE]
        if alert.judge is not None:  # [feedback]: one click, then a confirming button
            lines += [
                f"  {word + ':':<21}{url}" for word, url in zip(_LINKS, alert.judge, strict=True)
            ]
        lines += [f"  {command}" for command in judge_commands(alert.id)]
    return "\n".join(lines) + "\n"


def _href(link: str) -> str | None:
    """The link if it is safe to put in ``href`` (http or https only — no ``javascript:``)."""
    try:
        scheme = urlsplit(link).scheme.lower()
    except ValueError:
        return None
    return link if scheme in ("http", "https") else None


def html_body(alert: Alert) -> str:
    """The same content as :func:`text_body`; every interpolated value is ``html.escape``'d."""
    title = escape(one_line(alert.title, TITLE_LIMIT))
    link = one_line(alert.link, LINK_LIMIT)
    href = _href(link)
    heading = f'<a href="{escape(href)}">{title}</a>' if href else title
    facts = "".join(
        f'<tr><th align="left">{escape(label)}</th><td>{escape(value)}</td></tr>'
        for label, value in _facts(alert)
    )
    reasons = "".join(f"<li>{escape(reason)}</li>" for reason in _reasons(alert))
    why = (
        f"<h3>Why it matched</h3>\n<ul>{reasons or '<li>(no features recorded)</li>'}</ul>\n"
        if alert.kind == "hit"
        else ""
    )
    summary = escape(text_block(alert.summary, SUMMARY_LIMIT)).replace("\n", "<br>\n")
    clicks = (
        [
            f'<a href="{escape(url, quote=True)}">{escape(word)}</a>'
            for word, url in zip(_LINKS, alert.judge, strict=True)
        ]
        if alert.judge is not None
        else []
    )
    judge = (
        f"<p>{escape(_JUDGE)}<br>\n"
        + "".join(f"{click}<br>\n" for click in clicks)
        + "<br>\n".join(f"<code>{escape(c)}</code>" for c in judge_commands(alert.id))
        + "</p>\n"
        if alert.kind == "hit"
        else ""
    )
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body>\n'
        f"<h2>{heading}</h2>\n"
        f"<p>{escape(link)}</p>\n"
        f"<table>{facts}</table>\n"
        f"{why}<p>{summary}</p>\n"
        f"{judge}"
        "</body></html>\n"
    )
