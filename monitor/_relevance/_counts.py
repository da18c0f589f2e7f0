"""Document frequencies over an unending stream, kept bounded.

The tracker and the story grouper count, for every feature, how many items used it (their IDF
rests on it). A stream brings new names and word pairs for as long as it runs, so each table
has a limit; past it, the rarest features are forgotten. A forgotten feature counts as never
seen, which at those counts changes its IDF little (one item in a million against none).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from operator import itemgetter

__all__ = ["forget_rare"]


def forget_rare(df: Mapping[str, int], limit: int) -> Counter[str]:
    """The ``limit // 2`` most common features of ``df`` with their counts (call it once
    ``df`` holds more than ``limit``). Half, not just under the limit: the next cut is then
    ``limit // 2`` new features away, not on the next item. Ties keep ``df``'s order, so the
    same table is always cut the same way."""
    common = sorted(df.items(), key=itemgetter(1), reverse=True)[: limit // 2]
    return Counter(dict(common))
