"""Facets of a topic: its headline terms, grouped by how the stream uses them together.

A topic's seeds can join two things that the news also tells apart: four items on the
United States' trade war with Canada all say "Canada", "Trump" and "tariff", but the stream
has many more items on Trump's tariffs against everyone else than on Canada. The seed
channel scores an item on the words it shares with the seeds, so a tariff story without
Canada scores nearly as well as one with it.

A *headline term* is a core term of the seed profile (used by the share of seeds the profile
counts as core: ``min_share``, all of them under three seeds) that a seed's first line (its
headline) names. The tracker counts, over the items it observes, how many name each
headline term and each pair of them (:class:`Cooccurrence`). At each refresh of the seed
channel the terms are grouped by average linkage over the similarity n(a, b) / min(n(a),
n(b)), 0 until the rarer term has ``facet_least`` items, merging while the best pair's mean
similarity exceeds ``facet_merge`` (:func:`facet_index`): terms the stream uses together
(Trump, tariff) become one *facet*, a term it uses apart (Canada) another. A facet is
*required* when every seed's headline names it; with two or more required facets an item's
seed-channel score is scaled by the share of them it covers (each weighed by the seed
profile's weight on its terms), raised to ``facet_power``. A topic with one required facet
(most: a place, a person, one event) is not changed. docs/relevance.md ("Facets") has the
figures.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "HEAD_LIMIT",
    "Cooccurrence",
    "facet_index",
    "feature_facets",
    "head_terms",
    "merge_cooccurrence",
    "required_facets",
]

# Headline terms counted at most (the heaviest in the seed profile): the counts are then at
# most HEAD_LIMIT terms and HEAD_LIMIT * (HEAD_LIMIT - 1) / 2 = 780 pairs, whatever the seeds.
# The benchmark's topics have 2 to 14.
HEAD_LIMIT = 40


def head_terms(heads: Sequence[Collection[str]], weights: Mapping[str, float]) -> list[str]:
    """The headline terms (sorted): the core terms the ``heads`` name, the ``HEAD_LIMIT``
    heaviest by ``weights`` (the seed profile's)."""
    named = {t for head in heads for t in head}
    ranked = sorted(named, key=lambda t: (-weights.get(t, 0.0), t))
    return sorted(ranked[:HEAD_LIMIT])


def facet_index(
    terms: Sequence[str],
    single: Mapping[str, int],
    pair: Mapping[tuple[str, str], int],
    merge: float,
    least: int,
) -> dict[str, int]:
    """Term -> facet number: average-linkage clusters of ``terms`` over the similarity
    n(a, b) / min(n(a), n(b)) of the stream's counts (``single``; ``pair`` keyed by the two
    terms in sorted order), 0 while the rarer term has fewer than ``least`` items, merged while
    the best pair of clusters' mean similarity exceeds ``merge``. Facets are numbered in the
    order of their first term; every term gets one."""
    n = len(terms)
    sim = [[0.0] * n for _ in range(n)]
    for i in range(n):
        a = terms[i]
        for j in range(i + 1, n):
            b = terms[j]
            lo = min(single.get(a, 0), single.get(b, 0))
            key = (a, b) if a < b else (b, a)
            s = pair.get(key, 0) / lo if lo >= least and lo > 0 else 0.0
            sim[i][j] = sim[j][i] = s
    clusters: dict[int, list[int]] = {i: [i] for i in range(n)}
    while len(clusters) > 1:
        best, chosen = merge, None
        keys = list(clusters)
        for x, i in enumerate(keys):
            row = sim[i]
            for j in keys[x + 1 :]:
                if row[j] > best:
                    best, chosen = row[j], (i, j)
        if chosen is None:
            break
        i, j = chosen
        ni, nj = len(clusters[i]), len(clusters[j])
        for k in clusters:
            if k not in (i, j):
                v = (ni * sim[i][k] + nj * sim[j][k]) / (ni + nj)
                sim[i][k] = sim[k][i] = v
        clusters[i] += clusters.pop(j)
    out: dict[str, int] = {}
    for number, members in enumerate(sorted(clusters.values(), key=min)):
        for m in members:
            out[terms[m]] = number
    return out


def required_facets(index: Mapping[str, int], heads: Sequence[Collection[str]]) -> list[int]:
    """The facets every headline names (none without headlines)."""
    if not heads:
        return []
    named = [{index[t] for t in head if t in index} for head in heads]
    return sorted(set.intersection(*named))


def feature_facets(index: Mapping[str, int], features: Iterable[str]) -> dict[str, tuple[int, ...]]:
    """Each feature's facets: a term's own, a phrase's words' (features with none left out)."""
    out: dict[str, tuple[int, ...]] = {}
    for f in features:
        ids = sorted({index[w] for w in f.split(" ") if w in index})
        if ids:
            out[f] = tuple(ids)
    return out


class Cooccurrence:
    """How many observed items name each headline term, and each pair of them (the pair keyed
    by its two terms in sorted order). Bounded: ``HEAD_LIMIT`` terms."""

    __slots__ = ("heads", "pairs", "terms")

    def __init__(self, heads: Sequence[str]) -> None:
        self.heads = sorted(heads)
        self.terms: Counter[str] = Counter()
        self.pairs: Counter[tuple[str, str]] = Counter()

    def add(self, x: Collection[str]) -> None:
        """Count one item's features ``x``."""
        present = [t for t in self.heads if t in x]
        if not present:
            return
        self.terms.update(present)
        pairs = self.pairs
        for i, a in enumerate(present):
            for b in present[i + 1 :]:
                pairs[a, b] += 1

    def facets(self, merge: float, least: int) -> dict[str, int]:
        """The headline terms' facets over the counts so far (:func:`facet_index`)."""
        return facet_index(self.heads, self.terms, self.pairs, merge, least)

    def state(self) -> dict[str, Any]:
        """``{"terms": {term: n}, "pairs": [[a, b, n], ...]}`` (JSON)."""
        return {
            "terms": dict(self.terms),
            "pairs": [[a, b, c] for (a, b), c in self.pairs.items()],
        }

    def restore(self, saved: Any) -> None:
        """Load :meth:`state` output, keeping the current headline terms' counts only
        (anything malformed is left out)."""
        self.terms, self.pairs = Counter(), Counter()
        terms, pairs = _counts(saved, set(self.heads))
        self.terms.update(terms)
        self.pairs.update(pairs)


def _counts(
    saved: Any, heads: Collection[str] | None = None
) -> tuple[dict[str, int], dict[tuple[str, str], int]]:
    """The term and pair counts of a saved :meth:`Cooccurrence.state` (of ``heads`` only,
    if given); empty for anything else."""
    terms: dict[str, int] = {}
    pairs: dict[tuple[str, str], int] = {}
    if not isinstance(saved, dict):
        return terms, pairs
    raw_terms, raw_pairs = saved.get("terms"), saved.get("pairs")
    if isinstance(raw_terms, dict):
        for t, c in raw_terms.items():
            if isinstance(c, int) and c > 0 and (heads is None or t in heads):
                terms[str(t)] = c
    if isinstance(raw_pairs, list):
        for entry in raw_pairs:
            if not (isinstance(entry, list) and len(entry) == 3):
                continue
            a, b, c = entry
            if not (isinstance(a, str) and isinstance(b, str) and isinstance(c, int) and c > 0):
                continue
            if heads is None or (a in heads and b in heads):
                pairs[(a, b) if a < b else (b, a)] = c
    return terms, pairs


def merge_cooccurrence(stored: Any, base: Any, mine: Any) -> dict[str, Any]:
    """What ``stored`` counts plus what ``mine`` counted since ``base`` (a count's delta is
    never negative), as :meth:`Cooccurrence.state` writes it."""
    terms, pairs = _counts(stored)
    base_terms, base_pairs = _counts(base)
    mine_terms, mine_pairs = _counts(mine)
    for t, c in mine_terms.items():
        delta = c - base_terms.get(t, 0)
        if delta > 0:
            terms[t] = terms.get(t, 0) + delta
    for key, c in mine_pairs.items():
        delta = c - base_pairs.get(key, 0)
        if delta > 0:
            pairs[key] = pairs.get(key, 0) + delta
    return {"terms": terms, "pairs": [[a, b, c] for (a, b), c in pairs.items()]}
