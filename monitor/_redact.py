"""Credentials out of URLs before they are shown, logged, sent or stored for display. Pure.

A URL's user-info (``user:password@``) and the values of query parameters that usually carry
a secret (a name with the word ``token``, ``key``, ``secret``, ``pass``, ``sig``, ``session``,
…: ``feed_token``, ``X-Api-Key``, ``passkey``) become ``***``. The configured URL itself is
kept where it is needed to make the request (the config, the feed's row in the 0600
database).
"""

from __future__ import annotations

import logging
import re

# A query parameter is a secret when a word of its name is one of these (``feed_token``,
# ``X-Api-Key``, ``accessToken``, ``torrent_pass``), or the whole name is (``passkey``).
_SECRET_WORDS = frozenset(
    "token key apikey secret password passwd pass pwd sig signature session sessionid sid "
    "code auth authkey passkey rsskey hash credential credentials".split()
)
_WORDS = re.compile(r"[-_.]+|(?<=[a-z0-9])(?=[A-Z])")


def _secret_name(name: str) -> bool:
    words = [w.lower() for w in _WORDS.split(name) if w]
    return name.lower() in _SECRET_WORDS or any(w in _SECRET_WORDS for w in words)


# any scheme: a mistyped "htp://user:pw@…" is quoted by the error that refuses it
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s@'\"]*@")
_QUERY_PARAM = re.compile(r"([?&;][\w.-]+=)([^&#;\s'\"]*)")


def _hide_query(text: str, keep_trailing: bool) -> str:
    def hide(match: re.Match[str]) -> str:
        if not _secret_name(match.group(1)[1:-1]):
            return match.group(0)
        value = match.group(2)
        tail = value[len(value.rstrip(_TRAILING)) :] if keep_trailing else ""
        return f"{match.group(1)}***{tail}"

    return _QUERY_PARAM.sub(hide, text)


def redact_url(url: str) -> str:
    """``url`` without user-info and with secret-looking query values as ``***``."""
    return _hide_query(_USERINFO.sub(r"\1***@", url), keep_trailing=False)


# In messages, a password wherever it sits: "user:password@" before a host, however the URL
# around it is mistyped ("http:/user:pw@host", "//user:pw@host", "user:pw@host/feed").
_ANY_USERINFO = re.compile(r"(?i)(?<![\w.+-])([\w.+%-]+):[^\s/?#@'\"]+@(?=[\w[])")


# In messages, a secret's value ends before the punctuation that ends the URL in the sentence
# ("(…?token=***), …": a comma, a closing parenthesis), not at the next space; punctuation
# inside it (a JWT's dots, a list's commas) is still part of it. (Cut after the match: a
# lazy pattern would be quadratic on a hostile run of dots.)
_TRAILING = ".,:!?)]}"


def redact_text(text: str) -> str:
    """Every URL inside ``text`` redacted (error messages, log lines), and user-info in text
    that a mistyped URL left unrecognised."""
    text = _hide_query(_USERINFO.sub(r"\1***@", text), keep_trailing=True)
    return _ANY_USERINFO.sub(r"\1:***@", text)


class RedactingFilter(logging.Filter):
    """Every log line's message with its URLs redacted (:func:`redact_text`), whatever logged
    it: a line quoting a configured address (a private feed's token, a user's password) shows
    it as the listings do. The CLI puts it on its handlers."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
