"""What a tracker saves of what it learnt from the stream, and how it reads it back.

:class:`TrackerState` is the persistence half of :class:`~monitor._relevance._tracker.Tracker`
(a mixin, as the storage backends' parts are): ``state()`` is the JSON the daemon keeps in
``topic_state`` and the workers' merge (``_merge``) combines; ``restore()`` loads it, ignoring
what it does not recognise. Explicit feedback is not part of it (it lives in its own table).
"""

from __future__ import annotations

import hashlib
from collections import Counter, OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from monitor._relevance._channels import Channel
from monitor._relevance._evidence import Evidence, saved_time
from monitor._relevance._facets import Cooccurrence
from monitor._relevance._params import Params
from monitor._relevance._profile import SeedProfile
from monitor._relevance._semantic import Meaning

if TYPE_CHECKING:
    from monitor._relevance._learn import Scored

__all__ = ["DF_LIMIT", "SEEN_LIMIT", "STATE_VERSION", "TrackerState", "seeds_key"]

STATE_VERSION = 2
DF_LIMIT = 400_000  # features counted before the rarest are forgotten (``_counts``)
# Texts remembered so that a repeat teaches nothing: the stream's statistics and the
# adaptation count each text once, however often a feed (or several) repeats it.
SEEN_LIMIT = 5_000


def seeds_key(seeds: Sequence[str], phrases: Sequence[str]) -> str:
    """What a seed profile is made of (the seed texts and the configured phrases), as a digest
    saved with the state: a state saved under other seeds is not restored whole."""
    digest = hashlib.blake2b(digest_size=16)
    for text in (*seeds, "\x00phrases", *phrases):
        digest.update(text.encode("utf-8") + b"\x00")
    return digest.hexdigest()


class TrackerState:
    """The tracker's stream state: IDF counts, score normalisations, the seed channel's IDF
    snapshot, the seen texts and the adaptation's pools (attributes set by ``Tracker``)."""

    _n: int
    _clock: float | None
    _df: Counter[str]
    _seed: Channel
    _stream: Channel
    _meaning: Meaning
    _profile: SeedProfile
    _since_refresh: int
    _seen: OrderedDict[str, None]
    _evidence: Evidence
    _stream_stale: bool
    _judged: list[Scored]  # what the last judge call computed, for observe: stale after a restore
    _seeds_key: str  # what the seed profile is made of (see ``seeds_key``)
    _cooccurrence: Cooccurrence  # the headline terms' counts, for the facets (``_facets``)
    params: Params

    if TYPE_CHECKING:

        def _refresh_seed(self, *, reweigh: bool = True) -> None: ...
        def _refresh_stream(self) -> None: ...

    def state(self) -> dict[str, Any]:
        """JSON-serialisable stream state: IDF counts, score normalisation, the seed channel's
        IDF snapshot and the adaptation pool (explicit feedback is not part of it)."""
        return {
            "version": STATE_VERSION,
            "seeds": self._seeds_key,
            "n": self._n,
            "clock": self._clock,
            "df": dict(self._df),
            "norm": [
                self._seed.norm.state(),
                self._stream.norm.state(),
                self._meaning.norm.state(),
            ],
            "seed_idf": dict(self._profile.idf),
            "since_refresh": self._since_refresh,
            "seen": list(self._seen),
            "meaning": self._meaning.state(),
            # the headline terms' counts and the facets taken from them at the last refresh
            "facets": {**self._cooccurrence.state(), "index": dict(self._profile.facet_index)},
            **self._evidence.state(),  # "pool" and "near"
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state` output; an empty or unknown-version dict is ignored. A state
        saved under other seeds gives only the stream's statistics (IDF counts, the seen texts,
        the clock): what was learnt by comparing with those seeds (the adaptation's pools, the
        score normalisations) was learnt for another topic."""
        if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
            return
        n, df, norm = state.get("n"), state.get("df"), state.get("norm")
        if not (isinstance(n, int) and isinstance(df, dict)):
            return
        saved_seeds = state.get("seeds")
        same_seeds = not isinstance(saved_seeds, str) or saved_seeds == self._seeds_key
        self._n = n
        self._clock = saved_time(state.get("clock"))
        self._df = Counter({str(k): int(v) for k, v in df.items() if isinstance(v, int | float)})
        if same_seeds and isinstance(norm, list) and len(norm) in (2, 3):
            self._seed.norm.restore(norm[0])
            self._stream.norm.restore(norm[1])
            if len(norm) == 3:
                self._meaning.norm.restore(norm[2])
        if same_seeds:
            self._evidence.restore(state.get("pool"), state.get("near"))
        self._meaning.restore(state.get("meaning"))
        seen = state.get("seen")
        self._seen = OrderedDict(
            (str(m), None) for m in (seen if isinstance(seen, list) else [])[-SEEN_LIMIT:]
        )
        self._judged = []
        self._restore_facets(state.get("facets") if same_seeds else None)
        seed_idf = state.get("seed_idf")
        wanted = self._profile.features()
        if isinstance(seed_idf, dict) and all(f in seed_idf for f in wanted):
            self._profile.idf = {f: float(seed_idf[f]) for f in wanted}
            self._refresh_seed(reweigh=False)
        else:  # another seed set or an older state: weigh with the restored counts
            self._refresh_seed()
        since = state.get("since_refresh")
        self._since_refresh = since if isinstance(since, int) and same_seeds else 0
        self._stream_stale = True
        self._refresh_stream()

    def _restore_facets(self, saved: Any) -> None:
        """The headline terms' counts and the facets saved with them (taken again from the
        counts if the saved ones are not for these terms); a state saved before facets, or
        under other seeds, starts the counts afresh."""
        self._cooccurrence.restore(saved)
        index = saved.get("index") if isinstance(saved, dict) else None
        profile = self._profile
        if not (
            isinstance(index, dict)
            and set(index) == set(profile.head_terms)
            and all(isinstance(i, int) and i >= 0 for i in index.values())
        ):
            p = self.params
            index = self._cooccurrence.facets(p.facet_merge, p.facet_least)
        profile.set_facets(index)
