"""The stream channel's evidence: what the tracker learns from the stream, bounded.

Two bounded pools of unit TF-IDF vectors (oldest leave first): items the tracker was confident
about (an item it was less sure of enters as a fraction of an item: its vector scaled by its
weight), and recent near misses (close to the seeds, not admitted). :meth:`Evidence.profile` is
Rocchio over them: the centroid of the pool (over features that ``support`` pool items share;
each item weighted by its age, halving every ``half_life`` seconds of stream time, so that
what the story says now outweighs what it said days ago) minus ``near_weight`` times the
centroid of the near misses, so that what the pool shares with the surrounding news (the
seeds' context) cancels and what sets the story apart stays; then no feature may carry more
than ``cap`` of the profile's length, so no single word steers it.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator, Sequence
from typing import Any

from monitor._relevance._channels import Vector
from monitor._relevance._params import Params

__all__ = ["Evidence", "near_vectors", "pool_entries", "saved_time"]

_NEAR_EVERY = 25  # near misses collected between refreshes of the stream profile

# A pool entry: (features, tf-idf vector, source, admission time in POSIX seconds or None)
Entry = tuple[Vector, Vector, str | None, float | None]


class Evidence:
    """The adaptation pool and the near-miss pool (with a running sum for its centroid)."""

    def __init__(
        self,
        *,
        pool_size: int,
        near_size: int,
        support: int,
        near_weight: float,
        cap: float,
        duplicate: float,
        half_life: float = 0.0,
    ) -> None:
        self.pool_size = pool_size
        self.near_size = near_size
        self.support = support
        self.near_weight = near_weight
        self.cap = cap
        self.duplicate = duplicate
        self.half_life = half_life  # seconds; 0: every pool item weighs the same
        # (features, tf-idf vector of length ``weight``, source, admission time), and each
        # one's weight
        self._pool: deque[Entry] = deque()
        self._weights: deque[float] = deque()
        self._near: deque[Vector] = deque()
        self._near_sum: Vector = {}
        self._near_stale = 0
        self.version = 0  # changes whenever the pool does

    def __len__(self) -> int:
        """Items in the adaptation pool."""
        return len(self._pool)

    def is_copy(self, u: Vector) -> bool:
        """True when ``u`` is a near-copy of a pool item (wire copies are one piece of
        evidence): their cosine reaches ``duplicate`` (a pool item's vector is as long as
        its weight; ``u`` may be a unit vector or a saved pool entry)."""
        bar = self.duplicate * _length(u)
        return any(
            _dot(v, u) >= bar * weight
            for (_, v, _, _), weight in zip(self._pool, self._weights, strict=True)
        )

    def admit(
        self,
        x: Vector,
        u: Vector,
        source: str | None = None,
        weight: float = 1.0,
        at: float | None = None,
    ) -> None:
        """Add an item (its features ``x`` and unit vector ``u``) to the pool as ``weight`` of
        an item, admitted at stream time ``at`` (POSIX seconds; ``None``: no clock, it never
        ages). No ``source`` (feed) holds more than a quarter of the pool: its oldest item
        leaves."""
        if weight != 1.0:
            u = {f: w * weight for f, w in u.items()}
        self._add((x, u, source, at), weight)

    def readmit(self, x: Vector, u: Vector, source: str | None, at: float | None = None) -> None:
        """Add an entry of a saved pool (:meth:`state`): its weight is its vector's length."""
        self._add((x, u, source, at), _length(u))

    def _add(self, entry: Entry, weight: float) -> None:
        self.version += 1
        source = entry[2]
        if source is not None:
            mine = [i for i, old in enumerate(self._pool) if old[2] == source]
            if len(mine) >= max(1, self.pool_size // 4):
                del self._pool[mine[0]]
                del self._weights[mine[0]]
        self._pool.append(entry)
        self._weights.append(weight)
        while len(self._pool) > self.pool_size:
            self._pool.popleft()
            self._weights.popleft()

    def add_near(self, u: Vector) -> bool:
        """Add a near miss; True when enough have come in for the profile to be refreshed."""
        self._near.append(u)
        near = self._near_sum
        for f, w in u.items():
            near[f] = near.get(f, 0.0) + w
        while len(self._near) > self.near_size:
            for f, w in self._near.popleft().items():
                left = near[f] - w
                if left > 1e-9:
                    near[f] = left
                else:
                    del near[f]
        self._near_stale += 1
        return self._near_stale >= _NEAR_EVERY and len(self._pool) >= 2

    def profile(self, vetoed: Sequence[Vector] = ()) -> Vector:
        """The stream channel's profile vector (empty while the pool has fewer than 2 items).

        ``vetoed`` are unit vectors of items judged irrelevant: pool items that are copies of
        one (the :meth:`is_copy` test) are left out, and the vetoed items count as near misses.
        The pools themselves are not changed, so a withdrawn judgement gives everything back.
        """
        self._near_stale = 0
        kept = [
            (v, at)
            for (_, v, _, at), weight in zip(self._pool, self._weights, strict=True)
            if not (vetoed and any(_dot(v, u) >= self.duplicate * weight for u in vetoed))
        ]
        size = len(kept)
        if size < 2:
            return {}
        ages = self._age_weights([at for _, at in kept])
        total: Vector = {}
        support: dict[str, int] = {}
        for (v, _), d in zip(kept, ages, strict=True):
            for f, w in v.items():
                total[f] = total.get(f, 0.0) + d * w
                support[f] = support.get(f, 0) + 1
        mass = math.fsum(ages)
        need = min(self.support, size)
        q = {f: s / mass for f, s in total.items() if support[f] >= need}
        near, count = self._near_sum, len(self._near) + len(vetoed)
        if vetoed:
            near = dict(near)
            for u in vetoed:
                for f, w in u.items():
                    near[f] = near.get(f, 0.0) + w
        if count and self.near_weight > 0:
            k = self.near_weight / count
            q = {f: w - k * near.get(f, 0.0) for f, w in q.items()}
            q = {f: w for f, w in q.items() if w > 0.0}
        if self.cap > 0 and q:
            cap = self.cap * math.sqrt(sum(w * w for w in q.values()))
            q = {f: min(w, cap) for f, w in q.items()}
        return q

    def recent(self, now: float | None) -> float:
        """How much recent evidence the pool holds at ``now`` (the tracker's clock, POSIX
        seconds): each item counts ``0.5 ** (age / half_life)``, an entry without a time as
        old as the oldest one; without a clock or a half-life, each counts 1. The stream
        channel's weight ramps up with it (a topic gone quiet leans on its seeds again)."""
        if now is None:
            return float(len(self._pool))
        return math.fsum(self._age_weights([at for _, _, _, at in self._pool], now))

    def _age_weights(self, times: Sequence[float | None], now: float | None = None) -> list[float]:
        """Each item's weight by its age at ``now`` (default: the newest admission, which then
        weighs 1), halving every ``half_life`` seconds. In the profile only the ratios matter
        (the centroid divides by their sum), so it does not change as the clock runs, only as
        items come and go. An entry without a time (saved before times were kept) counts as
        the oldest one; without a half-life or any time, every item weighs 1."""
        known = [at for at in times if at is not None]
        if self.half_life <= 0 or not known:
            return [1.0] * len(times)
        oldest = min(known)
        ref = max(known) if now is None else now
        return [
            0.5 ** (max(0.0, ref - (oldest if at is None else at)) / self.half_life) for at in times
        ]

    def state(self) -> dict[str, Any]:
        return {
            "pool": [[dict(x), dict(u), source, at] for x, u, source, at in self._pool],
            "near": [dict(u) for u in self._near],
        }

    def restore(self, pool: Any, near: Any) -> None:
        """Replace both pools with :meth:`state`'s ``pool`` and ``near`` (bad entries skipped)."""
        self.version += 1
        self._pool.clear()
        self._weights.clear()
        self._near.clear()
        self._near_sum = {}
        for u in near_vectors(near):
            self.add_near(u)
        for x, u, source, at in pool_entries(pool):
            self.readmit(x, u, source, at)

    @classmethod
    def for_params(cls, p: Params) -> Evidence:
        """Empty pools sized and weighted as the tracker's ``Params`` say."""
        return cls(
            pool_size=p.adapt_pool,
            near_size=p.near_pool,
            support=p.adapt_support,
            near_weight=p.near_weight,
            cap=p.adapt_cap,
            duplicate=p.adapt_dup,
            half_life=p.adapt_half_life * 3600.0,
        )


def _dot(v: Vector, u: Vector) -> float:
    """``v · u``: only the shared features count; fsum makes the sum independent of the
    set's order."""
    return math.fsum(v[f] * u[f] for f in u.keys() & v.keys())


def _length(u: Vector) -> float:
    """The length of ``u``; exactly 1 for a unit vector (rounding aside), so that a full
    item's copy test is the plain cosine test."""
    length = math.sqrt(math.fsum(w * w for w in u.values()))
    return 1.0 if abs(length - 1.0) < 1e-9 else length


def pool_entries(pool: Any) -> Iterator[Entry]:
    """A saved pool's valid entries (features, unit vector, source, admission time); bad ones
    skipped, a missing source or time is ``None`` (a state saved before times were kept)."""
    for entry in pool if isinstance(pool, list) else []:
        if (
            isinstance(entry, list)
            and 2 <= len(entry) <= 4
            and all(isinstance(v, dict) for v in entry[:2])
        ):
            x = {str(k): float(w) for k, w in entry[0].items()}
            u = {str(k): float(w) for k, w in entry[1].items()}
            source = entry[2] if len(entry) >= 3 and isinstance(entry[2], str) else None
            yield x, u, source, saved_time(entry[3] if len(entry) == 4 else None)


def saved_time(value: Any) -> float | None:
    """A time read back from a saved state (POSIX seconds), or ``None`` when it is not one."""
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def near_vectors(near: Any) -> Iterator[Vector]:
    """A saved near-miss pool's valid vectors; bad ones skipped."""
    for entry in near if isinstance(near, list) else []:
        if isinstance(entry, dict):
            yield {str(k): float(w) for k, w in entry.items()}
