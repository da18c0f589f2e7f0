"""One-click judgements from an alert: signed links and the pages they open (pure).

With ``[feedback]`` configured, every hit's alert carries two links, "not about the topic" and
"about it", to the pages ``monitor run`` serves (``_judge_server``). A link is
``{url}/judge/{hit_id}/{verdict}?sig=…``; ``sig`` is an HMAC-SHA256 of the hit id and the
verdict under the configured secret, so nobody without the alert can judge a hit, and a
link for one verdict is not one for the other. Opening a link changes nothing: the page
asks to confirm with a button (a POST), because mail scanners and link previews open links
by themselves. Nothing here does I/O.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import replace
from html import escape
from urllib.parse import quote

from ._config_model import FeedbackConfig
from ._models import Alert

__all__ = ["VERDICTS", "linker", "links", "page", "parse_path", "sign", "unlinked", "valid"]

VERDICTS = ("irrelevant", "relevant")  # the words a link and `monitor feedback` use
_SIG_HEX = 32  # 128 bits of the HMAC: enough against guessing, short enough for a link


def sign(secret: str, hit_id: str, verdict: str) -> str:
    """The link's signature: the HMAC of ``hit_id`` and ``verdict`` under ``secret``."""
    message = f"{hit_id}/{verdict}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:_SIG_HEX]


def valid(secret: str, hit_id: str, verdict: str, sig: str) -> bool:
    """Whether ``sig`` is this hit's and verdict's signature (compared in constant time; a
    signature is hex: anything else is not one)."""
    return (
        verdict in VERDICTS
        and sig.isascii()
        and hmac.compare_digest(sign(secret, hit_id, verdict), sig)
    )


def links(url: str, secret: str, hit_id: str) -> tuple[str, str]:
    """The two links of one hit: (irrelevant, relevant)."""
    base = url.rstrip("/")
    ident = quote(hit_id, safe="")
    irrelevant, relevant = (
        f"{base}/judge/{ident}/{verdict}?sig={sign(secret, hit_id, verdict)}"
        for verdict in VERDICTS
    )
    return irrelevant, relevant


def linker(cfg: FeedbackConfig | None) -> Callable[[Alert], Alert]:
    """What the senders apply to each alert: a hit's alert gets its two links (unchanged
    without ``[feedback]``, or without its secret, or for a feed health alert)."""
    if cfg is None or cfg.secret is None:
        return unlinked
    url, secret = cfg.url, cfg.secret

    def link(alert: Alert) -> Alert:
        return replace(alert, judge=links(url, secret, alert.id)) if alert.kind == "hit" else alert

    return link


def unlinked(alert: Alert) -> Alert:
    """The alert as it is (no ``[feedback]``)."""
    return alert


def parse_path(path: str) -> tuple[str, str] | None:
    """``(hit_id, verdict)`` from a request path ``…/judge/HIT/VERDICT`` (whatever the path
    before it: a proxy may serve the pages under a prefix), or None."""
    parts = path.split("?", 1)[0].rstrip("/").split("/")
    if len(parts) < 3 or parts[-3] != "judge" or parts[-1] not in VERDICTS:
        return None
    hit_id = parts[-2]
    if not (hit_id.isascii() and 0 < len(hit_id) <= 100) or not all(
        c.isalnum() or c in "_-" for c in hit_id
    ):
        return None
    return hit_id, parts[-1]


def page(heading: str, lines: list[str], *, form_sig: str | None = None, button: str = "") -> str:
    """A small HTML page; every text is escaped. With ``form_sig``, a button that posts it."""
    body = "".join(f"<p>{escape(line)}</p>\n" for line in lines)
    if form_sig is not None:
        body += (
            '<form method="post">'
            f'<input type="hidden" name="sig" value="{escape(form_sig, quote=True)}">'
            f'<button type="submit">{escape(button)}</button></form>\n'
        )
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        '<meta name="robots" content="noindex">'
        f"<title>{escape(heading)}</title></head><body>\n"
        f"<h2>{escape(heading)}</h2>\n{body}</body></html>\n"
    )
