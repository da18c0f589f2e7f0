"""One feed, one poll: fetch → parse → dedup → score → store, then wake the deliverer.

The I/O is here and only here (fetcher, parser pool, storage are passed in); every decision
is delegated to the pure modules (``_decide``, ``_dedup``, the trackers; ``_pollscore`` judges
and groups a poll's entries).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import logging
import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ._config import FeedConfig
from ._decide import WEEK, expired, may_poll, next_poll, retention_cutoff, retry_until
from ._dedup import REUSES_COMPARED, rekey_reused, sort_entries, split_shared_keys
from ._errors import FetchError, ParseError
from ._fetch import Fetcher, FetchResult
from ._health import FAILING_AFTER
from ._lease import Lease, jitter_seconds, next_due
from ._models import Entry, ParsedFeed
from ._parsepool import ParserPool
from ._pollhints import feed_hint, http_hint
from ._pollscore import Grouper, group, judge, trackers_for
from ._redact import redact_text
from ._relevance import Tracker
from ._storage import FeedState, NewItem, Store
from ._times import utcnow

__all__ = ["PollReport", "Poller"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PollReport:
    """The outcome of one poll, for the log line and for callers."""

    feed: str
    # ok | not-modified | unchanged | error | gone | skipped | not-stored (the database
    # refused the poll's results: full, locked, away; the feed's state was not advanced)
    status: str
    new: int = 0
    hits: int = 0
    seconds: float = 0.0
    error: str | None = None
    next_poll: datetime | None = None  # an adaptively polled feed's next poll (None: fixed)


class Poller:
    def __init__(
        self,
        storage: Store,
        fetcher: Fetcher,
        parser: ParserPool,
        trackers: Sequence[Tracker],
        grouper: Grouper,
        *,
        channels: Sequence[str],
        routes: Mapping[str, Sequence[str]] | None = None,
        on_hits: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = utcnow,
        keep_items: float | None = None,
        max_items: int | None = None,
        jitter: float = 0.0,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self.storage = storage
        self.fetcher = fetcher
        self.parser = parser
        self.trackers = trackers
        self.grouper = grouper
        self.channels = tuple(channels)
        self.routes = routes  # [[topics]] channels: a topic's own channels (see _routing)
        self.on_hits = on_hits
        self.clock = clock
        self.keep_items = keep_items  # entries published before the retention period: skipped
        self.max_items = max_items  # entries taken from one feed per poll (the newest)
        # The <ttl> / sy:updatePeriod of each adaptive feed's last body, for its 304 answers.
        self._feed_hints: dict[str, float | None] = {}
        self.jitter = jitter  # a claimed feed's next poll: this fraction of its interval, at most
        self.draw = draw

    async def poll(self, feed: FeedConfig, lease: Lease | None = None) -> PollReport:
        """Poll one feed if it may be asked now; record the outcome on the feed. Never raises
        for a feed's own failure (only for an unusable database).

        ``lease``: the feed as claimed by this worker (PostgreSQL); every outcome is written
        with the feed's next due moment and the lease's release, in one transaction."""
        started = time.monotonic()
        state = lease.feed if lease is not None else self.storage.feed_state(feed.url)
        now = self.clock()
        if not may_poll(state, now):
            if lease is not None:  # a wait set after the claim's due moment: due when it ends
                until = state.retry_until or next_due(lease.feed.next_poll, now, feed.interval)
                self.storage.release_feed(state, lease.owner, until)
            return PollReport(feed.name, "skipped")
        report = await self._poll(feed, state, lease)
        report = dataclasses.replace(report, seconds=time.monotonic() - started)
        log.info(
            "poll feed=%r status=%s new=%d hits=%d seconds=%.2f%s%s",
            feed.name,
            report.status,
            report.new,
            report.hits,
            report.seconds,
            f" error={report.error!r}" if report.error else "",
            f" next={report.next_poll:%Y-%m-%dT%H:%M:%SZ}" if report.next_poll else "",
        )
        _report_health(feed, state.error_count, report)
        if report.hits:
            self.on_hits()
        return report

    def _next(
        self, feed: FeedConfig, lease: Lease | None, now: datetime
    ) -> tuple[str, datetime] | None:
        """A claimed feed's release after a poll that worked: ``(owner, next due moment)``."""
        if lease is None:
            return None
        jitter = jitter_seconds(feed.interval, self.jitter, self.draw())
        return lease.owner, next_due(lease.feed.next_poll, now, feed.interval, jitter)

    def _not_modified(
        self,
        feed: FeedConfig,
        state: FeedState,
        result: FetchResult,
        fetch_url: str,
        lease: Lease | None,
        status: str,
    ) -> PollReport:
        """A 304, or a 200 with the bytes of last time: nothing to parse. Validators the
        server sent are kept (a CDN's new ETag for the same file: else every later poll
        downloads the body in full)."""
        now = self.clock()
        release = self._next(feed, lease, now)
        self.storage.record_not_modified(
            state,
            now,
            fetch_url=fetch_url,
            etag=result.etag,
            last_modified=result.last_modified,
            lease=release,
        )
        return PollReport(feed.name, status)

    async def _poll(self, feed: FeedConfig, state: FeedState, lease: Lease | None) -> PollReport:
        try:
            result = await self.fetcher.fetch(
                state.fetch_url, etag=state.etag, last_modified=state.last_modified
            )
        except FetchError as exc:
            return self._failed(
                feed,
                state,
                str(exc),
                retry_after=exc.retry_after,
                gone=exc.status == 410,
                lease=lease,
            )
        fetch_url = result.permanent_url or state.fetch_url
        if result.status == 304 or result.body is None:
            report = self._not_modified(feed, state, result, fetch_url, lease, "not-modified")
            return self._paced(feed, state, report, result)
        body_hash = hashlib.sha1(result.body).hexdigest()
        if body_hash == state.body_hash:  # same bytes as last time: nothing to parse
            report = self._not_modified(feed, state, result, fetch_url, lease, "unchanged")
            return self._paced(feed, state, report, result)
        try:
            parsed = await self.parser.parse(
                result.body,
                url=result.url,
                headers=result.headers,
                now=self.clock(),
                max_items=self.max_items,
            )
        except ParseError as exc:
            return self._failed(feed, state, str(exc), lease=lease)
        await asyncio.sleep(0)  # let the loop run between the parse and the store
        report = self._store(
            feed,
            state,
            result,
            fetch_url,
            body_hash,
            parsed.title,
            parsed.entries,
            feed_warning(parsed),
            lease,
        )
        return self._paced(feed, state, report, result)

    def _paced(
        self, feed: FeedConfig, state: FeedState, report: PollReport, result: FetchResult
    ) -> PollReport:
        """An adaptively polled feed's next poll, decided (``_decide.next_poll``) from its
        rate and the server's hints after a successful poll, stored and reported."""
        if not feed.adaptive:
            return report
        now = self.clock()
        if result.body is not None:  # a 304 keeps the hint of the body it confirms
            self._feed_hints[feed.url] = feed_hint(result.body)
        when = next_poll(
            now,
            feed.interval,
            min_interval=feed.min_interval,
            max_interval=feed.max_interval,
            weekly=self.storage.entry_frequency(state, now - timedelta(seconds=WEEK)),
            feed_hint=self._feed_hints.get(feed.url),
            http_hint=http_hint(result.headers, now),
        )
        self.storage.record_next_poll(state, when)
        return dataclasses.replace(report, next_poll=when)

    def _store(
        self,
        feed: FeedConfig,
        state: FeedState,
        result: FetchResult,
        fetch_url: str,
        body_hash: str,
        title: str,
        entries: Sequence[Entry],
        warning: str | None,
        lease: Lease | None = None,
    ) -> PollReport:
        known, prints = self.storage.known_entries(state, entries)
        split = split_shared_keys(entries, known)
        if any(a is not b for a, b in zip(split, entries, strict=True)):  # stories that
            # shared a key have their own now
            entries = split
            known, prints = self.storage.known_entries(state, entries)
        changed = [
            e.key for e in entries if e.key in known and known[e.key] != (e.title, e.summary)
        ]
        if changed:  # an edit, or a key reused for another story (judged by the text)
            reuses = self.storage.reused_keys(state, changed, REUSES_COMPARED)
            entries, known = rekey_reused(entries, known, reuses)
        sorted_ = sort_entries(entries, known, prints)
        now = self.clock()
        cutoff = retention_cutoff(now, self.keep_items)
        new = [e for e in sorted_.new if not expired(e.published, cutoff)]
        copies = [e for e in sorted_.duplicates if not expired(e.published, cutoff)]
        if new or copies:  # deleted by retention (even if it is off now), its date no guard
            gone = self.storage.expired_keys(state, [*new, *copies])
            new = [e for e in new if e.key not in gone]
            copies = [e for e in copies if e.key not in gone]
        if copies:  # one re-publication of a story is kept; a link that changes on every
            # request (a session parameter) would add a row per story per poll
            again = self.storage.republished(state, [e.fingerprint for e in copies])
            copies = [e for e in copies if e.fingerprint not in again]
        # Judge every item first (judging changes no state), store, and only once the
        # transaction has committed let the trackers learn: a failed write (locked, disk
        # full) is retried by the next poll, which must not count the same items twice.
        # An edited item is judged again (a page retitled as its story breaks: a topic it
        # was no hit for may alert now, once); judged first, for the trackers learn from the
        # new items alone (what they judged last: an edit is not a new item of the stream).
        trackers = trackers_for(self.trackers, feed)
        _, _, edits = judge(trackers, sorted_.edited)
        tokens, per_topic, judged = judge(trackers, new)
        has_hits = any(j.hit for _, _, judgements in (*judged, *edits) for j in judgements)
        with self.grouper.exclusive() if has_hits else contextlib.nullcontext():
            checkpoint = self.grouper.checkpoint() if has_hits else None
            try:
                items = [group(self.grouper, feed, *judgement, now) for judgement in judged]
                edited = [group(self.grouper, feed, *judgement, now) for judgement in edits]
                items += [NewItem(entry, (), duplicate=True) for entry in copies]
                hits = self.storage.store_poll(
                    state,
                    now,
                    title=title or None,
                    fetch_url=fetch_url,
                    etag=result.etag,
                    last_modified=result.last_modified,
                    body_hash=body_hash,
                    warning=warning,
                    items=items,
                    edited=edited,
                    channels=self.channels,
                    routes=self.routes,
                    lease=self._next(feed, lease, now),
                )
            except BaseException:
                if checkpoint is not None:
                    self.grouper.rollback(checkpoint)
                raise
        for tracker, judgements in zip(trackers, per_topic, strict=True):
            tracker.observe_batch(tokens, judgements, feed.url, now)  # committed: learn
        if warning and _shape(warning) != _shape(state.warning):  # not on every poll
            log.warning("feed=%r %s", feed.name, warning)
        elif state.warning and not warning:
            log.info("feed=%r reads cleanly again", feed.name)
        return PollReport(feed.name, "ok", new=len(new), hits=len(hits))

    def _failed(
        self,
        feed: FeedConfig,
        state: FeedState,
        message: str,
        *,
        retry_after: float | None = None,
        gone: bool = False,
        lease: Lease | None = None,
    ) -> PollReport:
        if state.fetch_url != state.url:  # the address that failed is not the configured one
            message += f" (at {state.fetch_url}, where a permanent redirect moved it)"
        message = redact_text(message)  # a redirect target's or the feed's own credentials
        now = self.clock()
        until = None if gone else retry_until(now, state.error_count + 1, retry_after)
        release = self._next(feed, lease, now)  # claimed: due again when the wait ends
        if release is not None and until is not None:
            release = (release[0], until)
        self.storage.record_failure(
            state, now, message, retry_until=until, gone=gone, lease=release
        )
        if until is not None and until > now + timedelta(minutes=1):
            message += f" (next try after {until:%Y-%m-%d %H:%M:%S} UTC)"
        return PollReport(feed.name, "gone" if gone else "error", error=message)


