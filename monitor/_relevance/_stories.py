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

import math
from collections import deque
from datetime import datetime
from typing import Any

from monitor._models import Tokens
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
    __slots__ = ("headline", "key", "story", "vector", "when")

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
        # feature -> [(item, its weight, its headline weight, its time)], oldest first
        self._postings: dict[str, list[tuple[_Seen, float, float, float]]] = {}
        self._stories: dict[str, str] = {}  # key -> story id, for keys already assigned
        self._posted_min = math.inf  # the earliest and latest times of the posted items
        self._posted_max = -math.inf
        self._dropped = 0

    # -- public --------------------------------------------------------------------------

    def assign(self, key: str, title: str, summary: str, when: datetime) -> tuple[str, bool]:
        """Return ``(story_id, is_first)`` for the item; the same key always gets the same
        story, reported as first only the first time."""
        if key in self._stories:
            return self._stories[key], False
        return self.assign_tokens(key, tokenise(title, summary), when)

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
        # Postings hold (item, its weight of the feature, its headline weight, its time): this
        # loop is the grouper's whole cost, so it touches no attribute and no other dict.
        acc: dict[_Seen, float] = {}
        acc_head: dict[_Seen, float] = {}
        shared: dict[_Seen, int] = {}
        window = self.window
        postings = self._postings
        get = acc.get
        # When every posted item is inside the window (the usual case), skip the per-posting
        # check: |when - ts| is monotonic in ``when``, so the extremes decide for all.
        check = not (abs(self._posted_min - ts) <= window and abs(self._posted_max - ts) <= window)
        for f, w in vector.items():
            posted = postings.get(f)
            if not posted:
                continue
            hw = headline.get(f, 0.0)
            if check or hw:
                for seen, sw, sh, moment in posted:
                    if check and abs(moment - ts) > window:
                        continue
                    acc[seen] = get(seen, 0.0) + w * sw
                    if hw and sh:
                        acc_head[seen] = acc_head.get(seen, 0.0) + hw * sh
                        shared[seen] = shared.get(seen, 0) + 1
            else:
                for seen, sw, _, _ in posted:
                    acc[seen] = get(seen, 0.0) + w * sw
        best: _Seen | None = None
        best_sim = 0.0
        for seen, sim in acc.items():
            if shared.get(seen, 0) >= _HEAD_SHARED:
                sim = max(sim, acc_head[seen])
            if sim > best_sim:
                best_sim, best = sim, seen
        if best is not None and best_sim >= self._threshold_now():
            story, first = best.story, False
        else:
            story, first = key, True
        self._learn(counts)
        self._remember(_Seen(key, story, ts, vector, headline))
        return story, first

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
        self._posted_min, self._posted_max = math.inf, -math.inf
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
        postings = self._postings
        headline = seen.headline
        for f, w in seen.vector.items():
            posting = (seen, w, headline.get(f, 0.0), seen.when)
            posted = postings.get(f)
            if posted is None:
                postings[f] = [posting]
            else:
                posted.append(posting)
        self._stories[seen.key] = seen.story
        self._posted_min = min(self._posted_min, seen.when)
        self._posted_max = max(self._posted_max, seen.when)

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
            self._df = {f: c for f, c in df.items() if c > 1}

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
            self._postings = {
                f: kept
                for f, items in self._postings.items()
                if (kept := [posting for posting in items if posting[0] in keep])
            }
            self._posted_min = min((s.when for s in recent), default=math.inf)
            self._posted_max = max((s.when for s in recent), default=-math.inf)
            self._dropped = 0
