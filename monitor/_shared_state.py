"""The trackers' learned state, shared by every worker of one database.

Each save reads the stored state of every topic, merges this process's learning since its
last load or save into it (:func:`~monitor._relevance._merge.merge_states`) and writes the
result, in one transaction with the rows locked (``update_topic_states``); a tracker whose
topic another worker saved in between then takes the merged state, so every worker judges
with every worker's statistics from its next save on. A revision number in the state tells
whether anyone else saved: when nobody did, the save writes exactly what the tracker holds
and the tracker is left alone (one process scores as it always did).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ._relevance import Tracker
from ._relevance._merge import merge_states
from ._storage import Store
from ._times import iso

log = logging.getLogger(__name__)

REVISION = "revision"  # the state's key: how many saves the stored state has been through
# ... and when the topic was first judged (the start of the process that first saved it;
# absent for topics saved before this was kept): `monitor explain` tells an item stored
# before it from one the topic judged
SINCE = "since"

State = dict[str, Any]


def save_shared(
    storage: Store,
    trackers: Sequence[Tracker],
    bases: dict[str, State],
    now: datetime,
    *,
    shared: bool = True,
    started: datetime | None = None,
) -> list[str]:
    """Save every tracker's state merged with the others' (see the module); ``bases`` holds
    each topic's state as this process last loaded or wrote it, and is updated. Returns the
    topics whose tracker took other workers' learning.

    Without ``shared`` (SQLite: one daemon per database, under its lock) ``bases`` keeps only
    the revision, not a second copy of every state (up to tens of MB at the tracker's limits),
    and a state saved by another process meanwhile is replaced, as before workers existed."""
    by_name = {t.name: t for t in trackers}
    mine = {t.name: t.state() for t in trackers}
    merged: dict[str, State] = {}

    def update(topic: str, stored: State | None) -> State:
        base = bases.get(topic)
        state = mine[topic]
        # a new topic is judged from this process's start; an old one keeps what it has
        since = iso(started or now) if stored is None else stored.get(SINCE)
        kept = {REVISION: _revision(stored) + 1, **({SINCE: since} if since else {})}
        # another process saved since this one loaded (a state from before revisions were
        # kept counts as revision 0 on both sides)
        if stored is not None and (base is None or _revision(stored) != _revision(base)):
            if base is not None and "n" not in base:  # a slim base: nothing to merge against
                log.warning("topic=%s: another process saved its state; replaced", topic)
                return {**state, **kept}
            plain = {k: v for k, v in stored.items() if k not in (REVISION, SINCE)}
            state = merge_states(plain, _plain(base), state, by_name[topic].params)
            if state is not mine[topic]:  # else nothing to take (e.g. saved under other seeds)
                merged[topic] = state
        return {**state, **kept}

    # One process per database merges nothing: the stored revision is all it compares.
    only = None if shared else (REVISION, SINCE)
    written = storage.update_topic_states(list(mine), update, now, only=only)
    bases.update(written if shared else {t: slim(s) for t, s in written.items()})
    for topic, state in merged.items():
        by_name[topic].restore(state)
        log.info("topic=%s took the other workers' learning (%d items seen)", topic, state["n"])
    return sorted(merged)


def slim(state: State) -> State:
    """What a base needs when nobody else saves: the revision alone."""
    return {REVISION: _revision(state)}


def _revision(state: State | None) -> int:
    revision = (state or {}).get(REVISION)
    return revision if isinstance(revision, int) else 0


def _plain(state: State | None) -> State | None:
    """A stored state without its revision (the tracker's own keys only)."""
    if state is None:
        return None
    return {k: v for k, v in state.items() if k not in (REVISION, SINCE)}
