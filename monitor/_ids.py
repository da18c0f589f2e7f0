"""Identities derived from keys: pure (no I/O), shared by the poller and ``classify``."""

from __future__ import annotations

import hashlib


def item_ref(feed_url: str, key: str) -> str:
    """One item's identity across feeds, as the story grouper knows it: an item key (a GUID,
    a link) is only unique within its feed. Two feeds listing the same GUID are grouped by
    their text (the same text is one story), never by the key alone (a reused GUID with
    another story is another story)."""
    return f"{feed_url} {key}"


STORY_PREFIX = "story_"


def story_id(first_key: str) -> str:
    """The id of a story: derived from the key of its first item. A story id passes through
    unchanged (the grouper knows a story grouped by another worker by its stored id; an item
    key, ``feed_url key``, never starts with the prefix)."""
    if first_key.startswith(STORY_PREFIX):
        return first_key
    return STORY_PREFIX + hashlib.sha256(first_key.encode()).hexdigest()[:16]
