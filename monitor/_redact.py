"""Credentials out of URLs before they are shown, logged, sent or stored for display. Pure.

A URL's user-info (``user:password@``) and the values of query parameters that usually carry
a secret (``token``, ``key``, ``api_key``, ``secret``, ``password``, ``sig``, …) become
``***``. The configured URL itself is kept where it is needed to make the request (the
config, the feed's row in the 0600 database).
"""

from __future__ import annotations

import re

_SECRET_NAMES = (
    r"(?:access_?token|auth(?:_?token)?|token|api_?key|apikey|key|secret|client_secret|"
    r"password|passwd|pass|pwd|sig|signature|session|sid|code)"
)
# any scheme: a mistyped "htp://user:pw@…" is quoted by the error that refuses it
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s@'\"]*@")
_QUERY_SECRET = re.compile(rf"(?i)([?&;]{_SECRET_NAMES}=)([^&#;\s'\"]*)")


def redact_url(url: str) -> str:
    """``url`` without user-info and with secret-looking query values as ``***``."""
    return _QUERY_SECRET.sub(r"\1***", _USERINFO.sub(r"\1***@", url))


# In messages, a password wherever it sits: "user:password@" before a host, however the URL
# around it is mistyped ("http:/user:pw@host", "//user:pw@host", "user:pw@host/feed").
_ANY_USERINFO = re.compile(r"(?i)(?<![\w.+-])([\w.+%-]+):[^\s/?#@'\"]+@(?=[\w[])")


# In messages, a secret's value ends before the punctuation that ends the URL in the sentence
# ("(…?token=***), …": a comma, a closing parenthesis), not at the next space; punctuation
# inside it (a JWT's dots, a list's commas) is still part of it. (Cut after the match: a
# lazy pattern would be quadratic on a hostile run of dots.)
_TRAILING = ".,:!?)]}"


def _hide_value(match: re.Match[str]) -> str:
    value = match.group(2)
    return f"{match.group(1)}***{value[len(value.rstrip(_TRAILING)) :]}"


def redact_text(text: str) -> str:
    """Every URL inside ``text`` redacted (error messages, log lines), and user-info in text
    that a mistyped URL left unrecognised."""
    text = _QUERY_SECRET.sub(_hide_value, _USERINFO.sub(r"\1***@", text))
    return _ANY_USERINFO.sub(r"\1:***@", text)
