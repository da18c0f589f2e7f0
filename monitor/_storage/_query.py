"""``monitor search``'s query, read once for both backends (pure).

The syntax is the subset of SQLite FTS5's that the README documents: words (all must
match), ``"a phrase"``, ``AND`` / ``OR`` / ``NOT`` (upper case) and parentheses,
``prefix*``, ``title:word`` / ``summary:word``. :func:`lex` splits a query into tokens;
:func:`fts5` writes it back for SQLite with every word FTS5 would misread quoted: FTS5 takes
"dam-collapse" as a column filter and "Brennholt's" or "flood?" as syntax errors, where a
user means the words (``_pg_search`` reads the same tokens into PostgreSQL's text search).
"""

from __future__ import annotations

import re
from typing import Literal, NamedTuple

__all__ = ["COLUMNS", "Token", "fts5", "lex", "words"]

COLUMNS = ("title", "summary")
_OPERATORS = ("AND", "OR", "NOT")
_TOKEN = re.compile(r'\s*(?:(\()|(\))|(?:(\w+):)?(?:"([^"]*)("?)|([^\s()"]+)))')
_BAREWORD = re.compile(r"\w+\*?")  # what FTS5 reads as a word (a prefix with its star)
_POSSESSIVE = re.compile(r"['’]s\b", re.IGNORECASE)
_NOT_WORD = re.compile(r"[^\w]+")


def words(text: str) -> str:
    """A word or phrase as the words it holds: "dam-collapse" is "dam collapse", "Japan's"
    is "Japan" (as both indexes read the text: a possessive finds the name), "flood?" is
    "flood"."""
    return " ".join(_NOT_WORD.sub(" ", _POSSESSIVE.sub("", text)).split())


class Token(NamedTuple):
    kind: Literal["(", ")", "op", "word", "phrase"]
    column: str | None  # title / summary: the match must be in that column
    text: str


def lex(query: str) -> list[Token]:
    """The query's tokens; a :class:`ValueError` for an unterminated quote or an empty query.
    A ``name:`` that names no column is part of the word ("10:30")."""
    out: list[Token] = []
    pos = 0
    while query[pos:].strip():
        m = _TOKEN.match(query, pos)
        if m is None:  # pragma: no cover - every non-space character starts a token
            raise ValueError(f"unexpected {query[pos:].strip()[:20]!r}")
        opening, closing, column, phrase, closed, word = m.groups()
        pos = m.end()
        col = column.lower() if column and column.lower() in COLUMNS else None
        if column and col is None:  # not a column: the text is a word of its own
            if phrase is not None:
                out.append(Token("word", None, column))
            else:
                word = f"{column}:{word}"
        if opening:
            out.append(Token("(", None, "("))
        elif closing:
            out.append(Token(")", None, ")"))
        elif phrase is not None:
            if not closed:
                raise ValueError("unterminated string")
            out.append(Token("phrase", col, phrase))
        elif word in _OPERATORS and col is None:
            out.append(Token("op", None, word))
        else:
            out.append(Token("word", col, word))
    if not out:
        raise ValueError("empty query")
    return out


def fts5(query: str) -> str:
    """The query as SQLite FTS5 reads it: words FTS5 would misread quoted (see the module
    docstring); the structure (operators, parentheses, columns) as it was. What is not
    valid (an operator with nothing after it, an unbalanced parenthesis) FTS5 refuses."""
    parts: list[str] = []
    for token in lex(query):
        if token.kind in ("(", ")", "op"):
            parts.append(token.text)
            continue
        if token.kind == "word" and _BAREWORD.fullmatch(token.text):
            text = token.text
        else:
            text = '"' + words(token.text) + '"'  # a phrase of its words: no quote left
        parts.append(f"{token.column}:{text}" if token.column else text)
    return " ".join(parts)
