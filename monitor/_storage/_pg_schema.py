"""The PostgreSQL schema: the SQLite tables (``monitor/_schema.py``) in PostgreSQL's types.

Timestamps are ``timestamptz`` (read back as the same ISO text SQLite stores); ids are
identity columns. ``monitor_schema`` holds the version; :func:`migrate` brings a database
forward in one transaction under an advisory lock, so workers starting at once do not race.
"""

from __future__ import annotations

import psycopg

from ._versions import refuse_version

SCHEMA_VERSION = 11
TEXT_SEARCH = "'english'"  # the text search configuration: English stemming, as FTS5's porter


def document(alias: str = "") -> str:
    """An item's title and summary as text search reads them: the expression of the index
    of schema 8, which ``monitor search`` tests (the planner matches it whatever the alias)."""
    text = f"coalesce({alias}title, '') || ' ' || coalesce({alias}summary, '')"
    return f"to_tsvector({TEXT_SEARCH}, {text})"


_LOCK = 0x6D6F6E69  # pg_advisory_xact_lock key of the migration ("moni")

_V1 = """
CREATE TABLE feeds (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url           text NOT NULL UNIQUE,
    fetch_url     text NOT NULL,
    name          text NOT NULL,
    title         text,
    etag          text,
    last_modified text,
    body_hash     text,
    last_polled   timestamptz,
    last_success  timestamptz,
    last_status   text,
    last_error    text,
    warning       text,
    error_count   integer NOT NULL DEFAULT 0,
    retry_until   timestamptz,
    items_seen    integer NOT NULL DEFAULT 0,
    hits          integer NOT NULL DEFAULT 0,
    source        text NOT NULL DEFAULT 'config',
    paused        integer NOT NULL DEFAULT 0,
    interval      double precision,
    category      text,
    html_url      text,
    added_at      timestamptz
);

CREATE TABLE items (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    feed_id      bigint NOT NULL REFERENCES feeds(id),
    key          text NOT NULL,
    fingerprint  text NOT NULL,
    title        text NOT NULL,
    summary      text NOT NULL,
    link         text NOT NULL,
    published    timestamptz,
    first_seen   timestamptz NOT NULL,
    updated      timestamptz,
    score        double precision,
    topic        text,
    duplicate_of bigint REFERENCES items(id),
    UNIQUE (feed_id, key)
);
CREATE INDEX items_feed_fingerprint ON items (feed_id, fingerprint);
CREATE INDEX items_first_seen ON items (first_seen);
CREATE INDEX items_duplicate_of ON items (duplicate_of) WHERE duplicate_of IS NOT NULL;
-- reused keys (`key#…`) are found by a bytewise range, as in SQLite
CREATE INDEX items_feed_key_c ON items (feed_id, (key COLLATE "C"));

CREATE TABLE hits (
    id          text PRIMARY KEY,
    seq         bigint GENERATED ALWAYS AS IDENTITY UNIQUE,  -- insertion order (SQLite's rowid)
    item_id     bigint NOT NULL REFERENCES items(id),
    topic       text NOT NULL,
    score       double precision NOT NULL,
    matched     text NOT NULL,
    detected_at timestamptz NOT NULL,
    story_id    text,
    alerted     integer NOT NULL,
    title       text,
    summary     text,
    link        text,
    UNIQUE (item_id, topic)
);
CREATE INDEX hits_detected_at ON hits (detected_at);
CREATE INDEX hits_topic ON hits (topic, detected_at);
CREATE INDEX hits_story ON hits (story_id);

CREATE TABLE deliveries (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hit_id       text NOT NULL REFERENCES hits(id),
    channel      text NOT NULL,
    status       text NOT NULL,
    attempts     integer NOT NULL DEFAULT 0,
    next_attempt timestamptz,
    last_attempt timestamptz,
    last_error   text,
    delivered_at timestamptz,
    recipients   text,
    UNIQUE (hit_id, channel)
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt);

CREATE TABLE channels (
    name        text PRIMARY KEY,
    target      text NOT NULL,
    disabled_at timestamptz,
    reason      text
);

CREATE TABLE topic_state (
    topic   text PRIMARY KEY,
    state   text NOT NULL,
    updated timestamptz NOT NULL
);

CREATE TABLE feedback (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic      text NOT NULL,
    item_id    bigint,
    link       text NOT NULL,
    title      text NOT NULL,
    summary    text NOT NULL,
    relevant   integer NOT NULL,
    judged_at  timestamptz NOT NULL,
    UNIQUE (topic, item_id)
)
"""

# 2: feed leases, so that several workers share the feeds (``_pg_claims``)
_V2 = """
ALTER TABLE feeds ADD COLUMN next_poll timestamptz NOT NULL DEFAULT '1970-01-01T00:00:00Z';
ALTER TABLE feeds ADD COLUMN lease_until timestamptz;
ALTER TABLE feeds ADD COLUMN lease_owner text;
CREATE INDEX feeds_next_poll ON feeds (next_poll)
"""

# 3: feed health changes and their alerts' outbox (``_feed_events``; SQLite schema 5),
# idempotent
_V3 = """
CREATE TABLE IF NOT EXISTS feed_events (
    seq      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id       text NOT NULL UNIQUE,
    feed_url text NOT NULL,
    feed     text NOT NULL,
    state    text NOT NULL,
    previous text NOT NULL,
    title    text NOT NULL,
    detail   text NOT NULL,
    at       timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS feed_events_url ON feed_events (feed_url, seq);
CREATE TABLE IF NOT EXISTS feed_event_deliveries (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id     text NOT NULL REFERENCES feed_events(id),
    channel      text NOT NULL,
    status       text NOT NULL,
    attempts     integer NOT NULL DEFAULT 0,
    next_attempt timestamptz,
    last_attempt timestamptz,
    last_error   text,
    delivered_at timestamptz,
    UNIQUE (event_id, channel)
);
CREATE INDEX IF NOT EXISTS feed_event_deliveries_due ON feed_event_deliveries (status, next_attempt)
"""

