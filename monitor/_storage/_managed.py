"""Feeds managed from the CLI and OPML on SQLite: the rows, pause and resume (schema version
4); adding and removing are ``_managed_shared``'s, for both backends."""

from __future__ import annotations

from .._feedset import FeedRow
from ._base import StorageBase

_COLUMNS = "url, name, source, paused, interval, category, html_url, topics"


class ManagedFeedsMixin(StorageBase):
    def feed_rows(self) -> list[FeedRow]:
        return [FeedRow.from_row(r) for r in self._read(f"SELECT {_COLUMNS} FROM feeds")]

    def set_paused(self, url: str, paused: bool) -> None:
        """Pause a feed, or resume it afresh: from its configured address, with a 410 (gone),
        a permanent redirect, the error backoff and the validators forgotten (the next
        request is unconditional; how a user retries them)."""
        with self._write() as conn:
            if paused:
                conn.execute("UPDATE feeds SET paused = 1 WHERE url = ?", (url,))
                return
            conn.execute(
                "UPDATE feeds SET paused = 0, fetch_url = url, error_count = 0, "
                "retry_until = NULL, etag = NULL, last_modified = NULL, body_hash = NULL, "
                # a failed or gone feed starts over: not polled since, no error of before
                "last_error = CASE WHEN last_status IN ('gone', 'error') THEN NULL "
                "ELSE last_error END, last_status = CASE WHEN last_status IN ('gone', 'error') "
                "THEN NULL ELSE last_status END WHERE url = ?",
                (url,),
            )
