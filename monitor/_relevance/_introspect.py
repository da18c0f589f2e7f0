"""What a tracker can say about itself: the introspection half of
:class:`~monitor._relevance._tracker.Tracker` (a mixin, as ``Learning`` is its learning half
and ``TrackerState`` its persistence half): what the seed profile rests on (``monitor topic
check``), how the facets scale an item (``monitor explain``), the keyword baseline (``monitor
eval``) and whether the seeds are still the ones it was built from."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from monitor._models import Tokens
from monitor._relevance._channels import Channel, Vector
from monitor._relevance._describe import describe, keywords
from monitor._relevance._params import Params
from monitor._relevance._persist import seeds_key
from monitor._relevance._profile import SeedProfile
from monitor._relevance._seeds import with_words
from monitor._relevance._semantic import Meaning
from monitor._relevance._text import tokenise

__all__ = ["Introspection"]

_RATES_AFTER = 100  # items seen before describe() reports how common profile terms are


class Introspection:
    """``describe``, ``facets_note``, ``keywords`` and the seeds' identity (attributes set by
    ``Tracker``)."""

    params: Params
    threshold: float
    _n: int
    _df: Counter[str]
    _seed: Channel
    _meaning: Meaning
    _profile: SeedProfile
    _labels: dict[str, str]
    _seed_texts: list[str]
    _more_texts: list[str]
    _seeds_key: str

    if TYPE_CHECKING:

        def _features(self, tokens: Tokens) -> Vector: ...

    def facets_note(self, title: str, summary: str) -> str | None:
        """How the topic's facets (``_facets``) scale an item's seed score, in words: "covers
        1 of the topic's 2 facets (not Canada; tariffs, Trump): its seed score x 0.29"; None
        when the topic has fewer than two required facets, or the item covers them all or
        shares no word with the seeds (nothing to scale)."""
        p, profile = self.params, self._profile
        required = profile.facet_req
        if len(required) < 2 or p.facet_power <= 0:
            return None
        x = self._features(tokenise(title, summary, meaning=False))
        q = self._seed.q
        named = [f for f, w in x.items() if w > 0 and q.get(f, 0.0) > 0]
        covered = profile.covered(named)
        if covered >= 1.0 or not named:
            return None
        facets = {i for f in named for i in profile.facet_of.get(f, ())}
        got = sum(i in facets for i in required)
        each = "; ".join(
            ("" if i in facets else "not ") + ", ".join(profile.facet_terms(i)) for i in required
        )
        scale = covered**p.facet_power
        return (
            f"covers {got} of the topic's {len(required)} facets ({each}): "
            f"its seed score x {scale:.2f}"
        )

    @property
    def seeds_digest(self) -> str:
        """A digest of what the seed profile is made of (seed texts and phrases)."""
        return self._seeds_key

    def same_seeds(self, seeds: Sequence[str], phrases: Sequence[str]) -> bool:
        """Whether ``seeds`` and ``phrases`` are what this tracker's profile was built from
        (a running daemon's seed files may have been edited since it started)."""
        return seeds_key(with_words(seeds), phrases) == self._seeds_key

    def describe(self, limit: int = 15) -> dict[str, Any]:
        """What the seed profile rests on, for ``monitor topic check`` (see
        :func:`~monitor._relevance._describe.describe`)."""
        n = self._n
        rates = {f: self._df.get(f, 0) / n for f in self._seed.q} if n >= _RATES_AFTER else {}
        described = describe(
            self._seed.q,
            self._labels,
            self._seed_texts,
            self.threshold,
            limit,
            rates=rates,
            more=self._more_texts,
        )
        described["meaning"] = self._agreement() if self._meaning.on else None
        return described

    def _agreement(self) -> list[float | None]:
        """The meaning channel's agreement per seed text, None for a seed with no word to
        teach (it is not among the seeds the channel embeds); [] for one seed."""
        taught = iter(self._meaning.agreement())
        with_word = [bool(with_words([text])) for text in self._seed_texts]
        if sum(with_word) < 2:
            return []
        return [next(taught, None) if has else None for has in with_word]

    def keywords(self, limit: int = 2) -> list[str]:
        """The keyword alert a user would write for this topic (``monitor eval``'s baseline):
        the configured phrases, else the ``limit`` phrases that most seeds use (the stream's
        rarer first), none inside another; else the seeds' heaviest term."""
        profile = self._profile
        if profile.user_phrases:
            return list(profile.user_phrases)
        return keywords(profile.phrases, profile.idf, self._labels, limit) or [
            label for label, _ in self.describe(1)["terms"]
        ]
