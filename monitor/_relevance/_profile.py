"""The topic profile learnt from seed articles: core terms and recurring phrases.

A term's weight grows with the share of seeds that contain it, raised to a power, so that what
the seeds *share* (the story's core) dominates and what one seed mentions in passing (the
surrounding news) hardly counts. Phrases are word n-grams (stopwords allowed inside, not at the
ends) that recur across seeds; they are found automatically, never typed in.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from monitor._relevance._text import BREAK, Analysis, is_stop

__all__ = [
    "PHRASE_MAX",
    "PHRASE_MIN",
    "Profile",
    "build_profile",
    "phrase_key",
    "phrases_in",
    "seed_terms",
]

PHRASE_MIN = 2
PHRASE_MAX = 4
_MAX_STOPS_IN_PHRASE = 2


def phrase_key(gram: Sequence[str]) -> str:
    """The feature key of a phrase: its sequence tokens joined by spaces."""
    return " ".join(gram)


def phrases_in(seq: Sequence[str], lengths: Sequence[int] = (2, 3, 4)) -> set[tuple[str, ...]]:
    """Every candidate phrase in ``seq``: n-grams that neither start nor end with a stopword
    and do not span a ``BREAK``."""
    out: set[tuple[str, ...]] = set()
    size = len(seq)
    for i in range(size):
        if is_stop(seq[i]):
            continue
        for n in lengths:
            j = i + n
            if j > size or is_stop(seq[j - 1]):
                continue
            gram = tuple(seq[i:j])
            if BREAK not in gram and sum(map(is_stop, gram)) <= _MAX_STOPS_IN_PHRASE:
                out.add(gram)
    return out


@dataclass(frozen=True, slots=True)
class Profile:
    """Seed-derived weights (before stream IDF): ``terms`` stems and ``phrases`` n-grams."""

    terms: dict[str, float]
    phrases: dict[tuple[str, ...], float]
    seeds: int


def build_profile(
    seeds: Sequence[Analysis],
    *,
    core_power: float = 2.0,
    phrase_share: float = 0.5,
    user_phrases: Sequence[Analysis] = (),
) -> Profile:
    """Build the profile from analysed seeds.

    A term's weight is its share of seeds, raised to ``core_power``.
    Phrases are kept when they recur in at least ``phrase_share`` of the seeds (and in two seeds
    or more); a phrase inside a longer kept phrase found in as many seeds is dropped.
    """
    n = max(1, len(seeds))
    users: Counter[str] = Counter()
    pdf: Counter[tuple[str, ...]] = Counter()
    for seed in seeds:
        users.update(set(seed.content))
        pdf.update(phrases_in(seed.seq))
    terms = {term: (m / n) ** core_power for term, m in users.items()}
    need = max(2 if n >= 2 else 1, math.ceil(phrase_share * n))
    phrases: dict[tuple[str, ...], float] = {}
    for gram, df in pdf.items():
        if df >= need:
            phrases[gram] = (df / n) ** core_power
    kept = sorted(phrases, key=len, reverse=True)
    for long in kept:
        for short in list(phrases):
            if len(short) < len(long) and pdf[short] == pdf[long] and _contains(long, short):
                del phrases[short]
    for user in user_phrases:
        gram = tuple(user.seq)
        if gram:
            phrases[gram] = 1.0
    return Profile(terms=terms, phrases=phrases, seeds=n)


def seed_terms(
    profile: Profile,
    users: Sequence[Analysis],
    min_share: float,
    core_power: float,
    context_weight: float,
) -> dict[str, float]:
    """The seed channel's term weights: the profile's terms, those fewer than ``min_share`` of
    the seeds use (with 3+ seeds) scaled by ``context_weight``, and a configured phrase's words
    at full weight."""
    floor = min_share**core_power if profile.seeds >= 3 else 0.0
    # The seeds' context (terms few seeds use) is weak evidence, not none: it lets an item
    # that shares little of the core but names the story's surroundings rank above news
    # that shares nothing, while the core still dominates the profile.
    terms = {
        t: w if w >= floor else context_weight * w
        for t, w in profile.terms.items()
        if w >= floor or context_weight > 0
    }
    for user in users:  # a user phrase's words are evidence too
        for term in user.content:
            terms[term] = max(terms.get(term, 0.0), 1.0)
    return terms


def _contains(long: tuple[str, ...], short: tuple[str, ...]) -> bool:
    m = len(short)
    return any(long[i : i + m] == short for i in range(len(long) - m + 1))
