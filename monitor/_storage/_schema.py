"""The database schema. Documented for users in README.md ("The database").

``PRAGMA user_version`` holds the schema version; :func:`migrate` brings older files forward.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from ._rows import HIT_PUBLISHED
from ._schema_v4 import HIT_DETAILS, apply_v4, hit_details  # version 4's step: its SQL is long
from ._versions import refuse_version

# 3: what a hit judged, frozen at detection, and the recipients an email is still owed;
# 4: full-text search, the hit_details view, managed feeds, digests (see _schema_v4);
# 5: adaptive polling (the next poll decided, an index to count a feed's recent items);
#    feed health changes and their own outbox (``[alerts] feed_health``);
# 6: the topics an added feed is scored for (``monitor feeds add --topic``);
# 7: judgement ids never given twice (``feedback`` rebuilt with AUTOINCREMENT);
# 8: the keys of items retention deleted (``expired_keys``);
# 9: ``hit_details`` shows what a hit judged (frozen at detection), not the item's edited text;
#    the digest an email delivery was put in (``deliveries.digest``);
# 10: delivery numbers never given twice (``deliveries`` rebuilt with AUTOINCREMENT);
# 11: ``hits.published``, the judged item's publication time (a late old item vs a new story);
# 12: ``items.expired_hits``, the topics an item was a hit for whose hits retention deleted.
SCHEMA_VERSION = 12

_V1 = """
CREATE TABLE feeds (
    id            INTEGER PRIMARY KEY,
    url           TEXT NOT NULL UNIQUE,      -- as configured: the feed's identity
    fetch_url     TEXT NOT NULL,             -- where it is fetched now (after permanent redirects)
    name          TEXT NOT NULL,
    title         TEXT,                      -- the feed's own title
    etag          TEXT,
    last_modified TEXT,
    body_hash     TEXT,                      -- sha1 of the last body parsed: same bytes, no parse
    last_polled   TEXT,                      -- every attempt
    last_success  TEXT,
    last_status   TEXT,                      -- ok | not-modified | error | gone
    last_error    TEXT,
    warning       TEXT,                      -- last parser warning for a malformed feed
    error_count   INTEGER NOT NULL DEFAULT 0, -- consecutive failures, drives the backoff
    retry_until   TEXT,                      -- no request before this time (Retry-After, backoff)
    items_seen    INTEGER NOT NULL DEFAULT 0,
    hits          INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE items (
    id           INTEGER PRIMARY KEY,
    feed_id      INTEGER NOT NULL REFERENCES feeds(id),
    key          TEXT NOT NULL,              -- id:<guid> | link:<canonical link> | hash:<sha1>
    fingerprint  TEXT NOT NULL,              -- the story's text: same story, other link
    title        TEXT NOT NULL,
    summary      TEXT NOT NULL,
    link         TEXT NOT NULL,
    published    TEXT,
    first_seen   TEXT NOT NULL,
    updated      TEXT,                       -- last time the feed changed its text
    score        REAL,                       -- best score over the topics
    topic        TEXT,                       -- the topic that gave it
    duplicate_of INTEGER REFERENCES items(id), -- same story re-published in the same feed
    UNIQUE (feed_id, key)
);
CREATE INDEX items_feed_fingerprint ON items (feed_id, fingerprint);
CREATE INDEX items_first_seen ON items (first_seen);

CREATE TABLE hits (
    id          TEXT PRIMARY KEY,            -- stable: the webhook-id of its alerts
    item_id     INTEGER NOT NULL REFERENCES items(id),
    topic       TEXT NOT NULL,
    score       REAL NOT NULL,
    matched     TEXT NOT NULL,               -- JSON [[feature, weight], ...]
    detected_at TEXT NOT NULL,
    story_id    TEXT,                        -- the first hit of the same story
    alerted     INTEGER NOT NULL,            -- 1 when alerts were queued for it
    UNIQUE (item_id, topic)
);
CREATE INDEX hits_detected_at ON hits (detected_at);
CREATE INDEX hits_topic ON hits (topic, detected_at);
CREATE INDEX hits_story ON hits (story_id);

CREATE TABLE deliveries (                   -- the outbox
    id           INTEGER PRIMARY KEY,
    hit_id       TEXT NOT NULL REFERENCES hits(id),
    channel      TEXT NOT NULL,              -- webhook | email
    status       TEXT NOT NULL,              -- pending | delivered | failed
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt TEXT,
    last_attempt TEXT,
    last_error   TEXT,
    delivered_at TEXT,
    UNIQUE (hit_id, channel)
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt);

CREATE TABLE channels (                     -- alert endpoints disabled by a 410 Gone
    name        TEXT PRIMARY KEY,
    target      TEXT NOT NULL,               -- the URL / server it was disabled for
    disabled_at TEXT,
    reason      TEXT
);

CREATE TABLE topic_state (                  -- what each topic's tracker learned from the stream
    topic   TEXT PRIMARY KEY,
    state   TEXT NOT NULL,
    updated TEXT NOT NULL
);
"""

_V2 = """
CREATE TABLE feedback (                     -- explicit judgements: `monitor feedback`
    id         INTEGER PRIMARY KEY,
    topic      TEXT NOT NULL,
    item_id    INTEGER,                      -- the judged item (kept even if the item expires)
    link       TEXT NOT NULL,
    title      TEXT NOT NULL,                -- copied: the tracker learns from the text
    summary    TEXT NOT NULL,
    relevant   INTEGER NOT NULL,             -- 1 relevant, 0 not relevant
    judged_at  TEXT NOT NULL,
    UNIQUE (topic, item_id)
);
-- Retention deletes old items, and SQLite then looks for re-publications pointing at each one
-- (the duplicate_of foreign key): without this index, a scan of every item per deleted row.
CREATE INDEX items_duplicate_of ON items (duplicate_of) WHERE duplicate_of IS NOT NULL;
"""

_V3 = """
-- What was judged, frozen at detection: an alert carries these, so an edit of the item after
-- detection (title, summary, link) cannot rewrite an alert that is still waiting to be sent.
ALTER TABLE hits ADD COLUMN title TEXT;
ALTER TABLE hits ADD COLUMN summary TEXT;
ALTER TABLE hits ADD COLUMN link TEXT;
-- Recipients still owed an email after some refused it for now (a JSON list, NULL for all):
-- a retry goes to them only.
ALTER TABLE deliveries ADD COLUMN recipients TEXT
"""


def check_version(conn: sqlite3.Connection) -> None:
    """For a read-only use: refuse a file of another schema version (never migrate it)."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version == 0 and not conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone():
        raise ValueError("empty database; run `monitor once` or `monitor run` first")
    refuse_version(version, SCHEMA_VERSION, migrates=False)


def _v4(conn: sqlite3.Connection) -> None:
    """Full-text search over items, the ``hit_details`` view and feeds managed from the CLI /
    OPML. Idempotent: every statement is ``IF NOT EXISTS`` or checked first."""
    apply_v4(conn)


def _v5(conn: sqlite3.Connection) -> None:
    """Adaptive polling: ``feeds.next_poll``, the next poll the decider chose after the last
    successful one (a restart honours it), and the index that counts a feed's items of the
    last week without a scan. Idempotent, like version 4."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(feeds)")}
    if "next_poll" not in columns:
        conn.execute("ALTER TABLE feeds ADD COLUMN next_poll TEXT")
    conn.execute("CREATE INDEX IF NOT EXISTS items_feed_published ON items (feed_id, published)")
    for statement in FEED_EVENTS.split(";"):
        conn.execute(statement)


# Feed health changes (ok → silent, failing, gone and back), each recorded once; the last one
# of a feed is its reported state. Their alerts wait in their own outbox table, delivered by
# the same deliverer, retry schedule and channels as the hits' (``deliveries`` points at hits).
FEED_EVENTS = """
CREATE TABLE IF NOT EXISTS feed_events (
    seq      INTEGER PRIMARY KEY,
    id       TEXT NOT NULL UNIQUE,            -- stable: the webhook-id / Message-ID of its alerts
    feed_url TEXT NOT NULL,                   -- feeds.url (no foreign key: a feed may be removed)
    feed     TEXT NOT NULL,                   -- its name then
    state    TEXT NOT NULL,                   -- ok | failing | silent | gone
    previous TEXT NOT NULL,
    title    TEXT NOT NULL,                   -- the log line / alert title
    detail   TEXT NOT NULL,                   -- what `monitor feeds` said (health column)
    at       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS feed_events_url ON feed_events (feed_url, seq);
CREATE TABLE IF NOT EXISTS feed_event_deliveries (
    id           INTEGER PRIMARY KEY,
    event_id     TEXT NOT NULL REFERENCES feed_events(id),
    channel      TEXT NOT NULL,
    status       TEXT NOT NULL,               -- pending | delivered | failed
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt TEXT,
    last_attempt TEXT,
    last_error   TEXT,
    delivered_at TEXT,
    UNIQUE (event_id, channel)
);
CREATE INDEX IF NOT EXISTS feed_event_deliveries_due ON feed_event_deliveries (status, next_attempt)
"""


def _v6(conn: sqlite3.Connection) -> None:
    """``feeds.topics``: the topics an added feed's items are scored for (a JSON list of
    names; NULL: every topic). Idempotent, like version 5."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(feeds)")}
    if "topics" not in columns:
        conn.execute("ALTER TABLE feeds ADD COLUMN topics TEXT")


