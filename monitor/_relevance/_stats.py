"""Incremental document frequencies from the (unlabelled) stream, for IDF."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

__all__ = ["StreamStats"]


class StreamStats:
    """Counts how many observed items contain each feature; ``idf`` is smoothed for a cold start.

    ``idf(f) = ln((N + prior) / (df + 1))`` with ``prior`` pseudo-documents in which no feature
    occurs, so the very first items see all features as equally (and moderately) rare.
    Counts are capped in number of distinct features (rare ones are pruned) to bound memory.
    """

    __slots__ = ("df", "limit", "n", "prior")

    def __init__(self, *, prior: float = 20.0, limit: int = 300_000) -> None:
        self.n = 0
        self.df: dict[str, int] = {}
        self.prior = prior
        self.limit = limit

    def add(self, features: Iterable[str]) -> None:
        df = self.df
        for f in features:
            df[f] = df.get(f, 0) + 1
        self.n += 1
        if len(df) > self.limit:
            self._prune()

    def idf(self, feature: str) -> float:
        return math.log((self.n + self.prior) / (self.df.get(feature, 0) + 1.0))

    def _prune(self) -> None:
        # Forget the features seen once: they carry no reliable frequency information.
        self.df = {f: c for f, c in self.df.items() if c > 1}

    def state(self) -> dict[str, Any]:
        return {"n": self.n, "df": dict(self.df)}

    def restore(self, state: dict[str, Any]) -> None:
        n = state.get("n")
        df = state.get("df")
        if isinstance(n, int) and isinstance(df, dict):
            self.n = n
            self.df = {str(k): int(v) for k, v in df.items() if isinstance(v, int)}
