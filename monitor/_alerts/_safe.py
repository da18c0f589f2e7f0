"""Text hygiene for everything an alert puts on the wire.

Feed titles and summaries are attacker-controlled. Before they reach an email header, an email
body or a webhook payload they are cut to a sane length and stripped of control characters, and
header values are additionally brought to a fixed point under RFC 2047 decoding, which closes
CVE-2024-6923 (header injection through newlines or encoded words) on Python versions whose
``email`` generator does not yet refuse such values.
"""

from __future__ import annotations

import hashlib
import re
from email import policy

ELLIPSIS = "…"

# Lengths (in characters) to which alert fields are cut, in the email and the webhook alike.
SUBJECT_LIMIT = 200
TITLE_LIMIT = 300
SUMMARY_LIMIT = 2000
LINK_LIMIT = 2000
FIELD_LIMIT = 300
MATCHED_LIMIT = 50  # matched features listed at most

# C0 and C1 controls (CR, LF, VT, FF, NEL, ...), DEL, and the Unicode line/paragraph separators.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# The same minus LF and TAB, for multi-line text bodies.
_CONTROLS_BUT_NEWLINE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_PARAGRAPH_BREAK = re.compile(r"[\u2028\u2029]|\r\n?")
_MANY_NEWLINES = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
_TOKEN = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")
_TOKEN_MAX = 128
_HEADER_FACTORY = policy.SMTP.header_factory


def _valid_unicode(text: str) -> str:
    """Replace lone surrogates, which cannot be encoded as UTF-8, by ``?``."""
    return text.encode("utf-8", "replace").decode("utf-8")


def clip(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` characters, marking a cut with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + ELLIPSIS


def one_line(text: str, limit: int) -> str:
    """A single line: controls and line separators become spaces, runs of blanks collapse."""
    text = _valid_unicode(text[: limit * 4 + 16])  # bound the work on a hostile 1 MB title
    text = " ".join(_CONTROLS.sub(" ", text).split())
    return clip(text, limit)


def text_block(text: str, limit: int) -> str:
    """Multi-line text: newlines kept (normalised to LF), other controls become spaces."""
    text = _valid_unicode(text[: limit * 4 + 16])
    text = _PARAGRAPH_BREAK.sub("\n", text)
    text = _CONTROLS_BUT_NEWLINE.sub(" ", text)
    text = _MANY_NEWLINES.sub("\n\n", text)
    return clip(text.strip(), limit)


def header_text(text: str, limit: int) -> str:
    """A value that is safe to assign to an unstructured email header (e.g. Subject).

    ``email`` decodes RFC 2047 encoded words when a header is set, so
    ``=?utf-8?q?a=0d=0aBcc:_x?=`` would turn into a line break *after* any naive filtering.
    The value is therefore decoded and cleaned until it no longer changes; the result reads the
    same before and after the library parses it, and contains no control characters.
    """
    text = one_line(text, limit)
    for _ in range(4):
        decoded = one_line(str(_HEADER_FACTORY("subject", text)), limit)
        if decoded == text:
            return text
        text = decoded
    return text.replace("=?", "= ?")  # nested encoded words: stop them being words at all


def token(value: str) -> str:
    """``value`` if it is a safe id for a header (``webhook-id``, Message-ID), else a digest.

    The digest is stable, so a repeated delivery of the same alert still carries the same id.
    """
    if len(value) <= _TOKEN_MAX and _TOKEN.fullmatch(value):
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    return f"h{digest[:40]}"


def has_control(text: str) -> bool:
    """True if ``text`` holds a character that must never appear in a header value."""
    return _CONTROLS.search(text) is not None