def _v7(conn: sqlite3.Connection) -> None:
    """``feedback.id`` AUTOINCREMENT: a removed judgement's id is never given to a new one,
    so a retried ``monitor feedback --remove fb_N`` cannot remove a newer judgement. SQLite
    cannot change a key in place: the table is rebuilt, its rows and ids kept."""
    conn.execute(
        """CREATE TABLE feedback_v7 (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    topic      TEXT NOT NULL,
    item_id    INTEGER,
    link       TEXT NOT NULL,
    title      TEXT NOT NULL,
    summary    TEXT NOT NULL,
    relevant   INTEGER NOT NULL,
    judged_at  TEXT NOT NULL,
    UNIQUE (topic, item_id)
)"""
    )
    conn.execute(
        "INSERT INTO feedback_v7 (id, topic, item_id, link, title, summary, relevant, "
        "judged_at) SELECT id, topic, item_id, link, title, summary, relevant, judged_at "
        "FROM feedback"
    )
    conn.execute("DROP TABLE feedback")
    conn.execute("ALTER TABLE feedback_v7 RENAME TO feedback")


_V8 = """
-- The keys of items retention deleted that their date cannot keep out (undated, or dated
-- within the period): while the feed still lists one (the same key, the same text), it is
-- not taken in again as new, which would alert again under the same hit id. Kept for a year.
CREATE TABLE IF NOT EXISTS expired_keys (
    feed_id     INTEGER NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    expired_at  TEXT NOT NULL,
    PRIMARY KEY (feed_id, key)
) WITHOUT ROWID
"""


