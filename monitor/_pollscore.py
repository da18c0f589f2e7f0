"""A poll's scoring step: its entries judged by the feed's topics, its hits grouped into stories.

Every topic's tracker judges a poll's entries as one batch (judging changes no state; the
trackers learn only once the poll is stored, in ``_poll``), and each entry with a hit is
assigned to a story by the grouper, which decides whether it is the copy that alerts. No I/O
of its own: the trackers and the grouper are passed in by the poller.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol

from ._config import FeedConfig
from ._ids import item_ref, story_id
from ._models import Entry, Judgement, Tokens
from ._relevance import Tracker, tokenise
from ._storage import NewItem

__all__ = ["Grouper", "group", "judge", "trackers_for"]


class Grouper(Protocol):
    """What the poller needs of the story grouper (``StoryGrouper`` or a lazily primed one).

    ``assign_tokens`` learns as it assigns, so a poll takes a ``checkpoint`` first and
    ``rollback``s to it when its transaction fails: the grouper keeps only what was stored.
    """

    def assign_tokens(self, key: str, tokens: Tokens, when: datetime) -> tuple[str, bool]: ...

    def checkpoint(self) -> object: ...

    def rollback(self, checkpoint: object) -> None: ...

    def exclusive(self) -> AbstractContextManager[None]:
        """Held while a poll's hits are grouped and stored (other workers' hits known)."""
        ...


def trackers_for(trackers: Sequence[Tracker], feed: FeedConfig) -> Sequence[Tracker]:
    """The topics a feed's items are scored for (and teach): its own (``monitor feeds add
    --topic``) or every one."""
    if feed.topics is None:
        return trackers
    return [tracker for tracker in trackers if tracker.name in feed.topics]


def judge(
    trackers: Sequence[Tracker], entries: Sequence[Entry]
) -> tuple[list[Tokens], list[list[Judgement]], list[tuple[Entry, Tokens, tuple[Judgement, ...]]]]:
    """Entries judged by every tracker as one batch: (their tokens, each tracker's
    judgements, each entry with its tokens and its judgements). The parser workers tokenised
    the entries; the trackers keep only the stateful part."""
    tokens = [entry.tokens or tokenise(entry.title, entry.summary) for entry in entries]
    per_topic = [tracker.judge_batch(tokens) for tracker in trackers]
    judged = [(e, tokens[k], tuple(js[k] for js in per_topic)) for k, e in enumerate(entries)]
    return tokens, per_topic, judged


def group(
    grouper: Grouper,
    feed: FeedConfig,
    entry: Entry,
    tokens: Tokens,
    judgements: tuple[Judgement, ...],
    now: datetime,
) -> NewItem:
    """A judged entry ready to store; hits are grouped into stories (first copy alerts).
    The grouper knows items by feed and key (a key is unique only within its feed)."""
    if not any(j.hit for j in judgements):
        return NewItem(entry, judgements)
    ref = item_ref(feed.url, entry.key)
    first_ref, first = grouper.assign_tokens(ref, tokens, entry.published or now)
    return NewItem(
        entry,
        judgements,
        story_id=story_id(first_ref),
        alert=first or first_ref == ref,  # == : this very item, assigned before
    )
