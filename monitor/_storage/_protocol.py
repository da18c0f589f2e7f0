"""The storage interface: what the poller, the deliverer, the runtime and the CLI use.

Two backends satisfy it: :class:`Storage` (SQLite, the embedded default) and
:class:`~._postgres.PostgresStorage`. A feature a backend does not have yet raises
:class:`~monitor._errors.UnsupportedError` naming the feature and the backend.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, Protocol

from .._config import FeedConfig
from .._feedset import FeedRow
from .._models import Entry, FeedState
from ._rows import Delivery, NewItem, TopicUpdate


class Store(Protocol):
    @property
    def where(self) -> str:
        """The database, as messages name it (a file path, a URL without its password)."""

    def close(self) -> None: ...

    def check_file(self) -> None: ...

    # -- feeds and polls (the daemon) ------------------------------------------------------

    def sync_feeds(
        self, feeds: Iterable[FeedConfig], *, remove: bool = True, by: str | None = None
    ) -> list[str]: ...

    def feed_states(self) -> dict[str, FeedState]: ...

    def feed_state(self, url: str) -> FeedState: ...

    def record_failure(
        self,
        feed: FeedState,
        now: datetime,
        message: str,
        *,
        retry_until: datetime | None,
        gone: bool = False,
        lease: tuple[str, datetime] | None = None,
    ) -> None: ...

    def record_not_modified(
        self,
        feed: FeedState,
        now: datetime,
        *,
        fetch_url: str | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        lease: tuple[str, datetime] | None = None,
    ) -> None: ...

    def clamp_waits(self, now: datetime) -> int: ...

    # -- adaptive polling (``_pace``) --------------------------------------------------------

    def entry_frequency(self, feed: FeedState, since: datetime) -> int | None: ...

    def record_next_poll(self, feed: FeedState, next_poll: datetime) -> None: ...

    def next_polls(self) -> dict[str, datetime]: ...

    # -- feed health changes and their alerts (``_feed_events``) ------------------------------

    def health_states(self) -> dict[str, str]: ...

    def record_health(
        self,
        feed_url: str,
        feed: str,
        state: str,
        *,
        title: str,
        detail: str,
        now: datetime,
        channels: Sequence[str],
    ) -> str | None: ...

    def due_health_deliveries(
        self, now: datetime, channels: Sequence[str], limit: int = 100
    ) -> list[Delivery]: ...

    def next_health_attempt(self, channels: Sequence[str]) -> datetime | None: ...

    def record_health_delivery(
        self,
        delivery_id: int,
        now: datetime,
        *,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> None: ...

    def health_events(self, limit: int = 100) -> list[dict[str, Any]]: ...

    def known_entries(
        self, feed: FeedState, entries: Sequence[Entry]
    ) -> tuple[dict[str, tuple[str, str]], set[str]]: ...

    def republished(self, feed: FeedState, fingerprints: Sequence[str]) -> set[str]: ...

    def reused_keys(
        self, feed: FeedState, keys: Sequence[str], limit: int
    ) -> dict[str, list[tuple[str, str, str]]]: ...

    def expired_keys(self, feed: FeedState, entries: Sequence[Entry]) -> set[str]: ...

    def store_poll(
        self,
        feed: FeedState,
        now: datetime,
        *,
        title: str | None,
        fetch_url: str,
        etag: str | None,
        last_modified: str | None,
        body_hash: str | None,
        warning: str | None,
        items: Sequence[NewItem],
        edited: Sequence[NewItem],
        channels: Sequence[str],
        routes: Mapping[str, Sequence[str]] | None = None,
        lease: tuple[str, datetime] | None = None,
    ) -> list[str]: ...

    # -- feeds claimed by several workers (PostgreSQL; SQLite has one process) ---------------
    # ``lease`` above: ``(owner, next_poll)`` of a claimed feed, released in the same
    # transaction as the poll's outcome.

    def claim_feeds(
        self, owner: str, now: datetime, *, limit: int = 50, lease: timedelta | None = None
    ) -> list[FeedState]: ...

    def release_feed(self, feed: FeedState, owner: str, next_poll: datetime) -> bool: ...

    def check_in(
        self, owner: str, config: str, now: datetime, *, fresh: timedelta
    ) -> list[tuple[str, str]]: ...

    def check_out(self, owner: str) -> None: ...

    def set_worker(self, owner: str) -> None: ...

    def live_workers(self, now: datetime, *, fresh: timedelta) -> list[tuple[str, str]]: ...

    def expire(
        self,
        *,
        items_before: datetime | None,
        hits_before: datetime | None = None,
        limit: int = 5000,
        keep_latest: int = 3,
    ) -> tuple[int, int]: ...

    def topic_state(self, topic: str) -> dict[str, Any] | None: ...

    def save_topic_states(self, states: dict[str, dict[str, Any]], now: datetime) -> None: ...

    def update_topic_states(
        self,
        topics: Sequence[str],
        update: TopicUpdate,
        now: datetime,
        *,
        only: Sequence[str] | None = None,
    ) -> dict[str, dict[str, Any]]: ...

    def recent_hit_items(self, since: datetime) -> list[dict[str, Any]]: ...

    # -- story grouping across workers (``_stories``, ``_pg_stories``) ------------------------

    def story_lock(self) -> AbstractContextManager[None]: ...

    def last_item_id(self) -> int: ...

    def hit_items_after(self, item_id: int, since: datetime) -> list[dict[str, Any]]: ...

    # -- the outbox ------------------------------------------------------------------------

    def due_deliveries(
        self, now: datetime, channels: Sequence[str], limit: int = 100
    ) -> list[Delivery]: ...

    def next_attempt(self, channels: Sequence[str]) -> datetime | None: ...

    def clamp_delivery_waits(self, now: datetime) -> int: ...

    def record_delivery(
        self,
        delivery_id: int,
        now: datetime,
        *,
        error: str | None = None,
        retry_at: datetime | None = None,
        remaining: Sequence[str] | None = None,
    ) -> None: ...

    def disable_channel(self, channel: str, target: str, now: datetime, reason: str) -> None: ...

    def enable_changed_channels(self, targets: Mapping[str, str]) -> None: ...

    def disabled_channels(self) -> dict[str, str]: ...

    def pending_channels(self) -> dict[str, int]: ...

    def requeue(self, ident: str, now: datetime) -> int: ...

    async def listen_outbox(self, wake: Callable[[], None]) -> None:
        """Call ``wake`` whenever another process makes outbox rows due (a worker's poll, ``monitor
        redeliver``), until cancelled; raise StorageError when the database goes away. SQLite
        returns at once: the deliverer's polling of the outbox covers other processes."""

    # -- reports and feedback (the CLI) ----------------------------------------------------

    def hits(
        self, *, since: datetime | None = None, topic: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]: ...

    def last_success(self) -> datetime | None: ...

    def feeds_report(self, *, removed: bool = False) -> list[dict[str, Any]]: ...

    def deliveries_report(self, status: str | None = None) -> list[dict[str, Any]]: ...

    def feed_rhythms(self, window: timedelta) -> dict[str, tuple[int, str | None, str | None]]: ...

    def find_item(self, ident: str) -> dict[str, Any] | None: ...

    def add_feedback(
        self, topic: str, item: dict[str, Any], relevant: bool, now: datetime
    ) -> int: ...

    def feedback(self, topic: str | None = None) -> list[dict[str, Any]]: ...

    def remove_feedback(self, ident: str, topic: str | None = None) -> int: ...

    def item_hits(self, item_id: int) -> list[dict[str, Any]]: ...

    def story_alert(self, story_id: str, topic: str) -> str | None: ...

    def stored_topics(self) -> list[str]: ...

    def recent_items(self, limit: int) -> list[dict[str, Any]]: ...

    # -- managed feeds, search, the hits' view, digests ------------------------------------

    def feed_rows(self) -> list[FeedRow]: ...

    def add_feeds(self, feeds: Sequence[FeedRow], now: datetime) -> None: ...

    def remove_feed(self, url: str) -> bool: ...

    def set_paused(self, url: str, paused: bool) -> None: ...

    def search(
        self,
        query: str,
        *,
        topic: str | None = None,
        hits_only: bool = False,
        limit: int | None = 50,
    ) -> list[dict[str, Any]]: ...

    def hit_entries(
        self, *, topic: str | None = None, since: datetime | None = None, limit: int = 50
    ) -> list[dict[str, Any]]: ...

    def digest_lock(self) -> AbstractContextManager[bool]: ...

    def mark_digest(
        self, delivery_ids: Sequence[int], ident: str, until: datetime | None = None
    ) -> None: ...

    def tried_digest(self, channel: str) -> tuple[str, datetime | None, int] | None: ...

    def digest_deliveries(
        self, channel: str, ident: str | None, now: datetime, *, limit: int | None
    ) -> list[Delivery]: ...

    def last_digest(self) -> datetime | None: ...

    def oldest_pending(self, channel: str) -> datetime | None: ...

    def record_digest(self, ident: str, delivery_ids: Sequence[int], now: datetime) -> None: ...
