"""The story grouper of a running monitor: primed from the database, and on PostgreSQL kept
in step with the other workers' hits.

Several workers (``monitor run`` on PostgreSQL) each hold a grouper. Before one groups a
poll's hits it takes the story lock (``Store.story_lock``) and adopts the hits the others
stored since it last looked, under the stories they were stored with; it groups and stores
the poll holding the lock. So whether a hit opens a new story (and alerts) is decided with
every earlier hit known, whichever worker stored it: two copies of one story polled by two
workers at once alert once. One SQLite process has nothing to catch up with.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime, timedelta

from ._ids import item_ref
from ._models import Tokens
from ._relevance import StoryGrouper
from ._storage import Store
from ._times import parse_iso, utcnow


def build_grouper(window: float, storage: Store | None = None) -> StoryGrouper:
    """A story grouper, primed with the hits of the last window so a restart forgets nothing."""
    grouper = StoryGrouper(window_seconds=window)
    if storage is not None:
        since = utcnow() - timedelta(seconds=window)
        for row in storage.recent_hit_items(since):
            moment = parse_iso(row["moment"]) or since
            key = item_ref(row["feed_url"], row["key"])
            grouper.assign(key, row["title"], row["summary"], moment)
    return grouper


class PrimedGrouper:
    """The story grouper of a running monitor, primed from the database on its first use: a
    cycle that stores no hit (every feed 304 or unchanged) never replays the window.
    ``shared``: other workers store hits in the same database (PostgreSQL)."""

    def __init__(self, window: float, storage: Store, *, shared: bool = False) -> None:
        self._window = window
        self._storage = storage
        self._shared = shared
        self._grouper: StoryGrouper | None = None
        self._after = 0  # the last item id looked at: later hits are the others' news

    def assign_tokens(self, key: str, tokens: Tokens, when: datetime) -> tuple[str, bool]:
        return self._primed().assign_tokens(key, tokens, when)

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Group and store one poll's hits: with other workers, holding the story lock and
        after adopting the hits they stored since the last look."""
        if not self._shared:
            yield
            return
        with self._storage.story_lock():
            self._catch_up()
            yield

    def checkpoint(self) -> object:
        """What the grouper knows now (its state), to go back to if a poll's write fails.
        (Until the grouper can assign without learning, a copy of its window.)"""
        return self._primed().state()

    def rollback(self, checkpoint: object) -> None:
        assert isinstance(checkpoint, dict)
        self._primed().restore(checkpoint)

    def _primed(self) -> StoryGrouper:
        if self._grouper is None:
            if self._shared:  # first the watermark: a hit stored meanwhile is read twice
                self._after = self._storage.last_item_id()
            self._grouper = build_grouper(self._window, self._storage)
        return self._grouper

    def _catch_up(self) -> None:
        grouper = self._primed()
        since = utcnow() - timedelta(seconds=self._window)
        for row in self._storage.hit_items_after(self._after, since):
            moment = parse_iso(row["moment"]) or since
            key = item_ref(row["feed_url"], row["key"])
            grouper.adopt(key, row["title"], row["summary"], moment, row["story_id"])
            self._after = max(self._after, int(row["item_id"]))