def _v9(conn: sqlite3.Connection) -> None:
    """``hit_details`` with the hit's own title, link and summary (schema 3 froze them at
    detection; the view read the item's, which a feed's edit changes); ``deliveries.digest``,
    the email digest a row was put in (a resend carries the same rows, under the same id)."""
    conn.execute("DROP VIEW IF EXISTS hit_details")
    conn.execute(HIT_DETAILS)
    columns = {row[1] for row in conn.execute("PRAGMA table_info(deliveries)")}
    if "digest" not in columns:
        conn.execute("ALTER TABLE deliveries ADD COLUMN digest TEXT")


_DELIVERY_COLUMNS = (
    "id, hit_id, channel, status, attempts, next_attempt, last_attempt, last_error, "
    "delivered_at, recipients, digest"
)


def _v10(conn: sqlite3.Connection) -> None:
    """``deliveries.id`` AUTOINCREMENT: the number ``monitor deliveries`` shows and
    ``redeliver`` takes is never given to another hit, also once retention deleted the
    newest rows (a quiet topic's last hits expire). Rebuilt as version 7 rebuilt
    ``feedback``, rows and numbers kept; the view that reads the table is made again.
    ``recipients`` is added first where it is missing: version 3 as first released froze
    the hits' text but had no ``recipients`` yet (it joined version 3 later, unnumbered)."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(deliveries)")}
    if "recipients" not in columns:
        conn.execute("ALTER TABLE deliveries ADD COLUMN recipients TEXT")
    conn.execute("DROP VIEW IF EXISTS hit_details")
    conn.execute(
        """CREATE TABLE deliveries_v10 (            -- the outbox
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    hit_id       TEXT NOT NULL REFERENCES hits(id),
    channel      TEXT NOT NULL,              -- webhook | email
    status       TEXT NOT NULL,              -- pending | delivered | failed
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt TEXT,
    last_attempt TEXT,
    last_error   TEXT,
    delivered_at TEXT,
    recipients   TEXT,                       -- JSON list: the recipients still owed it
    digest       TEXT,                       -- the email digest it was put in
    UNIQUE (hit_id, channel)
)"""
    )
    conn.execute(
        f"INSERT INTO deliveries_v10 ({_DELIVERY_COLUMNS}) "
        f"SELECT {_DELIVERY_COLUMNS} FROM deliveries"
    )
    conn.execute("DROP TABLE deliveries")
    conn.execute("ALTER TABLE deliveries_v10 RENAME TO deliveries")
    conn.execute("CREATE INDEX deliveries_due ON deliveries (status, next_attempt)")
    conn.execute(HIT_DETAILS)


def _v11(conn: sqlite3.Connection) -> None:
    """``hits.published``: the judged item's publication time as the feed gave it (NULL when
    it gave none), frozen at detection like the hit's title and link, so that an item
    published days ago and detected now reads as such beside ``detected_at``. Existing hits
    take their item's (the items kept it from the start); ``hit_details`` shows the hit's.
    Idempotent, like version 5."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(hits)")}
    if "published" not in columns:
        conn.execute("ALTER TABLE hits ADD COLUMN published TEXT")
        conn.execute(
            "UPDATE hits SET published = "
            "(SELECT i.published FROM items i WHERE i.id = hits.item_id)"
        )
    conn.execute("DROP VIEW IF EXISTS hit_details")
    conn.execute(hit_details(HIT_PUBLISHED))


