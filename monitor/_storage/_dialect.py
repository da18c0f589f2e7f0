"""What differs between the two backends' SQL, for the queries written once for both
(``_reports``, ``_pace``): the placeholder, how a timestamp is passed, and a few fragments.
``_read`` returns the same rows from both (PostgreSQL's timestamps come back as the ISO text
SQLite stores); ``_execute`` runs one statement in a transaction of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .._times import iso


@dataclass(frozen=True, slots=True)
class Dialect:
    p: str  # the parameter placeholder
    native_times: bool  # timestamps passed as datetimes (else as ISO text)
    true: str  # a condition that always holds
    channels: str  # one hit's deliveries as "channel:status …", ordered by channel
    hit_order: str  # the insertion order of hits (the tie-break of equal detection times)
    bytewise: str  # the collation that orders text by its bytes (after a column)
    integer: str  # a cast of a text parameter to the id's type (after a placeholder)
    next_poll_set: str  # a feed's next poll was decided (SQLite: set; PostgreSQL: not epoch)

    def time(self, moment: datetime) -> Any:
        return moment if self.native_times else iso(moment)


SQLITE = Dialect(
    p="?",
    native_times=False,
    true="1",
    # SQLite's group_concat takes no ORDER BY before 3.44: order the rows it reads instead.
    channels="(SELECT group_concat(c, ' ') FROM (SELECT d.channel || ':' || d.status AS c "
    "FROM deliveries d WHERE d.hit_id = h.id ORDER BY d.channel))",
    hit_order="h.rowid",
    bytewise="",  # BINARY, SQLite's default
    integer="",
    next_poll_set="next_poll IS NOT NULL",
)
POSTGRES = Dialect(
    p="%s",
    native_times=True,
    true="true",
    channels="(SELECT string_agg(d.channel || ':' || d.status, ' ' ORDER BY d.channel) "
    "FROM deliveries d WHERE d.hit_id = h.id)",
    hit_order="h.seq",
    bytewise=' COLLATE "C"',
    integer="::bigint",
    next_poll_set="next_poll > 'epoch'",  # the NOT NULL column's default (schema 2)
)


class SqlMixin:
    """A mixin whose SQL is written once: the backend's base provides ``dialect``,
    ``_read`` and ``_execute``."""

    dialect: Dialect

    if TYPE_CHECKING:  # the backend's base has them

        def _read(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]: ...

        def _execute(self, sql: str, params: Sequence[Any] = ()) -> int: ...
