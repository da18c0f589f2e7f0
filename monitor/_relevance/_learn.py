"""What the tracker learns from the stream: the learning half of
:class:`~monitor._relevance._tracker.Tracker` (a mixin, as ``TrackerState`` is its
persistence half).

Every observed item counts in the stream's statistics (IDF, the channels' score
normalisations); a confident one may enter the adaptation pool, a near miss the near-miss
pool (``_evidence`` holds both). What an item teaches is decided on the scores it was judged
with (``Scored``, kept by the judge call just before), never on scores recomputed against a
state that its batch-mates have already moved.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from monitor._models import Judgement, Tokens
from monitor._relevance._channels import Vector
from monitor._relevance._counts import forget_rare
from monitor._relevance._features import fingerprint
from monitor._relevance._params import Params
from monitor._relevance._persist import DF_LIMIT, SEEN_LIMIT, TrackerState
from monitor._relevance._text import tokenise

__all__ = ["Learning", "Scored"]


class Scored:
    """What ``judge`` computed for one item, reused by ``observe``: its features, combined z,
    raw channel scores, and the seed and semantic channels' z (``z_s``, ``z_e``: inf without
    the semantic channel) under the normalisation it was judged with."""

    __slots__ = ("key", "raw_a", "raw_e", "raw_s", "x", "z", "z_e", "z_s")

    def __init__(
        self,
        key: object,
        x: Vector,
        z: float,
        raw: tuple[float, float, float | None],
        zs: tuple[float, float],
    ) -> None:
        self.key = key
        self.x = x
        self.z = z
        self.raw_s, self.raw_a, self.raw_e = raw
        self.z_s, self.z_e = zs


class Learning(TrackerState):
    """``observe`` and its variants: learning from judged items (see the module docstring)."""

    name: str
    params: Params

    if TYPE_CHECKING:

        def _features(self, tokens: Tokens) -> Vector: ...
        def _unit(self, x: Vector, *, unigrams: bool = False) -> Vector: ...
        def _score(
            self, x: Vector, meaning: bytes | None
        ) -> tuple[float, tuple[float, float, float | None], list[tuple[str, float]]]: ...

    def observe_batch(
        self,
        batch: Sequence[Tokens],
        judgements: Sequence[Judgement],
        source: str | None = None,
        now: datetime | None = None,
    ) -> None:
        """Learn from a judged batch (one ``source``'s answer at time ``now``, the poll's),
        in its order, once it is stored. What the batch teaches is decided on the scores it
        was judged with (:meth:`judge_batch` just before: not scored again), so no item's
        admission depends on the items listed before it. The tracker's clock is the latest
        ``now`` it was given: what the adaptation admits is stamped with it."""
        if now is not None:
            moment = now.timestamp()
            self._clock = moment if self._clock is None else max(self._clock, moment)
        scored = self._recall(batch) or [self._scored(tokens) for tokens in batch]
        for item, judgement in zip(scored, judgements, strict=True):
            self._observe(item, judgement, refresh=False, source=source)
        self._refresh_stream()

    def _recall(self, keys: Sequence[object]) -> list[Scored] | None:
        """What the last judge call computed, if it was for exactly these items."""
        judged = self._judged
        if len(judged) != len(keys):
            return None
        if all(s.key is key or s.key == key for s, key in zip(judged, keys, strict=True)):
            return judged
        return None

    def observe(
        self, title: str, summary: str, judgement: Judgement, source: str | None = None
    ) -> None:
        """Learn from one stream item: IDF counts, score normalisation, bounded adaptation.
        ``source`` (the feed) bounds what any one source can teach the adaptation."""
        scored = self._recall([(title, summary)])
        item = scored[0] if scored else self._scored(tokenise(title, summary))
        self._observe(item, judgement, source=source)

    def observe_tokens(
        self, tokens: Tokens, judgement: Judgement, source: str | None = None
    ) -> None:
        """:meth:`observe` for an item already tokenised (same result)."""
        scored = self._recall([tokens])
        self._observe(scored[0] if scored else self._scored(tokens), judgement, source=source)

    def _scored(self, tokens: Tokens) -> Scored:
        x = self._features(tokens)
        z, raw, _ = self._score(x, tokens.meaning)
        return Scored(tokens, x, z, raw, self._channel_z(raw))

    def _channel_z(self, raw: tuple[float, float, float | None]) -> tuple[float, float]:
        """The seed and semantic channels' z of raw scores, under the current normalisation
        (what admission to the adaptation asks of each channel)."""
        seed = self._seed.norm
        raw_e = raw[2]
        if raw_e is None:
            return (raw[0] - seed.mean) / seed.sd, math.inf
        sem = self._meaning.norm
        return (raw[0] - seed.mean) / seed.sd, (raw_e - sem.mean) / sem.sd

    def _observe(
        self,
        scored: Scored,
        judgement: Judgement,
        *,
        refresh: bool = True,
        source: str | None = None,
    ) -> None:
        p = self.params
        self._judged = []
        x, z, raw_s, raw_a, raw_e = scored.x, scored.z, scored.raw_s, scored.raw_a, scored.raw_e
        mark = fingerprint(x, p.title_weight)
        seen = self._seen
        if mark in seen:  # a repeat: one text is one piece of evidence, however often sent
            seen.move_to_end(mark)
            return
        seen[mark] = None
        if len(seen) > SEEN_LIMIT:
            seen.popitem(last=False)
        z_s, z_e = scored.z_s, scored.z_e  # as judged: no item of a batch moves another's
        self._seed.norm.add(raw_s)
        if self._stream.q:
            self._stream.norm.add(raw_a)
        if raw_e is not None:
            self._meaning.norm.add(raw_e)
        df = self._df
        df.update(x.keys())  # a Counter counts an iterable of keys in C
        self._cooccurrence.add(x)  # the headline terms' counts (``_facets``)
        self._n += 1
        if len(df) > DF_LIMIT:
            self._df = forget_rare(df, DF_LIMIT)
        excluded = bool(judgement.matched) and judgement.matched[0][0].startswith("excluded:")
        if p.adapt_weight > 0 and not excluded and judgement.topic == self.name:
            self._consider(x, z, z_s, z_e, source)
        self._since_refresh += 1
        if self._since_refresh >= p.refresh_every or (self._n < 200 and self._since_refresh >= 10):
            self._refresh_seed()
        if refresh:
            self._refresh_stream()

    def _consider(self, x: Vector, z: float, z_s: float, z_e: float, source: str | None) -> None:
        """Admit a confident item to the adaptation pool, or keep a near miss.

        Confident means the combined score, the seed channel *and* the semantic channel (when
        on: ``z_e`` is inf otherwise) each agree: two views of the seeds, one of their words,
        one of their meaning, must both vouch for what the tracker learns from. An item up to
        ``adapt_band`` below the combined bar enters as ``band_weight`` of an item, one at the
        bar too, and the weight grows on a straight line to a whole item ``adapt_ramp`` above
        it: the surer the tracker, the more the item teaches."""
        p = self.params
        if self._n <= p.adapt_after:
            return  # too few items yet to tell a confident item from a lucky one
        if z >= p.adapt_z - p.adapt_band and z_s >= p.adapt_seed_z and z_e >= p.adapt_sem_z:
            # Just below the bar is weak evidence, not none: the topic's own coverage often
            # scores there before the pool has learnt its words (docs/relevance.md).
            u = self._unit(x)
            if not self._evidence.is_copy(u):
                weight = p.band_weight
                if z >= p.adapt_z:
                    over = (z - p.adapt_z) / p.adapt_ramp if p.adapt_ramp > 0 else 1.0
                    weight += (1.0 - p.band_weight) * min(1.0, over)
                self._evidence.admit(x, u, source, weight, self._clock)
                self._stream_stale = True
        elif z_s >= p.near_z and p.near_weight > 0 and self._evidence.add_near(self._unit(x)):
            self._stream_stale = True
