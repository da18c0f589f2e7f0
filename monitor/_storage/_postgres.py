"""The PostgreSQL backend: :class:`PostgresStorage`, assembled like :class:`Storage` from one
mixin per concern over one psycopg connection (``_pg_*``).

What it has: the versioned schema, feeds and their state, polls stored in one transaction,
the outbox claimed with ``FOR UPDATE SKIP LOCKED``, feeds claimed with leases (``_pg_claims``,
the claim loop of ``monitor run``'s workers), the CLI's hits / feeds / deliveries
reports, the Atom feed of hits and full-text search (``_pg_search``), retention, digests,
feeds managed from the CLI, the trackers' state and reading feedback. What the CLI does
not have on PostgreSQL yet (Datasette metadata) it refuses with :class:`UnsupportedError`.
"""

from __future__ import annotations

from ._feed_events import FeedEventsMixin
from ._managed_shared import SharedManagedFeedsMixin
from ._pace import PaceMixin
from ._pg_base import PostgresBase
from ._pg_claims import PgClaimsMixin
from ._pg_digests import PgDigestsMixin
from ._pg_feeds import PgFeedsMixin
from ._pg_notify import PgNotifyMixin
from ._pg_outbox import PgOutboxMixin
from ._pg_queries import PgQueriesMixin
from ._pg_search import PgSearchMixin
from ._pg_stories import PgStoriesMixin
from ._protocol import Store
from ._retention import RetentionMixin


class PostgresStorage(
    PgFeedsMixin,
    PgClaimsMixin,
    PgOutboxMixin,
    PgNotifyMixin,
    PgQueriesMixin,
    PgSearchMixin,
    PaceMixin,
    FeedEventsMixin,
    PgStoriesMixin,
    RetentionMixin,
    SharedManagedFeedsMixin,
    PgDigestsMixin,
    PostgresBase,
):
    """The database at ``dsn`` (a ``postgresql://`` URL), its schema created or migrated."""

    def set_paused(self, url: str, paused: bool) -> None:
        """As on SQLite (a feed paused there comes over with ``migrate-db``); a resumed feed
        is due at once for whichever worker claims first."""
        with self._write() as conn:
            if paused:
                conn.execute("UPDATE feeds SET paused = 1 WHERE url = %s", (url,))
                return
            conn.execute(
                "UPDATE feeds SET paused = 0, fetch_url = url, error_count = 0, "
                "retry_until = NULL, etag = NULL, last_modified = NULL, body_hash = NULL, "
                "next_poll = now(), last_error = CASE WHEN last_status IN ('gone', 'error') "
                "THEN NULL ELSE last_error END, last_status = CASE WHEN last_status IN "
                "('gone', 'error') THEN NULL ELSE last_status END WHERE url = %s",
                (url,),
            )


def _is_a_store(storage: PostgresStorage) -> Store:
    return storage  # mypy checks here that the PostgreSQL backend satisfies the interface
