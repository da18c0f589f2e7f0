"""SQLite storage: the only package that talks to the database.

WAL journal, ``BEGIN IMMEDIATE`` for every write, a busy timeout. A poll's items, hits and
outbox rows are written with the feed's new state in ONE transaction, so nothing is marked
seen that was not stored, and no hit exists without its queued alerts. sqlite3 errors are
translated into :class:`StorageError` here, once (``_base``).

One :class:`Storage` object, assembled from one mixin per concern over a shared connection
(lemon24/reader's layout): ``_feeds`` (feeds, polls, retention, tracker state), ``_outbox``
(deliveries), ``_queries`` (the CLI's reports and explicit feedback), ``_search`` (full-text
search), ``_managed`` (feeds added from the CLI / OPML), ``_views`` (reads through the
``hit_details`` view), ``_digests`` (email digests), ``_stories`` (the hits stored since the
story grouper last looked); ``_rows`` holds the values handed out and their row readers.

:class:`Store` is the interface both backends satisfy; ``_postgres`` (with its ``_pg_*``
mixins) is the PostgreSQL one, imported only when configured (psycopg is an optional extra).
:func:`open_store` opens the configured one.
"""

from __future__ import annotations

from .._models import FeedState
from ._base import BUSY_TIMEOUT_MS
from ._digests import DigestsMixin
from ._feed_events import FeedEventsMixin
from ._feeds import FeedsMixin
from ._managed import ManagedFeedsMixin
from ._managed_shared import SharedManagedFeedsMixin
from ._noclaims import NoClaimsMixin
from ._open import (
    check_database_folder,
    open_existing,
    open_store,
    stored_feedback,
    unsupported,
    uses_postgres,
)
from ._outbox import OutboxMixin
from ._pace import PaceMixin
from ._protocol import Store
from ._queries import QueriesMixin, read_feedback
from ._retention import RetentionMixin, loads_expired_hits
from ._rows import Delivery, NewItem, hit_id
from ._search import SearchMixin
from ._stories import StoriesMixin
from ._views import Gauges, ViewsMixin, read_delivery_latency, read_ops_counts

__all__ = [
    "BUSY_TIMEOUT_MS",
    "Delivery",
    "FeedState",
    "Gauges",
    "NewItem",
    "Storage",
    "Store",
    "check_database_folder",
    "hit_id",
    "loads_expired_hits",
    "open_existing",
    "open_store",
    "read_delivery_latency",
    "read_feedback",
    "read_ops_counts",
    "stored_feedback",
    "unsupported",
    "uses_postgres",
]


class Storage(
    FeedsMixin,
    RetentionMixin,
    OutboxMixin,
    QueriesMixin,
    SearchMixin,
    ManagedFeedsMixin,
    SharedManagedFeedsMixin,
    ViewsMixin,
    DigestsMixin,
    PaceMixin,
    FeedEventsMixin,
    StoriesMixin,
    NoClaimsMixin,
):
    """The database at ``path`` (created 0600 with the current schema, or migrated)."""


def _is_a_store(storage: Storage) -> Store:
    return storage  # mypy checks here that the SQLite backend satisfies the interface
