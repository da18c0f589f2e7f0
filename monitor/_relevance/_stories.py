"""Near-duplicate story grouping for short texts (title + summary) across feeds.

Pure and topic-free: an item joins the story of the most similar earlier item seen within
``window_seconds`` when their similarity reaches ``threshold``; otherwise it starts a new
story whose id is its own key. Similarity is the larger of two cosines over stemmed words
weighted by IDF (counted over the items seen so far): full text (title words count twice),
and headline alone when the headlines share at least three words. Until about a hundred
items have been seen the threshold is raised, because IDF cannot yet tell common words from
rare ones. Grouping decides which hits are alerted, not what is relevant.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from datetime import datetime
from typing import Any

from monitor._models import Tokens
from monitor._relevance._counts import forget_rare
from monitor._relevance._text import tokenise

__all__ = ["DEFAULT_STORY_THRESHOLD", "StoryGrouper"]

DEFAULT_STORY_THRESHOLD = 0.38
_STATE_VERSION = 1
_TITLE_WEIGHT = 2.0
_IDF_PRIOR = 50.0
_DF_LIMIT = 200_000
_STOP = "\x00"
_HEAD_SHARED = 3
_WARM_ITEMS = 100.0
_COLD_MARGIN = 0.25


class _Seen:
    __slots__ = ("headline", "key", "order", "story", "vector", "when")

    def __init__(
        self,
        key: str,
        story: str,
        when: float,
        vector: dict[str, float],
        headline: dict[str, float],
    ) -> None:
        self.key = key
        self.story = story
        self.when = when
        self.order = 0  # arrival number, set when remembered
        self.vector = vector
        self.headline = headline


class StoryGrouper:
    """Assigns each item to a story: the key of the first item of its near-duplicate group."""

    def __init__(
        self, window_seconds: float = 3 * 86400, threshold: float = DEFAULT_STORY_THRESHOLD
    ) -> None:
        if window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        if not 0.0 < threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")
        self.window = float(window_seconds)
        self.threshold = float(threshold)
        self._n = 0
        self._df: dict[str, int] = {}
        self._recent: deque[_Seen] = deque()
        # feature -> (times, [(item, its weight, its headline weight)]), sorted by time
        self._postings: dict[str, tuple[list[float], list[tuple[_Seen, float, float]]]] = {}
        self._arrivals = 0
        self._stories: dict[str, str] = {}  # key -> story id, for keys already assigned
        self._dropped = 0

    # -- public --------------------------------------------------------------------------

    def assign(self, key: str, title: str, summary: str, when: datetime) -> tuple[str, bool]:
        """Return ``(story_id, is_first)`` for the item; the same key always gets the same
        story, reported as first only the first time."""
        if key in self._stories:
            return self._stories[key], False
        # words only: the grouper compares term vectors, and an embedding would load the model
        return self.assign_tokens(key, tokenise(title, summary, meaning=False), when)

    def assign_tokens(self, key: str, tokens: Tokens, when: datetime) -> tuple[str, bool]:
        """:meth:`assign` for an item already tokenised (same result)."""
        known = self._stories.get(key)
        if known is not None:
            return known, False
        ts = when.timestamp()
        self._forget_before(ts - self.window)
        counts = self._terms(tokens.title, tokens.summary)
        heads = {f: 1.0 for f in self._terms(tokens.title, ())}
        vector = self._vector(counts)
        headline = self._vector(heads)
        # Similarity = the larger of the full-text and the headline cosines: wire copies
        # rewrite summaries more than they rewrite what the headline is about.
        # Headlines count only when they share at least _HEAD_SHARED words (two short titles
        # sharing two words, "Trump" and "card", are not one story).
        # Each feature's postings are kept sorted by time, so only the items inside the window
        # are visited (feeds publish out of order and the window is short). The result is the
        # one of a scan in arrival order: ties go to the item met first in that order, i.e.
        # at the earliest feature of ``vector``, then the earliest to arrive.
        acc: dict[_Seen, float] = {}
        acc_head: dict[_Seen, float] = {}
        shared: dict[_Seen, int] = {}
        rank: dict[_Seen, tuple[int, int]] = {}
        window = self.window
        postings = self._postings
        for index, (f, w) in enumerate(vector.items()):
            posted = postings.get(f)
            if posted is None:
                continue
            times, entries = posted
            lo, hi = _inside(times, ts, window)
            if lo >= hi:
                continue
            hw = headline.get(f, 0.0)
            for seen, sw, sh in entries[lo:hi]:
                if seen in acc:
                    acc[seen] += w * sw
                else:
                    rank[seen] = (index, seen.order)
                    acc[seen] = 0.0 + w * sw
                if hw and sh:
                    acc_head[seen] = acc_head.get(seen, 0.0) + hw * sh
                    shared[seen] = shared.get(seen, 0) + 1
        best: _Seen | None = None
        best_sim = 0.0
        for seen, sim in acc.items():
            if shared.get(seen, 0) >= _HEAD_SHARED:
                sim = max(sim, acc_head[seen])
            if sim > best_sim or (sim == best_sim and best is not None and rank[seen] < rank[best]):
                best_sim, best = sim, seen
        if best is not None and best_sim >= self._threshold_now():
            story, first = best.story, False
        else:
            story, first = key, True
        self._learn(counts)
        self._remember(_Seen(key, story, ts, vector, headline))
        return story, first

    def adopt(self, key: str, title: str, summary: str, when: datetime, story: str) -> None:
        """Remember an item grouped elsewhere (another worker) under the ``story`` it was
        stored with, so that a later copy joins that story; a key already known is left as
        it is. Learns its words as :meth:`assign` does."""
        if key in self._stories:
            return
        tokens = tokenise(title, summary, meaning=False)
        ts = when.timestamp()
        self._forget_before(ts - self.window)
        counts = self._terms(tokens.title, tokens.summary)
        heads = {f: 1.0 for f in self._terms(tokens.title, ())}
        vector, headline = self._vector(counts), self._vector(heads)
        self._learn(counts)
        self._remember(_Seen(key, story, ts, vector, headline))

    def state(self) -> dict[str, Any]:
        """JSON-serialisable state: IDF counts and the items still inside the window."""
        return {
            "version": _STATE_VERSION,
            "n": self._n,
            "df": dict(self._df),
            "recent": [[s.key, s.story, s.when, s.vector, s.headline] for s in self._recent],
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state` output; an empty or unknown-version dict is ignored."""
        if not isinstance(state, dict) or state.get("version") != _STATE_VERSION:
            return
        n, df, recent = state.get("n"), state.get("df"), state.get("recent")
        if not (isinstance(n, int) and isinstance(df, dict) and isinstance(recent, list)):
            return
        self._n = n
        self._df = {str(k): int(v) for k, v in df.items() if isinstance(v, int | float)}
        self._recent.clear()
        self._postings = {}
        self._stories = {}
        for row in recent:
            if not (isinstance(row, list) and len(row) == 5):
                continue
            key, story, when, vector, headline = row
            if not (isinstance(vector, dict) and isinstance(headline, dict)):
                continue
            seen = _Seen(
                str(key),
                str(story),
                float(when),
                {str(f): float(w) for f, w in vector.items()},
                {str(f): float(w) for f, w in headline.items()},
            )
            self._remember(seen)

    # -- internals -----------------------------------------------------------------------

    def _remember(self, seen: _Seen) -> None:
        self._recent.append(seen)
        self._arrivals += 1
        seen.order = self._arrivals
        postings = self._postings
        headline = seen.headline
        when = seen.when
        for f, w in seen.vector.items():
            posted = postings.get(f)
            if posted is None:
                postings[f] = ([when], [(seen, w, headline.get(f, 0.0))])
                continue
            times, entries = posted
            at = bisect.bisect_right(times, when)  # after equal times: arrival order
            times.insert(at, when)
            entries.insert(at, (seen, w, headline.get(f, 0.0)))
        self._stories[seen.key] = seen.story

    def _threshold_now(self) -> float:
        """Stricter while IDF is still uninformed: with few items seen, common words
        ("Ukraine", "European") weigh like rare ones and inflate similarities."""
        cold = max(0.0, 1.0 - self._n / _WARM_ITEMS)
        return min(1.0, self.threshold + _COLD_MARGIN * cold)

    def _terms(self, title: tuple[str, ...], summary: tuple[str, ...]) -> dict[str, float]:
        counts: dict[str, float] = {}
        for seq, weight in ((summary, 1.0), (title, _TITLE_WEIGHT)):
            for tok in seq:
                if tok[0] != _STOP:
                    counts[tok] = max(counts.get(tok, 0.0), weight)
        return counts

    def _vector(self, counts: dict[str, float]) -> dict[str, float]:
        top = self._n + _IDF_PRIOR
        df = self._df
        v = {f: w * math.log(top / (df.get(f, 0) + 1.0)) for f, w in counts.items()}
        norm = math.sqrt(sum(w * w for w in v.values()))
        return {f: w / norm for f, w in v.items()} if norm else {}

    def _learn(self, counts: dict[str, float]) -> None:
        df = self._df
        for f in counts:
            df[f] = df.get(f, 0) + 1
        self._n += 1
        if len(df) > _DF_LIMIT:
            self._df = forget_rare(df, _DF_LIMIT)

    def _forget_before(self, cutoff: float) -> None:
        recent = self._recent
        while recent and recent[0].when < cutoff:
            old = recent.popleft()
            if self._stories.get(old.key) == old.story:
                del self._stories[old.key]
            self._dropped += 1
        # Postings skip items outside the window anyway; compact them now and then.
        if self._dropped > 100 + len(recent) // 4:
            keep = set(recent)
            postings: dict[str, tuple[list[float], list[tuple[_Seen, float, float]]]] = {}
            for f, (_, entries) in self._postings.items():
                kept = [posting for posting in entries if posting[0] in keep]
                if kept:
                    postings[f] = ([posting[0].when for posting in kept], kept)
            self._postings = postings
            self._dropped = 0


def _inside(times: list[float], ts: float, window: float) -> tuple[int, int]:
    """The slice of the sorted ``times`` with ``|t - ts| <= window`` (as computed in floating
    point, which is monotonic in ``t``, so the slice is contiguous)."""
    lo = bisect.bisect_left(times, ts - window)
    while lo > 0 and abs(times[lo - 1] - ts) <= window:
        lo -= 1
    n = len(times)
    while lo < n and times[lo] < ts and abs(times[lo] - ts) > window:
        lo += 1
    hi = bisect.bisect_right(times, ts + window, lo)
    while hi < n and abs(times[hi] - ts) <= window:
        hi += 1
    while hi > lo and times[hi - 1] > ts and abs(times[hi - 1] - ts) > window:
        hi -= 1
    return lo, hi