def _report_health(feed: FeedConfig, failed_before: int, report: PollReport) -> None:
    """A WARNING when a feed reaches ``FAILING_AFTER`` failed polls in a row (once, not at
    every later failure), and when such a feed answers again."""
    if report.status == "error" and failed_before + 1 == FAILING_AFTER:
        log.warning(
            "feed=%r has failed %d polls in a row, the last with: %s (see `monitor feeds`)",
            feed.name,
            FAILING_AFTER,
            report.error,
        )
    elif report.status in ("ok", "not-modified", "unchanged") and failed_before >= FAILING_AFTER:
        log.warning("feed=%r answers again after %d failed polls", feed.name, failed_before)


def feed_warning(parsed: ParsedFeed) -> str | None:
    """What is wrong with a feed that was still read (``feeds.warning``), or None."""
    parts = []
    if parsed.warning:
        parts.append(f"is malformed, kept what could be read: {parsed.warning}")
    if parsed.skipped:
        parts.append(
            f"lists {len(parsed.entries) + parsed.skipped} entries, more than max_items: took "
            f"{len(parsed.entries)}, the newest (undated ones in the order listed)"
        )
    return "; ".join(parts) or None


def _shape(warning: str | None) -> str:
    """A warning but for its numbers (a growing feed's line numbers and counts): a lasting
    one is logged when it starts or changes, not on every poll."""
    return re.sub(r"\d+", "#", warning or "")
