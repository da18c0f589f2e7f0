"""Months unattended: the document-frequency tables that IDF rests on stay bounded, and once
one reaches its limit it is cut back far enough that the next item does not cut it again.

Before, a table over its limit kept every feature seen twice or more; after a few months of a
busy install that is more than the limit itself, and every item observed from then on rebuilt
the whole table (400,000 entries, per topic, per item).
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from monitor._relevance import Params, StoryGrouper, Tracker
from monitor._relevance._merge import merge_states
from monitor._relevance._persist import DF_LIMIT
from monitor._relevance._stories import _DF_LIMIT as STORY_DF_LIMIT
from tests.test_relevance import BACKGROUND, T0, _seeds


def crowded(limit: int) -> Counter[str]:
    """A table one feature over ``limit``, every feature seen twice, and three common ones."""
    table = Counter({f"rare{i}": 2 for i in range(limit - 2)})
    table.update({"common": 900, "usual": 700, "frequent": 500})
    return table


def test_a_tracker_over_its_limit_keeps_the_common_half_and_room_to_grow() -> None:
    tracker = Tracker("t", _seeds())
    tracker._df = crowded(DF_LIMIT)
    tracker._n = 1_000_000
    title, summary = BACKGROUND[0]
    tracker.observe(title, summary, tracker.judge(title, summary))
    table = tracker._df
    assert len(table) <= DF_LIMIT // 2
    assert (table["common"], table["usual"], table["frequent"]) == (900, 700, 500)
    for i, (title, summary) in enumerate(BACKGROUND[1:]):
        title = f"{title} {i}"
        tracker.observe(title, summary, tracker.judge(title, summary))
    assert tracker._df is table  # not rebuilt by the items after the cut


def test_the_merge_cuts_a_table_over_the_limit_as_the_tracker_does() -> None:
    base = Tracker("t", _seeds()).state()
    other = dict(base, n=base["n"] + 3, df={**base["df"], "common": 3})  # another worker saved
    mine = dict(base, n=base["n"] + 5, df=dict(crowded(DF_LIMIT)))
    merged = merge_states(other, base, mine, Params())
    assert len(merged["df"]) <= DF_LIMIT // 2
    assert merged["df"]["common"] == 903


def test_the_story_grouper_over_its_limit_keeps_the_common_half() -> None:
    grouper = StoryGrouper()
    grouper._df = dict(crowded(STORY_DF_LIMIT))
    grouper.assign("first", *BACKGROUND[0], T0)
    table = grouper._df
    assert len(table) <= STORY_DF_LIMIT // 2 and table["common"] == 900
    for i, (title, summary) in enumerate(BACKGROUND[1:]):
        grouper.assign(f"k{i}", title, summary, T0 + timedelta(minutes=i))
    assert grouper._df is table
