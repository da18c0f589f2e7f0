"""The story grouper kept in step with other workers' hits (``_grouping``, ``adopt``), on real
SQLite files: two stores on one file stand for two workers (PostgreSQL's own test with two
running workers is ``test_pg_stories``)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from monitor._config import FeedConfig
from monitor._grouping import PrimedGrouper
from monitor._ids import item_ref, story_id
from monitor._models import Entry, Judgement
from monitor._relevance import StoryGrouper, tokenise
from monitor._storage import NewItem, Storage
from tests.test_relevance import T0, WIRE_COPIES, _warm_grouper
from tests.test_storage_contract import store

FEEDS = [FeedConfig(f"http://127.0.0.1:1/{n}.xml", n, 600) for n in ("one", "two")]
HIT = Judgement("t", 0.9, True, ())


def test_an_adopted_item_keeps_the_story_it_was_stored_under() -> None:
    grouper = _warm_grouper(StoryGrouper())
    grouper.adopt("elsewhere", *WIRE_COPIES[0], T0, "story_0123456789abcdef")
    story, first = grouper.assign("here", *WIRE_COPIES[1], T0 + timedelta(hours=1))
    assert (story, first) == ("story_0123456789abcdef", False)
    assert story_id(story) == story  # a story id is not hashed again
    grouper.adopt("here", *WIRE_COPIES[1], T0, "story_other")  # known: left as it is
    assert grouper.assign("here", *WIRE_COPIES[1], T0) == ("story_0123456789abcdef", False)


WINDOW = 86400 * 2000.0  # the stored hits are dated 2025


def test_a_worker_catches_up_with_the_hits_another_stored(tmp_path: Path) -> None:
    stores = [Storage(tmp_path / "m.db") for _ in range(2)]
    stores[0].sync_feeds(FEEDS)
    try:
        shared = PrimedGrouper(WINDOW, stores[1], shared=True)
        alone = PrimedGrouper(WINDOW, stores[1], shared=False)  # one process: never looks
        for grouper in (shared, alone):
            with grouper.exclusive():  # primed before the other worker stores anything
                grouper.checkpoint()
        sid = story_id(item_ref(FEEDS[0].url, "id:a"))
        item = Entry("id:a", *WIRE_COPIES[0], "http://x/a", T0, "fp-a")
        store(stores[0], [NewItem(item, (HIT,), story_id=sid)], feed=FEEDS[0])
        copy = tokenise(*WIRE_COPIES[1], meaning=False)
        ref = item_ref(FEEDS[1].url, "id:b")
        with shared.exclusive():  # the other's hit adopted, under its story
            story, first = shared.assign_tokens(ref, copy, T0)
        assert (story_id(story), first) == (sid, False)
        with alone.exclusive():
            assert alone.assign_tokens(ref, copy, T0) == (ref, True)
    finally:
        for s in stores:
            s.close()
