"""Full-text search on PostgreSQL: ``monitor search`` with the query syntax it has on SQLite.

The query (FTS5's syntax, the subset the README documents: words, all of which must match;
``"a phrase"``; ``AND``, ``OR``, ``NOT`` — binding in that order from ``NOT`` — and
parentheses; ``prefix*``; ``title:word`` / ``summary:word``) is parsed here into a condition
over PostgreSQL's text search (the ``english`` configuration: words are stemmed, as FTS5's
porter tokenizer stems them). Each word or phrase is one ``@@`` test on the item's title and
summary (the GIN index of schema 8), a column filter one more test on that column alone;
the tests combine with SQL's AND / OR / AND NOT. Results are ranked by ``ts_rank`` against
every word and phrase not under NOT, and the snippet is ``ts_headline``'s.

One difference: a query of stopwords only ("the") matches nothing here (PostgreSQL drops
them from the query), every item with the word on SQLite.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ._pg_base import PostgresBase
from ._pg_schema import TEXT_SEARCH, document
from ._query import Token, lex, words
from ._search import not_a_query

__all__ = ["PgSearchMixin", "SearchQuery", "parse_query"]

_CONFIG = TEXT_SEARCH
DOCUMENT = document("i.")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class SearchQuery:
    """A parsed query: ``where`` (SQL, ``%s`` placeholders; the items table is ``i``) with
    its ``params``, and the tsquery to rank and highlight by (``rank``, ``rank_params``)."""

    where: str
    params: list[str]
    rank: str
    rank_params: list[str]


class _Parser:
    def __init__(self, query: str) -> None:
        self.tokens = lex(query)
        self.pos = 0
        self.positive: list[tuple[str, str]] = []  # (tsquery SQL, its parameter) not under NOT

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def parse(self) -> tuple[str, list[str]]:
        sql, params = self._or(negated=False)
        if (tok := self.peek()) is not None:
            raise ValueError(f"unexpected {tok.text!r}")
        return sql, params

    def _or(self, negated: bool) -> tuple[str, list[str]]:
        parts = [self._and(negated)]
        while (tok := self.peek()) and tok.kind == "op" and tok.text == "OR":
            self.pos += 1
            parts.append(self._and(negated))
        return _join(parts, " OR ")

    def _and(self, negated: bool) -> tuple[str, list[str]]:
        parts = [self._not(negated)]
        while (
            (tok := self.peek())
            and tok.kind != ")"
            and not (tok.kind == "op" and tok.text != "AND")
        ):
            if tok.kind == "op":  # AND
                self.pos += 1
            parts.append(self._not(negated))
        return _join(parts, " AND ")

    def _not(self, negated: bool) -> tuple[str, list[str]]:
        sql, params = self._primary(negated)
        while (tok := self.peek()) and tok.kind == "op" and tok.text == "NOT":
            self.pos += 1
            other, more = self._primary(not negated)
            sql, params = f"({sql} AND NOT {other})", [*params, *more]
        return sql, params

    def _primary(self, negated: bool) -> tuple[str, list[str]]:
        tok = self.peek()
        if tok is None:
            raise ValueError("the query ends where a word was expected")
        kind, column, text = tok
        self.pos += 1
        if kind == "(":
            sql, params = self._or(negated)
            if (end := self.peek()) is None or end.kind != ")":
                raise ValueError("unbalanced parenthesis")
            self.pos += 1
            return f"({sql})", params
        if kind in (")", "op"):
            raise ValueError(f"unexpected {text!r}")
        query, param = _tsquery(kind, text)
        if not negated:
            self.positive.append((query, param))
        test = f"{DOCUMENT} @@ {query}"
        params = [param]
        if column is not None:  # the index finds the item, this keeps it to the column
            test = f"{test} AND to_tsvector({_CONFIG}, coalesce(i.{column}, '')) @@ {query}"
            params.append(param)
        return f"({test})", params


def _tsquery(kind: str, text: str) -> tuple[str, str]:
    """The tsquery SQL (one ``%s``) and its parameter for a word or a phrase."""
    prefix = kind == "word" and text.endswith("*") and len(text) > 1
    word = text[:-1] if prefix else text
    if prefix and _WORD.fullmatch(word):
        return f"to_tsquery({_CONFIG}, %s)", f"{word}:*"
    return f"phraseto_tsquery({_CONFIG}, %s)", words(word)  # a phrase, or a word with
    # punctuation in it: its words ("tsunami-warning" as "tsunami warning")


def _join(parts: list[tuple[str, list[str]]], op: str) -> tuple[str, list[str]]:
    if len(parts) == 1:
        return parts[0]
    return "(" + op.join(sql for sql, _ in parts) + ")", [p for _, ps in parts for p in ps]


def parse_query(query: str) -> SearchQuery:
    """The query's SQL (see the module docstring); a :class:`ValueError` saying what is wrong
    with a query that is not valid."""
    parser = _Parser(query)
    where, params = parser.parse()
    positive = parser.positive or [(f"to_tsquery({_CONFIG}, %s)", "")]
    rank = "(" + " || ".join(sql for sql, _ in positive) + ")"
    return SearchQuery(where, params, rank, [p for _, p in positive])


class PgSearchMixin(PostgresBase):
    def search(
        self,
        query: str,
        *,
        topic: str | None = None,
        hits_only: bool = False,
        limit: int | None = 50,
    ) -> list[dict[str, Any]]:
        """As on SQLite (``Storage.search``): items whose title or summary match, best first."""
        try:
            parsed = parse_query(query)
        except ValueError as exc:
            raise not_a_query(query, str(exc)) from None
        where, params = [parsed.where], list[Any](parsed.params)
        if hits_only:
            where.append("EXISTS (SELECT 1 FROM hits h WHERE h.item_id = i.id)")
        if topic is not None:
            where.append(
                "(i.topic = %s OR EXISTS (SELECT 1 FROM hits h WHERE h.item_id = i.id "
                "AND h.topic = %s))"
            )
            params += [topic, topic]
        rank = parsed.rank
        sql = (
            "SELECT i.id AS item_id, i.title, i.link, f.name AS feed, f.url AS feed_url, "
            "i.published, i.first_seen, "
            "round(i.score::numeric, 3)::float AS score, i.topic, "
            "(SELECT string_agg(h.id, ' ' ORDER BY h.seq) FROM hits h "
            "WHERE h.item_id = i.id) AS hits, "
            f"ts_headline({_CONFIG}, coalesce(i.summary, ''), {rank}, "
            "'StartSel=[, StopSel=], MaxWords=12, MinWords=4, ShortWord=2, "
            "MaxFragments=1, FragmentDelimiter=…') AS snippet "
            "FROM items i JOIN feeds f ON f.id = i.feed_id "
            f"WHERE {' AND '.join(where)} "
            f"ORDER BY ts_rank({DOCUMENT}, {rank}) DESC, i.id DESC"
        )
        params = [*parsed.rank_params, *params, *parsed.rank_params]
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return self._read(sql, params)
