"""Rendering rows for the terminal: table, JSON or CSV. Pure: returns text."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any


def render(rows: Sequence[dict[str, Any]], fmt: str, columns: Sequence[str]) -> str:
    if fmt == "json":
        return json.dumps(list(rows), ensure_ascii=False, indent=2) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(
            out, fieldnames=list(rows[0]) if rows else list(columns), extrasaction="ignore"
        )
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {k: json.dumps(v) if isinstance(v, list | dict) else v for k, v in row.items()}
            )
        return out.getvalue()
    return table(rows, columns)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str], width: int = 60) -> str:
    if not rows:
        return "(none)\n"
    cells = [[_cell(row.get(c), width) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip(),
        "  ".join("-" * w for w in widths),
    ]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines) + "\n"


def _cell(value: Any, width: int) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    text = " ".join(str(value).split())
    return text if len(text) <= width else text[: width - 1] + "…"
