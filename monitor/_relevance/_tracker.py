"""The topic tracker: seed profile + stream IDF + bounded adaptation + meaning + feedback.

Scoring has three channels. The two word channels are each a cosine between the item's
TF-IDF vector (title words weigh more than summary words; IDF is counted incrementally over
the stream) and a profile vector. Every channel is normalised against the stream's own score
distribution: an exponentially weighted mean and deviation over all observed items, which
are nearly all off topic (score normalisation as in TREC filtering).

* The *seed* channel: terms and phrases learnt from the seeds, weighted by the share of seeds
  that use them times IDF (``_profile``); terms that few seeds use (their context) keep only a
  small fraction (``context_weight``) of that weight. It never drifts. When every seed's
  headline names two or more *facets* (groups of its core terms that the stream uses
  together, ``_facets``), its score is scaled by the share of them an item names.
* The *stream* channel (TDT-style adaptation): the centroid of a bounded pool of stream items
  the tracker was confident about. A feature counts only when several pool items share it, the
  channel's weight ramps up with the pool's size and with how much of it is recent (a topic
  gone quiet leans on its seeds again), and an item enters the pool only when the
  combined score *and* the seed channel alone are both confident (an item just below the
  combined bar, or at it, enters as a fraction of an item, one ``adapt_ramp`` above it as a
  whole one), so one false hit cannot pull the profile to another story by itself; an item
  judged irrelevant stops counting. What the story says now outweighs what it said days ago: a
  pool item's weight halves every ``adapt_half_life`` hours of stream time (the poll times
  ``observe_batch`` is given). A near-copy of a pooled item adds nothing (wire copies are one
  piece of evidence), recent near misses (close to the seeds, not admitted) are subtracted
  Rocchio-style so that the seeds' context cancels, and no feature may carry more than
  ``adapt_cap`` of the profile. The pools and that arithmetic live in ``_evidence``.

* The *semantic* channel (``_semantic``): the cosine between the item's embedding (a
  static word-embedding model's mean token vector) and the seeds' centroid. It sees meaning
  where the words differ; it counts only above the stream's mean (it adds evidence, never
  vetoes), and an item enters the adaptation pool only if this channel agrees too. Off
  without the model.

The channels' z-scores are combined as ``(z_seed + w_a z_stream + w_e z_semantic) /
sqrt(1 + w_a^2 + w_e^2)`` and mapped through a logistic centred on ``z_mid`` deviations above
the stream; hence
``DEFAULT_THRESHOLD`` = 0.5 means "this far above what the stream usually scores", which is
what lets one default serve different topics.
"""

from __future__ import annotations

import math
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence

from monitor._models import Judgement, Tokens
from monitor._relevance._channels import Channel, Norm, Vector
from monitor._relevance._describe import explain
from monitor._relevance._evidence import Evidence
from monitor._relevance._exclude import Exclusions
from monitor._relevance._facets import Cooccurrence
from monitor._relevance._features import features
from monitor._relevance._feedback import Feedback
from monitor._relevance._introspect import Introspection
from monitor._relevance._learn import Learning, Scored
from monitor._relevance._params import DEFAULT_THRESHOLD, Params
from monitor._relevance._persist import seeds_key
from monitor._relevance._profile import SeedProfile
from monitor._relevance._seeds import with_words
from monitor._relevance._semantic import MEANING as _MEANING
from monitor._relevance._semantic import MEANING_LABEL, Meaning
from monitor._relevance._text import tokenise

__all__ = ["DEFAULT_THRESHOLD", "Params", "Tracker"]

_MATCHED_MAX = 10
# An explanation's entries when an explicit judgement decided the score (a near copy of a
# judged item): the relevant one carries the score it gave; how each reads.
_JUDGED_RELEVANT = "\x01judged+"
_JUDGED_LABEL = {
    True: "(judged relevant: the item, or a near copy)",
    False: "(judged irrelevant: the item, or a near copy)",
}


