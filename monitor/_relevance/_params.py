"""The tracker's hyper-parameters: one place for every constant that shapes a decision.

How each default was chosen is in docs/relevance.md ("The constants that stay").
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_THRESHOLD", "Params"]

DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True, slots=True)
class Params:
    """Hyper-parameters. Each default's figure on every topic (one step either side, publication
    and live order, leave-one-topic-out) is in docs/relevance.md ("The constants that stay"),
    measured by ``benchmarks/relevance_sweep.py``."""

    title_weight: float = 2.0  # a title word counts this many times a summary word (>= 1)
    core_power: float = 1.0  # seed term weight = (share of seeds using it) ** core_power
    min_share: float = 0.4  # with 3+ seeds, terms in fewer than this share are context ...
    context_weight: float = 0.25  # ... and keep only this factor of their (small) weight
    phrase_share: float = 0.4  # phrases must recur in this share of the seeds (and 2+)
    phrase_weight: float = 1.0  # a seed phrase's weight relative to a term's
    idf_prior: float = 100.0  # pseudo-documents for the cold start of IDF
    z_mid: float = 4.0  # the combined z-score that maps to 0.5
    norm_window: float = 2000.0  # items in the score normalisation's memory
    norm_prior: float = 400.0  # pseudo-items behind the prior normalisation (~ a first cycle)
    prior_mean: float = 0.03  # the normalisation's prior: a raw cosine's mean ...
    prior_sd: float = 0.04  # ... and deviation over off-topic news
    adapt_weight: float = 1.75  # full weight of the stream channel
    adapt_z: float = 4.15  # combined z needed to enter the pool ...
    adapt_seed_z: float = 1.5  # ... and seed-channel z needed as well
    adapt_band: float = 1.0  # an item this far below adapt_z (the other gates met) enters ...
    band_weight: float = 0.2  # ... as this fraction of an item (weak evidence)
    adapt_ramp: float = 1.0  # an admitted item counts band_weight at adapt_z, 1 from here above
    adapt_pool: int = 60  # pool size (oldest leave first)
    adapt_floor: int = 12  # the stream channel reaches full weight with this many items ...
    adapt_recent: float = 6.0  # ... and this many recent ones (one counts 0.5 ** (age/half-life))
    adapt_support: int = 2  # pool items that must share a feature for it to count
    adapt_half_life: float = 144.0  # hours of stream time in which a pool item's weight halves
    adapt_dup: float = 0.5  # an item this close (cosine) to a pool item adds no evidence
    adapt_cap: float = 0.3  # no feature carries more than this share of the stream profile
    near_z: float = 0.5  # seed-channel z from which an item not admitted is a near miss ...
    near_pool: int = 200  # ... kept in a bounded pool of this size (oldest leave first)
    near_weight: float = 0.5  # Rocchio weight of the near-miss centroid in the stream profile
    feedback_weight: float = 0.5  # Rocchio weight of the whole feedback set
    feedback_near: float = 0.6  # cosine at which a judged item overrides the score
    refresh_every: int = 100  # observations between IDF refreshes of the seed channel
    adapt_after: int = 30  # no admission before the stream statistics rest on this many items
    semantic_weight: float = 1.5  # weight of the semantic channel (0: off; needs its model)
    semantic_mean: float = 0.35  # the semantic channel's prior: a raw cosine's mean ...
    semantic_sd: float = 0.1  # ... and deviation over off-topic news
    adapt_sem_z: float = 1.0  # semantic z needed to enter the pool (when the channel is on)
    facet_power: float = 2.0  # seed score x (share of 2+ required facets covered) ** this (0: off)
    facet_merge: float = 0.7  # headline terms join one facet above this co-occurrence (_facets)
    facet_least: int = 7  # ... once the rarer term of a pair is in this many items
