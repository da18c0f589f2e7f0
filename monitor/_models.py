"""Plain values that flow through the pipeline.

feeds → fetch → parse → dedup → score → store → alert.

Every stage takes and returns these frozen values; none of them does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Tokens:
    """An item's title and summary as the relevance analyser's sequence tokens.

    Stems, and stopwords kept as the word behind a NUL mark (``_relevance._text.sequence``).
    Pure and topic-free, so the parser workers compute them next to the parse and the main
    process's trackers and story grouper start from them instead of tokenising again.
    """

    title: tuple[str, ...]
    summary: tuple[str, ...]
    # The words behind title + summary tokens, as written (case kept, accents folded): what
    # an explanation shows ("France", not the stem "franc").
    words: tuple[str, ...] = ()
    # The text's unit embedding (float32 bytes) for the semantic channel, when its model is
    # installed (``_relevance._semantic``); None otherwise.
    meaning: bytes | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    """One feed entry, normalised by the parser.

    ``key`` is stable across polls: ``id:<guid>``, else ``link:<canonical link>``, else
    ``hash:<sha1 of title and summary>``. ``fingerprint`` identifies the story's text
    (normalised title) so that the same story re-published under another link is recognised.
    """

    key: str
    title: str
    summary: str
    link: str
    published: datetime | None  # timezone-aware UTC, or None when the feed gave no usable date
    fingerprint: str
    # Derived from title and summary by the parser workers; None when not (yet) computed.
    tokens: Tokens | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """What the parser recovered from one body; ``warning`` is set for malformed feeds."""

    title: str
    entries: tuple[Entry, ...]
    warning: str | None = None
    skipped: int = 0  # entries beyond the cap on items per poll (the oldest), not kept


@dataclass(frozen=True, slots=True)
class Judgement:
    """The scorer's decision on one item for one topic.

    ``score`` is calibrated to 0–1; ``matched`` lists the features that carried the score,
    heaviest first, as ``(feature, contribution)`` pairs.
    """

    topic: str
    score: float
    hit: bool
    matched: tuple[tuple[str, float], ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Alert:
    """Everything an alert sender needs to announce one hit. Built from the database row.

    ``id`` is the hit's stable id: it is the webhook's ``webhook-id`` and the email's
    Message-ID stem, so a repeated delivery carries the same id and receivers can drop it.
    """

    id: str
    topic: str
    score: float
    title: str
    summary: str
    link: str
    feed: str  # the feed's display name
    feed_url: str
    published: datetime | None
    detected_at: datetime
    matched: tuple[tuple[str, float], ...]
    story_id: str | None = None
    kind: str = "hit"  # "hit", or "feed_health" (a feed turned silent, failing, gone, or back)
    # [feedback]: the signed links that judge the hit (irrelevant, relevant); None: none
    judge: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class FeedState:
    """What the database knows about one configured feed."""

    id: int
    url: str
    fetch_url: str
    name: str
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    last_polled: datetime | None
    last_status: str | None
    error_count: int
    retry_until: datetime | None
    # PostgreSQL with several workers: when the feed fell due (as claimed); None otherwise
    next_poll: datetime | None = None
    warning: str | None = None  # the last poll's (a malformed body, entries over max_items)

    @property
    def gone(self) -> bool:
        return self.last_status == "gone"
