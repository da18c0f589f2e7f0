"""Schema version 4 (issue 13): full-text search, the ``hit_details`` view, managed feeds.

Documented for users in README.md ("The database"). Every statement is idempotent, so the step
can run on a file that already has part of it.

* ``items_fts``: an external-content FTS5 index of ``items(title, summary)``, kept in sync by
  three triggers. The table and trigger names and the SQL are the ones sqlite-utils'
  ``enable_fts(["title", "summary"], create_triggers=True)`` writes (so sqlite-utils and
  Datasette find the index, and ``_search`` works), with two differences: the Porter stemmer
  (``talks`` finds ``talk``), and the update trigger fires only when the title or summary
  change (retention's ``duplicate_of`` updates do not rewrite the index). The SQL is written
  here rather than called through sqlite-utils because sqlite-utils runs ``executescript``,
  which would commit in the middle of the migration's single transaction.
* ``hit_details``: one row per hit with everything a person asks about it, no joins needed.
* ``feeds``: ``source`` (``config`` or ``cli``), ``paused``, ``interval`` (seconds, for feeds
  added from the CLI or OPML), ``category`` and ``html_url`` (kept for the OPML export),
  ``added_at``.
* ``digests``: the email digests sent (``[alerts.email] mode = "digest"``).
"""

from __future__ import annotations

import sqlite3

_FTS = [
    """CREATE VIRTUAL TABLE IF NOT EXISTS [items_fts] USING FTS5 (
    [title], [summary],
    tokenize='porter unicode61 remove_diacritics 2',
    content=[items]
)""",
    """CREATE TRIGGER IF NOT EXISTS [items_ai] AFTER INSERT ON [items] BEGIN
  INSERT INTO [items_fts] (rowid, [title], [summary])
  VALUES (new.rowid, new.[title], new.[summary]);
END""",
    """CREATE TRIGGER IF NOT EXISTS [items_ad] AFTER DELETE ON [items] BEGIN
  INSERT INTO [items_fts] ([items_fts], rowid, [title], [summary])
  VALUES ('delete', old.rowid, old.[title], old.[summary]);
END""",
    """CREATE TRIGGER IF NOT EXISTS [items_au] AFTER UPDATE OF [title], [summary] ON [items]
BEGIN
  INSERT INTO [items_fts] ([items_fts], rowid, [title], [summary])
  VALUES ('delete', old.rowid, old.[title], old.[summary]);
  INSERT INTO [items_fts] (rowid, [title], [summary])
  VALUES (new.rowid, new.[title], new.[summary]);
END""",
]


def hit_details(published: str = "i.published") -> str:
    """The ``hit_details`` view. ``published``: the expression of its column of that name
    (the item's until schema 11 gave hits their own: ``_schema._v11``)."""
    return f"""CREATE VIEW IF NOT EXISTS hit_details AS
SELECT
    h.id AS hit_id,
    h.detected_at,
    h.topic,
    round(h.score, 3) AS score,
    coalesce(h.title, i.title) AS title,
    coalesce(h.link, i.link) AS link,
    f.name AS feed,
    {published},
    h.story_id,
    h.alerted,
    CASE
        WHEN NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.hit_id = h.id) THEN NULL
        WHEN EXISTS (SELECT 1 FROM deliveries d WHERE d.hit_id = h.id AND d.status = 'failed')
            THEN 'failed'
        WHEN EXISTS (SELECT 1 FROM deliveries d WHERE d.hit_id = h.id AND d.status = 'pending')
            THEN 'pending'
        ELSE 'delivered'
    END AS delivery_status,
    (SELECT group_concat(d.channel || ':' || d.status, ' ') FROM deliveries d
     WHERE d.hit_id = h.id) AS deliveries,
    coalesce(h.summary, i.summary) AS summary,
    h.item_id,
    f.url AS feed_url
FROM hits h
JOIN items i ON i.id = h.item_id
JOIN feeds f ON f.id = i.feed_id"""


HIT_DETAILS = hit_details()  # as versions 4, 9 and 10 made it

DIGESTS = """CREATE TABLE IF NOT EXISTS digests (  -- email digests sent ([alerts.email] mode)
    id         TEXT PRIMARY KEY,                  -- the Message-ID: digest_<hash of its rows>
    sent_at    TEXT NOT NULL,
    deliveries INTEGER NOT NULL                   -- outbox rows it delivered
)"""

_FEED_COLUMNS = {
    "source": "TEXT NOT NULL DEFAULT 'config'",  # config | cli (added by `feeds add`/OPML)
    "paused": "INTEGER NOT NULL DEFAULT 0",
    "interval": "REAL",  # seconds; NULL = [monitor] interval (config feeds: from the config)
    "category": "TEXT",  # OPML category, kept for the export
    "html_url": "TEXT",  # the site's page (OPML htmlUrl)
    "added_at": "TEXT",
}


def apply_v4(conn: sqlite3.Connection) -> None:
    had_index = _exists(conn, "table", "items_fts")
    for statement in _FTS:
        conn.execute(statement)
    if not had_index:  # index what is already stored
        conn.execute("INSERT INTO [items_fts] ([items_fts]) VALUES ('rebuild')")
    conn.execute(HIT_DETAILS)
    conn.execute(DIGESTS)
    have = {row[1] for row in conn.execute("PRAGMA table_info(feeds)")}
    for name, decl in _FEED_COLUMNS.items():
        if name not in have:
            conn.execute(f"ALTER TABLE feeds ADD COLUMN [{name}] {decl}")


def _exists(conn: sqlite3.Connection, kind: str, name: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = ? AND name = ?", (kind, name)
    ).fetchone()
    return row is not None
