"""A topic's ``exclude`` phrases: an item that contains one is never a hit, whatever its
score (its explanation says which phrase vetoed it)."""

from __future__ import annotations

from collections.abc import Sequence

from monitor._models import Tokens
from monitor._relevance._text import BREAK, analyse

__all__ = ["Exclusions"]


class Exclusions:
    """The phrases, read as written (``analyse(..., joined=False)``), each matched as a run of
    tokens in the title or in the summary."""

    __slots__ = ("_phrases",)

    def __init__(self, phrases: Sequence[str]) -> None:
        self._phrases = [
            (tuple(a.seq), text) for text in phrases if (a := analyse(text, joined=False)).content
        ]

    def __bool__(self) -> bool:
        return bool(self._phrases)

    def match(self, tokens: Tokens) -> str | None:
        """The first phrase found in the item, as configured; None when there is none."""
        seq = [*tokens.title, BREAK, *tokens.summary]
        for gram, text in self._phrases:
            n = len(gram)
            first = gram[0]
            for i, tok in enumerate(seq):
                if tok == first and tuple(seq[i : i + n]) == gram:
                    return text
        return None