class Tracker(Learning, Introspection):
    """Tracks one topic over a stream of (title, summary) items.

    ``judge`` scores an item (0..1) without changing state; ``observe`` then lets the tracker
    learn from the stream (IDF counts, score normalisation, bounded adaptation).
    ``judge_tokens`` / ``observe_tokens`` do the same for an item already tokenised
    (:func:`~monitor._relevance._text.tokenise`, done by the parser workers), with identical
    results.
    """

    def __init__(
        self,
        name: str,
        seeds: Sequence[str],
        *,
        threshold: float | None = None,
        phrases: Sequence[str] = (),
        exclude: Sequence[str] = (),
        params: Params | None = None,
    ) -> None:
        self.name = name
        self.threshold = DEFAULT_THRESHOLD if threshold is None else float(threshold)
        self.params = p = params or Params()
        if p.title_weight < 1.0:
            raise ValueError("title_weight must be at least 1")
        taught = with_words(seeds)  # what teaches: a seed without a word counts nowhere
        self._profile = SeedProfile(taught, phrases, p)
        self._labels = {
            **self._profile.labels,
            _MEANING: MEANING_LABEL,
            _JUDGED_RELEVANT: _JUDGED_LABEL[True],
        }
        self._seed_texts = [s for s in seeds if s.strip()]  # `topic check` names them all
        self._more_texts = list(self._profile.user_phrases)  # other texts that write words
        self._seeds_key = seeds_key(taught, phrases)
        self._exclude = Exclusions(exclude)
        self._n = 0
        self._clock: float | None = None  # the latest poll time observed (POSIX seconds)
        self._df: Counter[str] = Counter()
        self._seed = Channel(Norm(p.prior_mean, p.prior_sd, p.norm_prior, p.norm_window))
        self._stream = Channel(Norm(p.prior_mean, p.prior_sd, p.norm_prior, p.norm_window))
        self._meaning = Meaning(
            taught if p.semantic_weight > 0 else [],
            Norm(p.semantic_mean, p.semantic_sd, p.norm_prior, p.norm_window),
        )
        self._stream_stale = False
        self._weight_key: tuple[float | None, int] | None = None  # _stream_weight's cache
        self._weight = 0.0
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._evidence = Evidence.for_params(p)
        self._feedback = Feedback()
        self._since_refresh = 0
        self._judged: list[Scored] = []  # what the last judge call computed, for observe
        self._cooccurrence = Cooccurrence(self._profile.head_terms)  # facets' counts
        self._refresh_seed()

    # -- analysis ------------------------------------------------------------------------

    def _features(self, tokens: Tokens) -> Vector:
        profile = self._profile
        return features(tokens, self.params.title_weight, profile.phrases, profile.heads)

    def _idf(self, feature: str) -> float:
        return math.log((self._n + self.params.idf_prior) / (self._df.get(feature, 0) + 1.0))

    def _unit(self, x: Vector, *, unigrams: bool = False) -> Vector:
        idf = self._idf
        v = {f: w * idf(f) for f, w in x.items() if not (unigrams and " " in f)}
        norm = math.sqrt(sum(w * w for w in v.values()))
        return {f: w / norm for f, w in v.items()} if norm else v

    # -- profile -------------------------------------------------------------------------

    def _refresh_seed(self, *, reweigh: bool = True) -> None:
        """Re-weight the seed channel with the current IDF (unless ``reweigh`` is false) and
        apply explicit feedback."""
        p = self.params
        if reweigh or not self._profile.idf:
            self._profile.reweigh(self._n, self._df, p.idf_prior)
            self._since_refresh = 0
            self._profile.set_facets(self._cooccurrence.facets(p.facet_merge, p.facet_least))
        q = self._profile.vector(p.phrase_weight)
        self._feedback.move(q, self._unit, p.feedback_weight)
        self._seed.set(q)

    def _refresh_stream(self) -> None:
        """The stream channel: Rocchio over the stream's own evidence (see ``_evidence``),
        without what items judged irrelevant (and their copies) taught it."""
        if self._stream_stale:
            self._stream_stale = False
            vetoed = [self._unit(x) for x in self._feedback.irrelevant()]
            self._stream.set(self._evidence.profile(vetoed))

    # -- scoring -------------------------------------------------------------------------

    def _score(
        self, x: Vector, meaning: bytes | None
    ) -> tuple[float, tuple[float, float, float | None], list[tuple[str, float]]]:
        """(combined z, (seed, stream, semantic) raw cosines, per-feature contributions)."""
        p = self.params
        lognum = math.log(self._n + p.idf_prior)
        log = math.log
        dfget = self._df.get
        qs = self._seed.q
        qa = self._stream.q
        sget = qs.get
        aget = qa.get
        norm2 = 0.0
        dot_s = 0.0
        dot_a = 0.0
        hits: list[tuple[str, float, float]] = []
        for f, xw in x.items():
            ws = sget(f)
            wa = aget(f) if qa else None
            if ws is None and wa is None:
                if " " in f:
                    continue  # word pairs count only where a profile has them
                v = xw * (lognum - log(dfget(f, 0) + 1.0))
                norm2 += v * v
                continue
            v = xw * (lognum - log(dfget(f, 0) + 1.0))
            norm2 += v * v
            cs = v * ws if ws is not None else 0.0
            ca = v * wa if wa is not None else 0.0
            dot_s += cs
            dot_a += ca
            hits.append((f, cs, ca))
        raw_e = self._meaning.raw(meaning)
        if not hits:
            return -math.inf, (0.0, 0.0, raw_e), []
        length = math.sqrt(norm2)
        seed = self._seed
        ks = 1.0 / (length * seed.qnorm)
        required = self._profile.facet_req
        if len(required) >= 2 and p.facet_power > 0:  # see ``_facets``
            ks *= self._profile.covered(f for f, cs, _ in hits if cs > 0) ** p.facet_power
        raw_s = dot_s * ks
        z = (raw_s - seed.norm.mean) / seed.norm.sd
        ks /= seed.norm.sd
        ka = 0.0
        raw_a = 0.0
        total = 0.0  # the other channels' weighted z
        weights = 1.0  # 1 + the sum of their squared weights
        if qa:
            stream = self._stream
            w = self._stream_weight()
            ka = 1.0 / (length * stream.qnorm)
            raw_a = dot_a * ka
            total += w * (raw_a - stream.norm.mean) / stream.norm.sd
            weights += w * w
            ka *= w / stream.norm.sd
        parts = []
        if raw_e is not None:
            w = p.semantic_weight
            sem = self._meaning.norm
            # Meaning adds evidence, it does not veto: a text unlike the seeds scores 0 here,
            # as one with no seed word does in the seed channel (a title followed by junk,
            # e.g. a megabyte of one letter, would otherwise lose its title's words).
            z_e = max(0.0, (raw_e - sem.mean) / sem.sd)
            total += w * z_e
            weights += w * w
            parts.append((_MEANING, w * z_e))
        scale = 1.0 / math.sqrt(weights)
        z = (z + total) * scale
        parts = [(f, c * scale) for f, c in parts]
        parts += [(f, (cs * ks + ca * ka) * scale) for f, cs, ca in hits]
        return z, (raw_s, raw_a, raw_e), parts

    def _stream_weight(self) -> float:
        """The stream channel's weight: ``adapt_weight``, ramped up with the pool's items (full
        at ``adapt_floor``) and with its recent evidence (full at ``adapt_recent`` items'
        worth, each counted by its age on the tracker's clock): a topic whose pool has taken
        nothing for weeks leans on its seeds again (docs/relevance.md)."""
        key = (self._clock, self._evidence.version)
        if key != self._weight_key:
            p = self.params
            evidence = self._evidence
            ramp = min(1.0, len(evidence) / p.adapt_floor)
            if p.adapt_recent > 0:
                ramp = min(ramp, evidence.recent(self._clock) / p.adapt_recent)
            self._weight_key, self._weight = key, p.adapt_weight * ramp
        return self._weight

    def judge(self, title: str, summary: str) -> Judgement:
        """Score one item; does not change what the tracker has learnt."""
        judgement, scored = self._judge(tokenise(title, summary), (title, summary))
        self._judged = [scored]
        return judgement

    def judge_tokens(self, tokens: Tokens) -> Judgement:
        """:meth:`judge` for an item already tokenised (same result)."""
        judgement, scored = self._judge(tokens, tokens)
        self._judged = [scored]
        return judgement

    def judge_batch(self, batch: Sequence[Tokens]) -> list[Judgement]:
        """Judge one poll's items (one feed's answer) against the same state: the order a
        feed lists its items in changes nothing."""
        judged = [self._judge(tokens, tokens) for tokens in batch]
        self._judged = [scored for _, scored in judged]
        return [judgement for judgement, _ in judged]

    def _judge(self, tokens: Tokens, key: object) -> tuple[Judgement, Scored]:
        p = self.params
        x = self._features(tokens)
        z, raw, parts = self._score(x, tokens.meaning)
        verdict = self._verdict(x) if self._feedback else None
        if verdict is False:  # the judgement decides: no score, whatever the words say
            z = -math.inf
        elif verdict:  # ... a hit, and it leads the explanation
            z += 2.0 * p.z_mid
            parts = [(_JUDGED_RELEVANT, 2.0 * p.z_mid), *parts]
        score = 0.0 if z == -math.inf else 1.0 / (1.0 + math.exp(p.z_mid - z))
        if verdict:
            score = max(score, self.threshold)
        hit = score >= self.threshold
        matched = explain(parts, score, tokens, self._labels, _MATCHED_MAX)
        if verdict is False:  # the judgement alone decides: its words would all weigh 0
            matched = ((_JUDGED_LABEL[False], 0.0),)
        if self._exclude:
            vetoed = self._exclude.match(tokens)
            if vetoed is not None:
                hit = False
                matched = (("excluded:" + vetoed, 0.0), *matched[: _MATCHED_MAX - 1])
        scored = Scored(key, x, z, raw, self._channel_z(raw))
        return Judgement(self.name, round(score, 6), hit, matched), scored

    def _verdict(self, x: Vector) -> bool | None:
        """An explicit judgement decides its near-duplicates (nearest judged item wins)."""
        return self._feedback.verdict(self._unit(x, unigrams=True), self.params.feedback_near)

    def set_feedback(self, judged: Sequence[tuple[str, str, bool]]) -> None:
        """Replace the explicit feedback set with ``judged`` = (title, summary, relevant).

        The set moves the seed profile by bounded Rocchio and decides the score of the judged
        items' near-duplicates; what the adaptation learnt from an item judged irrelevant (or
        its copies) stops counting. Passing a smaller set undoes the judgements left out.
        """
        self._feedback.set(
            [(self._features(tokenise(t, s, meaning=False)), bool(rel)) for t, s, rel in judged],
            lambda x: self._unit(x, unigrams=True),
        )
        phrases = self._profile.user_phrases
        self._more_texts = [*phrases, *(f"{t}\n{s}" for t, s, rel in judged if rel)]
        self._judged = []
        self._refresh_seed(reweigh=False)
        self._stream_stale = True
        self._refresh_stream()

    def prepare(
        self, embed: Callable[[Sequence[str]], Sequence[bytes | None] | None] | None = None
    ) -> None:
        """Have the seeds' vectors now: from a restored state, else from ``embed`` (seed texts
        → vectors computed elsewhere; the daemon uses a child process so that its own never
        loads the model), else embedded here. Afterwards the process may let the model go
        (``release_model``)."""
        self._meaning.prepare(embed)