def _v12(conn: sqlite3.Connection) -> None:
    """``items.expired_hits``: the topics an item was a hit for whose hit rows ``keep_hits``
    deleted (a JSON object, topic: 1 alerted / 0 not; NULL: none), so that the feed's later
    edit of the item, judged again, does not alert them again. Idempotent, like version 5."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(items)")}
    if "expired_hits" not in columns:
        conn.execute("ALTER TABLE items ADD COLUMN expired_hits TEXT")


_MIGRATIONS: dict[int, str | Callable[[sqlite3.Connection], None]] = {
    1: _V1,
    2: _V2,
    3: _V3,
    4: _v4,
    5: _v5,
    6: _v6,
    7: _v7,
    8: _V8,
    9: _v9,
    10: _v10,
    11: _v11,
    12: _v12,
}


def migrate(conn: sqlite3.Connection) -> int:
    """Create or upgrade the schema in one transaction; the version the file had (0: a new
    one). Refuses files from a newer version.

    The version is read again once the write lock is held: two processes opening a new
    database at once (a daemon starting, `monitor feeds add` beside it) both see version 0,
    and the second to get the lock must find the first one's schema, not create it again
    (and only the one that upgraded says it did)."""
    if _version(conn) == SCHEMA_VERSION:
        return SCHEMA_VERSION
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = _version(conn)
        for step in range(version + 1, SCHEMA_VERSION + 1):
            migration = _MIGRATIONS[step]
            if callable(migration):
                migration(conn)
                continue
            for statement in migration.split(";"):
                if statement.strip():
                    conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # SQLite may have rolled back already (a full disk: its
            conn.execute("ROLLBACK")  # error, not "cannot rollback", must reach the user)
        raise
    return version


def _version(conn: sqlite3.Connection) -> int:
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    refuse_version(version, SCHEMA_VERSION, migrates=True)
    return version
