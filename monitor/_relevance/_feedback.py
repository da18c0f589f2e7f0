"""Explicit judgements (``monitor feedback``): what they do to a topic's profile and scores.

The judged items move the seed profile by bounded Rocchio, and each decides the score of its
near-duplicates (the nearest judged item wins); the items judged irrelevant are also taken out
of what the adaptation learnt (``Evidence.profile``'s ``vetoed``). Vectors are the tracker's
feature vectors; ``unit`` is its current IDF-weighted normalisation, passed in because IDF
keeps learning.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from monitor._relevance._channels import Vector

__all__ = ["Feedback"]

Unit = Callable[[Vector], Vector]


class Feedback:
    __slots__ = ("_items", "_postings")

    def __init__(self) -> None:
        self._items: list[tuple[Vector, bool]] = []
        self._postings: dict[str, list[tuple[int, float]]] = {}

    def __bool__(self) -> bool:
        return bool(self._items)

    def set(self, items: Sequence[tuple[Vector, bool]], unigrams: Unit) -> None:
        """Replace the judged set; ``unigrams`` is the unit vector over single stems (what
        near-duplicates are recognised by)."""
        self._items = list(items)
        postings: dict[str, list[tuple[int, float]]] = {}
        for i, (x, _) in enumerate(self._items):
            for f, w in unigrams(x).items():
                postings.setdefault(f, []).append((i, w))
        self._postings = postings

    def move(self, q: Vector, unit: Unit, weight: float) -> None:
        """Bounded Rocchio on the profile ``q`` (in place): the whole set moves it by ``weight``
        at most, and no feature loses more than half its weight."""
        for f, w in _mean([unit(x) for x, relevant in self._items if relevant]).items():
            q[f] = q.get(f, 0.0) + weight * w
        for f, w in _mean([unit(x) for x, relevant in self._items if not relevant]).items():
            if f in q:
                q[f] = max(0.5 * q[f], q[f] - weight * w)

    def irrelevant(self) -> list[Vector]:
        """The feature vectors of the items judged irrelevant."""
        return [x for x, relevant in self._items if not relevant]

    def verdict(self, u: Vector, near: float) -> bool | None:
        """The judgement of the judged item nearest to ``u`` (a unigram unit vector) when its
        cosine is at least ``near``; None otherwise."""
        acc: dict[int, float] = {}
        postings = self._postings
        for f, w in u.items():
            for i, fw in postings.get(f, ()):
                acc[i] = acc.get(i, 0.0) + w * fw
        if not acc:
            return None
        best = max(acc, key=acc.__getitem__)
        return self._items[best][1] if acc[best] >= near else None


def _mean(vectors: Sequence[Vector]) -> Vector:
    out: Vector = {}
    for v in vectors:
        for f, w in v.items():
            out[f] = out.get(f, 0.0) + w
    k = len(vectors)
    return {f: w / k for f, w in out.items()} if k else out
