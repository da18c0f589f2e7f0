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

from monitor._relevance._text import sequence

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
        self._postings: dict[str, list[_Seen]] = {}
        self._stories: dict[str, str] = {}  # key -> story id, for keys already assigned
        self._dropped = 0

    # -- public --------------------------------------------------------------------------

    def assign(self, key: str, title: str, summary: str, when: datetime) -> tuple[str, bool]:
        """Return ``(story_id, is_first)`` for the item; the same key always gets the same
        story, reported as first only the first time."""
        known = self._stories.get(key)
        if known is not None:
            return known, False
        ts = when.timestamp()
        self._forget_before(ts - self.window)
        counts = self._terms(title, summary)
        heads = {f: 1.0 for f in self._terms(title, "")}
        vector = self._vector(counts)
        headline = self._vector(heads)
        # Similarity = the larger of the full-text and the headline cosines: wire copies
        # rewrite summaries more than they rewrite what the headline is about.
        # Headlines count only when they share at least _HEAD_SHARED words (two short titles
        # sharing two words, "Trump" and "card", are not one story).
        acc: dict[int, float] = {}
        acc_head: dict[int, float] = {}
        shared: dict[int, int] = {}
        found: dict[int, _Seen] = {}
        for f, w in vector.items():
            hw = headline.get(f, 0.0)
            for seen in self._postings.get(f, ()):
                if abs(seen.when - ts) > self.window:
                    continue
                ident = id(seen)
                acc[ident] = acc.get(ident, 0.0) + w * seen.vector[f]
                if hw:
                    other = seen.headline.get(f, 0.0)
                    if other:
                        acc_head[ident] = acc_head.get(ident, 0.0) + hw * other
                        shared[ident] = shared.get(ident, 0) + 1
                found[ident] = seen
        best: _Seen | None = None
        best_sim = 0.0
        for ident, sim in acc.items():
            if shared.get(ident, 0) >= _HEAD_SHARED:
                sim = max(sim, acc_head[ident])
            if sim > best_sim:
                best_sim, best = sim, found[ident]
        if best is not None and best_sim >= self._threshold_now():
            story, first = best.story, False
        else:
            story, first = key, True
        self._learn(counts)
        seen = _Seen(key, story, ts, vector, headline)
        self._recent.append(seen)
        for f in vector:
            self._postings.setdefault(f, []).append(seen)
        self._stories[key] = story
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
            self._recent.append(seen)
            for f in seen.vector:
                self._postings.setdefault(f, []).append(seen)
            self._stories[seen.key] = seen.story

    # -- internals -----------------------------------------------------------------------

    def _threshold_now(self) -> float:
        """Stricter while IDF is still uninformed: with few items seen, common words
        ("Ukraine", "European") weigh like rare ones and inflate similarities."""
        cold = max(0.0, 1.0 - self._n / _WARM_ITEMS)
        return min(1.0, self.threshold + _COLD_MARGIN * cold)

    def _terms(self, title: str, summary: str) -> dict[str, float]:
        counts: dict[str, float] = {}
        for text, weight in ((summary, 1.0), (title, _TITLE_WEIGHT)):
            for tok in sequence(text):
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
            keep = {id(s) for s in recent}
            self._postings = {
                f: kept
                for f, items in self._postings.items()
                if (kept := [s for s in items if id(s) in keep])
            }
            self._dropped = 0
