"""What differs between the two backends' SQL, for the queries written once for both
(``_reports``, ``_pace``): the placeholder, how a timestamp is passed, and a few fragments.
``_read`` returns the same rows from both (PostgreSQL's timestamps come back as the ISO text
SQLite stores); ``_execute`` runs one statement in a transaction of its own; inside a
``_write`` transaction, ``_rows`` reads and ``_run`` writes, and ``_serialise(key)`` makes
concurrent transactions on one key take turns (PostgreSQL's advisory lock; SQLite has one
writer already).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .._times import iso


@dataclass(frozen=True, slots=True)
class Dialect:
    p: str  # the parameter placeholder
    native_times: bool  # timestamps passed as datetimes (else as ISO text)
    arrays: bool  # a list of values can be one parameter (else one placeholder each)
    true: str  # a condition that always holds
    channels: str  # one hit's deliveries as "channel:status …", ordered by channel
    hit_order: str  # the insertion order of hits (the tie-break of equal detection times)
    bytewise: str  # the collation that orders text by its bytes (after a column)
    integer: str  # a cast of a text parameter to the id's type (after a placeholder)
    next_poll_set: str  # a feed's next poll was decided (SQLite: set; PostgreSQL: not epoch)
    removed_by: str  # the worker that marked a feed removed (PostgreSQL's column; SQLite: none)
    claimed_by: str  # the worker whose claim holds an outbox row (PostgreSQL's column)
    unclaim: str  # an outbox row's outcome ends its claim (PostgreSQL; SQLite has none)

    def time(self, moment: datetime | None) -> Any:
        return moment if self.native_times else iso(moment)

    def among(self, column: str, values: Sequence[str]) -> tuple[str, list[Any]]:
        """``column`` is one of ``values``: the condition and its parameters."""
        if self.arrays:
            return f"{column} = ANY({self.p})", [list(values)]
        return f"{column} IN ({', '.join([self.p] * len(values))})", list(values)


SQLITE = Dialect(
    p="?",
    native_times=False,
    arrays=False,
    true="1",
    # SQLite's group_concat takes no ORDER BY before 3.44: order the rows it reads instead.
    channels="(SELECT group_concat(c, ' ') FROM (SELECT d.channel || ':' || d.status AS c "
    "FROM deliveries d WHERE d.hit_id = h.id ORDER BY d.channel))",
    hit_order="h.rowid",
    bytewise="",  # BINARY, SQLite's default
    integer="",
    next_poll_set="next_poll IS NOT NULL",
    removed_by="NULL",
    claimed_by="NULL",
    unclaim="",
)
POSTGRES = Dialect(
    p="%s",
    native_times=True,
    arrays=True,
    true="true",
    channels="(SELECT string_agg(d.channel || ':' || d.status, ' ' ORDER BY d.channel) "
    "FROM deliveries d WHERE d.hit_id = h.id)",
    hit_order="h.seq",
    bytewise=' COLLATE "C"',
    integer="::bigint",
    next_poll_set="next_poll > 'epoch'",  # the NOT NULL column's default (schema 2)
    removed_by="removed_by",  # schema 10
    claimed_by="d.claimed_by",  # schema 10
    unclaim=", claimed_by = NULL",
)


class SqlMixin:
    """A mixin whose SQL is written once: the backend's base provides ``dialect``,
    ``_read`` and ``_execute``."""

    dialect: Dialect

    if TYPE_CHECKING:  # the backend's base has them

        @property
        def where(self) -> str: ...

        def _read(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]: ...

        def _execute(self, sql: str, params: Sequence[Any] = ()) -> int: ...

        def _write(self) -> AbstractContextManager[Any]: ...

        def _rows(
            self, conn: Any, sql: str, params: Sequence[Any] = ()
        ) -> list[dict[str, Any]]: ...

        def _run(self, conn: Any, sql: str, params: Sequence[Any] = ()) -> int: ...

        def _serialise(self, conn: Any, key: str) -> None: ...

        def _run_many(self, conn: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

        def _insert_id(self, conn: Any, sql: str, params: Sequence[Any]) -> int | None: ...

        def _check_lease(self, lease: tuple[str, datetime] | None) -> None: ...

        def _release_lease(
            self, conn: Any, feed_id: int, lease: tuple[str, datetime] | None
        ) -> None: ...

        def _outbox_changed(self, conn: Any) -> None: ...