# 4: the topics an added feed is scored for (SQLite schema 6; a JSON list, NULL: all), kept
# in step with SQLite although feeds are not yet managed from the CLI on PostgreSQL
_V4 = """
ALTER TABLE feeds ADD COLUMN IF NOT EXISTS topics text
"""

# 5: a feed's items by publication time (SQLite's ``items_feed_published``): the adaptive
# pace counts a feed's recent items on every poll, and without it read the feed's history
_V5 = """
CREATE INDEX IF NOT EXISTS items_feed_published ON items (feed_id, published)
"""

# 6: the live workers and a digest of each one's config (``_fleet``): a worker whose config
# differs (a feed or topic on one worker only) is warned of; ``deliveries.digest`` kept in
# step with SQLite's schema 9; ``expired_keys``
# (SQLite's schema 8), filled by ``migrate-db`` (the items retention deleted on SQLite must
# not come back as new) and, since retention runs here too, by retention
_V6 = """
CREATE TABLE IF NOT EXISTS workers (
    owner      text PRIMARY KEY,
    config     text NOT NULL,
    started_at timestamptz NOT NULL,
    seen_at    timestamptz NOT NULL
);
ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS digest text;
CREATE TABLE IF NOT EXISTS expired_keys (
    feed_id     bigint NOT NULL,
    key         text NOT NULL,
    fingerprint text NOT NULL,
    expired_at  timestamptz NOT NULL,
    PRIMARY KEY (feed_id, key)
)
"""

# 7: email digests sent (SQLite's ``digests``, schema 4): digests run on PostgreSQL too
_V7 = """
CREATE TABLE IF NOT EXISTS digests (
    id         text PRIMARY KEY,
    sent_at    timestamptz NOT NULL,
    deliveries integer NOT NULL
)
"""

# 8: full-text search (``monitor search``, SQLite's ``items_fts``): a GIN index of the items'
# title and summary as text search reads them (``_pg_search.document``)
_V8 = f"""
CREATE INDEX IF NOT EXISTS items_text_search ON items USING gin (({document()}))
"""

# 9: ``hits.published``, the judged item's publication time (SQLite's schema 11); existing
# hits take their item's
_V9 = """
ALTER TABLE hits ADD COLUMN IF NOT EXISTS published timestamptz;
UPDATE hits h SET published = i.published FROM items i
    WHERE i.id = h.item_id AND h.published IS NULL AND i.published IS NOT NULL
"""

# 10: ``items.expired_hits``, the topics an item was a hit for whose hits retention deleted
# (SQLite's schema 12): the feed's later edit of the item does not alert them again
_V10 = """
ALTER TABLE items ADD COLUMN IF NOT EXISTS expired_hits text
"""

# 11: the fleet's records of who did what: ``feeds.removed_by``, the worker whose config
# dropped the feed (``monitor feeds`` names it); ``claimed_by`` on both outboxes, the worker
# whose claim holds a pending alert (``monitor deliveries``' waits_for names it)
_V11 = """
ALTER TABLE feeds ADD COLUMN IF NOT EXISTS removed_by text;
ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS claimed_by text;
ALTER TABLE feed_event_deliveries ADD COLUMN IF NOT EXISTS claimed_by text
"""

_MIGRATIONS: dict[int, str] = {
    1: _V1, 2: _V2, 3: _V3, 4: _V4, 5: _V5, 6: _V6, 7: _V7, 8: _V8, 9: _V9, 10: _V10, 11: _V11
}  # fmt: skip


NO_TABLES = "no monitor tables yet"


def check_version(conn: psycopg.Connection[dict[str, object]]) -> None:
    """For a report: refuse a schema of another version, or none (never create nor migrate
    it: older workers of a fleet would find it upgraded under them)."""
    exists = conn.execute("SELECT to_regclass('monitor_schema') AS t").fetchone()
    if not exists or exists["t"] is None:
        raise ValueError(f"{NO_TABLES}; run `monitor once` or `monitor run` first")
    refuse_version(_version(conn), SCHEMA_VERSION, migrates=False)


def migrate(conn: psycopg.Connection[dict[str, object]]) -> int:
    """Create or upgrade the schema (in the connection's ``search_path``) in one transaction;
    the version it had (0: none yet). Refuses a database of a newer version."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS monitor_schema (version integer NOT NULL)")
        version = _version(conn)
        refuse_version(version, SCHEMA_VERSION, migrates=True)
        for step in range(version + 1, SCHEMA_VERSION + 1):
            for statement in _MIGRATIONS[step].split(";"):
                if statement.strip():
                    conn.execute(statement.encode())
        if version < SCHEMA_VERSION:
            conn.execute("DELETE FROM monitor_schema")
            conn.execute("INSERT INTO monitor_schema (version) VALUES (%s)", (SCHEMA_VERSION,))
    return version


def _version(conn: psycopg.Connection[dict[str, object]]) -> int:
    row = conn.execute("SELECT max(version) AS v FROM monitor_schema").fetchone()
    return int(row["v"] or 0) if row else 0  # type: ignore[call-overload]
