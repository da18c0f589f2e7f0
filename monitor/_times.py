"""UTC timestamps as stored in the database: ISO 8601 with milliseconds and a ``Z``.

They sort as text, so ``WHERE detected_at >= ?`` works in SQLite, Datasette and the CLI alike.
"""

from __future__ import annotations

from datetime import UTC, datetime

EPOCH = datetime.min.replace(tzinfo=UTC)  # how an undated entry sorts: oldest


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
