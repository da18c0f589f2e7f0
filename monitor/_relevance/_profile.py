"""The topic profile learnt from seed articles: core terms and recurring phrases.

A term's weight grows with the share of seeds that contain it, raised to a power, so that what
the seeds *share* (the story's core) dominates and what one seed mentions in passing (the
surrounding news) hardly counts. Phrases are word n-grams (stopwords allowed inside, not at the
ends) that recur across seeds; they are found automatically, never typed in.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from monitor._relevance._channels import Vector
from monitor._relevance._facets import feature_facets, head_terms, required_facets
from monitor._relevance._features import phrase_heads
from monitor._relevance._params import Params
from monitor._relevance._text import BREAK, Analysis, analyse, analyse_lines, is_stop, tokenise

__all__ = [
    "PHRASE_MAX",
    "PHRASE_MIN",
    "Profile",
    "SeedProfile",
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


class SeedProfile:
    """The seed channel's vocabulary: the seeds' terms (``seed_terms``) and phrases (the
    configured ones included), how each feature is written in the seeds (``labels``, for
    explanations) and the IDF snapshot the channel is weighted with (``idf``: taken again every
    ``refresh_every`` items, every ten while the stream is young, and saved with the tracker's
    state)."""

    __slots__ = (
        "facet_index",
        "facet_of",
        "facet_req",
        "facet_weights",
        "head_forms",
        "head_sets",
        "head_terms",
        "heads",
        "idf",
        "labels",
        "phrases",
        "terms",
        "user_phrases",
    )

    def __init__(self, seeds: Sequence[str], user_phrases: Sequence[str], p: Params) -> None:
        analysed = [analyse_lines(s) for s in seeds if s.strip()]
        users = [a for a in (analyse(ph, joined=False) for ph in user_phrases) if a.content]
        profile = build_profile(
            analysed, core_power=p.core_power, phrase_share=p.phrase_share, user_phrases=users
        )
        self.terms = seed_terms(profile, users, p.min_share, p.core_power, p.context_weight)
        self.phrases = {" ".join(g): w for g, w in profile.phrases.items()}
        self.heads = phrase_heads(self.phrases)  # to find phrases of 3+ words in an item
        # Facets (``_facets``): the core terms each seed's headline (first line) names
        floor = p.min_share**p.core_power if profile.seeds >= 3 else 0.0
        core = {t: w for t, w in profile.terms.items() if w >= floor}
        firsts = [s.strip().split("\n", 1)[0] for s in seeds if s.strip()]
        named = [{t for t in analyse_lines(line).content if t in core} for line in firsts]
        self.head_terms = head_terms(named, core)
        kept = set(self.head_terms)
        self.head_sets = [head & kept for head in named]
        self.head_forms: dict[str, str] = {}  # a headline term as a headline writes it
        for line in firsts:
            tokens = tokenise(line, "", meaning=False)
            for tok, word in zip(tokens.title, tokens.words, strict=False):
                if tok in kept:
                    self.head_forms.setdefault(tok, word)
        self.set_facets({t: i for i, t in enumerate(self.head_terms)})
        self.user_phrases = [ph.strip() for ph in user_phrases if ph.strip()]
        self.idf: dict[str, float] = {}
        self.labels: dict[str, str] = {}
        for a in (*analysed, *users):
            seq, words = a.seq, a.words
            for i in range(len(seq)):
                for n in range(2, PHRASE_MAX + 1):
                    key = " ".join(seq[i : i + n])
                    if key in self.phrases and key not in self.labels:
                        self.labels[key] = " ".join(words[i : i + n])

    def set_facets(self, index: dict[str, int]) -> None:
        """Take the headline terms' facets (term -> facet number, ``_facets.facet_index``);
        their weights are set by the next :meth:`vector`."""
        self.facet_index = dict(index)
        self.facet_of = feature_facets(index, self.features())
        self.facet_req = required_facets(index, self.head_sets)
        self.facet_weights = [0.0] * (max(index.values(), default=-1) + 1)

    def covered(self, features: Iterable[str]) -> float:
        """The share of the required facets that ``features`` (an item's, those the channel
        scores) name, each facet weighed by the profile's weight on its terms; 1 without
        required facets."""
        weights, required = self.facet_weights, self.facet_req
        total = sum(weights[i] for i in required)
        if total <= 0.0:
            return 1.0
        named: set[int] = set()
        facets = self.facet_of
        for f in features:
            named.update(facets.get(f, ()))
        return sum(weights[i] for i in required if i in named) / total

    def facet_terms(self, facet: int) -> list[str]:
        """A facet's headline terms as the headlines write them."""
        return [self.head_forms.get(t, t) for t, i in self.facet_index.items() if i == facet]

    def features(self) -> tuple[str, ...]:
        """Every feature the channel weighs (the keys ``idf`` must have)."""
        return (*self.terms, *self.phrases)

    def reweigh(self, n: int, df: Mapping[str, int], idf_prior: float) -> None:
        """Take a new IDF snapshot from the stream's counts (``n`` items, ``df``)."""
        lognum = math.log(n + idf_prior)
        log = math.log
        dfget = df.get
        self.idf = {f: lognum - log(dfget(f, 0) + 1.0) for f in self.features()}

    def vector(self, phrase_weight: float) -> Vector:
        """The channel's unit profile: seed weight × IDF (a phrase's × ``phrase_weight``)."""
        idf = self.idf
        base = {t: w * idf[t] for t, w in self.terms.items()}
        for key, w in self.phrases.items():
            base[key] = phrase_weight * w * idf[key]
        norm = math.sqrt(sum(w * w for w in base.values())) or 1.0
        weights = [0.0] * len(self.facet_weights)  # a facet's: its terms' summed
        for t, ids in self.facet_of.items():
            if " " not in t:
                for i in ids:
                    weights[i] += base[t]
        total = sum(weights) or 1.0
        self.facet_weights = [w / total for w in weights]
        return {f: w / norm for f, w in base.items()}


def _contains(long: tuple[str, ...], short: tuple[str, ...]) -> bool:
    m = len(short)
    return any(long[i : i + m] == short for i in range(len(long) - m + 1))
