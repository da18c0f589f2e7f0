"""An item's features for the word channels, and what makes two texts one for learning."""

from __future__ import annotations

import hashlib

from monitor._models import Tokens
from monitor._relevance._channels import Vector

__all__ = ["features", "fingerprint", "phrase_heads"]

_STOP = "\x00"  # the mark of a stopword token (``_text``)


def features(
    tokens: Tokens,
    title_weight: float,
    phrases: dict[str, float],
    heads: dict[str, tuple[int, ...]],
) -> Vector:
    """Stems, adjacent stem pairs and the ``phrases`` (longer than two words, found from their
    first stem in ``heads``) of an item, title weighted.

    The summary is read first; the title then overwrites with its (larger) weight.
    """
    x: Vector = {}
    for seq, weight in ((tokens.summary, 1.0), (tokens.title, title_weight)):
        prev = ""
        for i, tok in enumerate(seq):
            if tok[0] == _STOP:
                prev = ""
                continue
            x[tok] = weight
            if prev:
                x[prev + " " + tok] = weight
            prev = tok
            sizes = heads.get(tok)
            if sizes:
                for n in sizes:
                    key = " ".join(seq[i : i + n])
                    if key in phrases:
                        x[key] = weight
    return x


def phrase_heads(phrases: dict[str, float]) -> dict[str, tuple[int, ...]]:
    """First stem -> the lengths of the ``phrases`` it starts that are longer than two words
    (two-word phrases are found as adjacent pairs)."""
    heads: dict[str, tuple[int, ...]] = {}
    for key in phrases:
        size = key.count(" ") + 1
        if size > 2:
            head = key.split(" ", 1)[0]
            heads[head] = tuple(sorted({*heads.get(head, ()), size}))
    return heads


def fingerprint(x: Vector, title_weight: float) -> str:
    """What makes two texts one for learning: the title's words when it has three or more,
    else all the words (so a recurring short title such as "Europe live" is not enough)."""
    words = [f for f in x if " " not in f]
    title = [f for f in words if x[f] == title_weight] if title_weight > 1.0 else []
    chosen = title if len(title) >= 3 else words
    return hashlib.blake2b("\n".join(sorted(chosen)).encode(), digest_size=8).hexdigest()
