"""Rendering rows for the terminal: table, JSON or CSV. Pure: returns text.

Feed-supplied text is hostile: tables drop terminal escape sequences (CSI, OSC such as
hyperlinks, any ESC sequence) and every control character *before* cutting a cell, so no half
sequence is left; CSV cells that would start a formula (``= + - @``, tab, CR) are prefixed with
``'`` (OWASP's CSV-injection rule); JSON escapes C1 controls as well as C0.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

# ESC ] … (BEL | ESC \)   OSC;   ESC [ … final byte   CSI;   ESC + one char   the rest;
# and the 8-bit C1 forms of OSC and CSI.
_ESCAPES = re.compile(
    r"(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|\x1b[\x20-\x7e]?"
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_C1 = re.compile(r"[\x7f-\x9f]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def clean(text: str) -> str:
    """``text`` without terminal escape sequences and control characters (tab and newline
    kept; a sequence's parameters, such as a hyperlink's target, go with it)."""
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


def matched_json(pairs: Any) -> list[dict[str, Any]]:
    """``matched`` in the one JSON shape every output uses (the webhook's):
    ``[{"feature": "coalition of the willing", "weight": 0.31}, …]``."""
    return [{"feature": str(f), "weight": w} for f, w in pairs or ()]


def score_text(score: float, threshold: float) -> str:
    """``score`` at 3 decimals, or with the digits it takes to fall on the side of
    ``threshold`` the score is on: 0.549732 beside a threshold of 0.55 reads 0.5497, not
    0.550 (a miss that would read as meeting it)."""
    meets = score >= threshold
    for digits in range(3, 10):
        text = f"{score:.{digits}f}"
        if (float(text) >= threshold) == meets:
            return text
    return repr(score)  # exact: on its side


def deliveries_json(text: str | None) -> list[dict[str, str]]:
    """A hit's ``channel:status`` deliveries (as the reports' query gives them) as a list."""
    out = []
    for part in (text or "").split():
        channel, _, status = part.partition(":")
        out.append({"channel": channel, "status": status})
    return out


def json_text(value: Any) -> str:
    """``value`` as indented JSON and a newline, with no raw control character: JSON escapes
    C0 controls; C1 controls (e.g. 0x9b, a CSI) can only occur inside strings: escaped too."""
    text = json.dumps(value, ensure_ascii=False, indent=2)
    return _C1.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"


def render(
    rows: Sequence[dict[str, Any]], fmt: str, columns: Sequence[str], *, whole: Sequence[str] = ()
) -> str:
    """``rows`` as JSON, CSV or a table of ``columns`` (cells cut to a width, but for the
    ``whole`` columns: an address to copy back into a command)."""
    if fmt == "json":
        return json_text(list(rows))
    if fmt == "csv":
        if not rows:  # nothing, rather than a header of another shape than the rows' one
            return ""
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _csv_cell(v) for k, v in row.items()})
        return out.getvalue()
    return table(rows, columns, whole=whole)


def _csv_cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"  # as JSON writes it, not Python's True
    if isinstance(value, list | dict):
        value = json.dumps(value)
    if not isinstance(value, str):
        return value  # numbers, None: no formula
    text = clean(value).replace("\n", " ")
    return "'" + text if text.startswith(_FORMULA_START) else text


def table(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    width: int = 60,
    *,
    whole: Sequence[str] = (),
) -> str:
    if not rows:
        return "(none)\n"
    cells = [[cell(row.get(c), 0 if c in whole else width) for c in columns] for row in rows]
    widths = [max(columns_of(c), *(columns_of(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = [
        "  ".join(_pad(c, w) for c, w in zip(columns, widths, strict=True)).rstrip(),
        "  ".join("-" * w for w in widths),
    ]
    lines += ["  ".join(_pad(v, w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines) + "\n"


def columns_of(text: str) -> int:
    """The terminal columns ``text`` takes: East Asian wide and fullwidth characters two,
    combining marks none, the rest one."""
    return sum(_char_columns(c) for c in text)


def _char_columns(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _pad(text: str, width: int) -> str:
    return text + " " * (width - columns_of(text))


def _cut(text: str, width: int) -> str:
    """``text`` cut to ``width`` columns with "…" where it is longer (0: whole)."""
    if not width or columns_of(text) <= width:
        return text
    kept: list[str] = []
    used = 0
    for char in text:
        used += _char_columns(char)
        if used > width - 1:  # room for "…"
            break
        kept.append(char)
    return "".join(kept) + "…"


def cell(value: Any, width: int) -> str:
    """``value`` as a table shows it: text on one line, cleaned, and cut to ``width``
    terminal columns (see :func:`columns_of`) with "…" where it is longer (0: whole)."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}"
    text = " ".join(clean(str(value)).split())  # clean first, then cut: no half sequence
    return _cut(text, width)
