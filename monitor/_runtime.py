"""Assembly: builds the pipeline's parts from the config and hands them to a driver.

``open_runtime`` is shared by ``monitor once`` and ``monitor run``; ``build_trackers`` is
also used by ``monitor classify``, which needs no database.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from ._alerts import build_senders
from ._apprise import extra_senders
from ._config import Config, TopicConfig
from ._decide import retention_cutoff, state_save_due
from ._deliver import Deliverer
from ._digest import DigestDeliverer, take_digest
from ._errors import ConfigError
from ._feedset import config_copies
from ._fetch import Fetcher
from ._fleet import config_digest, sync_config_feeds, worker_name
from ._grouping import PrimedGrouper
from ._judge import linker
from ._lock import DatabaseLock
from ._parsepool import ParserPool, embed_in_child
from ._poll import Poller
from ._redact import redact_url
from ._relevance import SeedFile, Tracker, read_seed_files, release_model
from ._routing import topic_routes
from ._shared_state import save_shared, slim
from ._storage import Store, check_database_folder, open_store, uses_postgres
from ._times import utcnow

log = logging.getLogger(__name__)

FEEDBACK_INTERVAL = 30.0  # seconds: how soon `monitor feedback` reaches a running daemon


@dataclass(slots=True)
class Runtime:
    config: Config
    storage: Store
    trackers: list[Tracker]
    poller: Poller
    deliverer: Deliverer

    judged: dict[str, list[tuple[str, str, bool]]] = field(default_factory=dict)
    digest: DigestDeliverer | None = None  # [alerts.email] mode = "digest"
    # each topic's state as last loaded or saved: what this process learnt since is merged
    bases: dict[str, dict[str, Any]] = field(default_factory=dict)
    shared: bool = False  # other workers save states too (PostgreSQL): merge with theirs
    saved: tuple[float, float] | None = None  # the last state save: (monotonic start, seconds)
    started: datetime = field(default_factory=utcnow)  # a topic new to the database: judged since
    worker: str = field(default_factory=worker_name)  # its name in leases, claims, `workers`

    async def expire(self) -> tuple[int, int]:
        """Apply ``keep_items`` / ``keep_hits``: delete expired rows a batch at a time, letting
        the event loop run (polls, alerts) between batches. Returns ``(items, hits)``."""
        settings = self.config.settings
        if settings.keep_items is None and settings.keep_hits is None:
            return 0, 0
        now = utcnow()
        items_before = retention_cutoff(now, settings.keep_items)
        hits_before = retention_cutoff(now, settings.keep_hits)
        total_items = total_hits = 0
        log.debug("retention: deleting items before %s, hits before %s", items_before, hits_before)
        while True:
            items, hits = self.storage.expire(items_before=items_before, hits_before=hits_before)
            total_items += items
            total_hits += hits
            if not (items or hits):
                break
            await asyncio.sleep(0)
        if total_items or total_hits:
            log.info("retention: deleted %d items and %d hits", total_items, total_hits)
        return total_items, total_hits

    def save_state(self) -> None:
        """Persist what the trackers learned from the stream (IDF, adaptation), merged with
        what other workers saved meanwhile (:func:`save_shared`); clamp waits stored under a
        clock that was ahead (see :func:`clamp_waits`)."""
        began = time.monotonic()
        save_shared(
            self.storage,
            self.trackers,
            self.bases,
            utcnow(),
            shared=self.shared,
            started=self.started,
        )
        clamp_waits(self.storage)
        self.saved = (began, cost := time.monotonic() - began)
        log.debug("learned state saved in %.2f s", cost)

    def save_state_if_due(self, interval: float) -> None:
        """The periodic save, run every ``interval`` seconds: skipped while a costly last save
        says to wait (:func:`~monitor._decide.state_save_due`); waits are clamped either way."""
        if state_save_due(self.saved, time.monotonic(), interval):
            self.save_state()
        else:
            clamp_waits(self.storage)

    def refresh_feedback(self) -> None:
        """Hand each tracker the judgements recorded by ``monitor feedback`` since the last look."""
        self.judged = apply_feedback(self.trackers, self.storage.feedback(), self.judged)


def clamp_waits(storage: Store) -> None:
    """Waits stored under a clock that was ahead (a feed's ``retry_until``, an alert's next
    attempt) are clamped to their own length from now: at start and with every state save."""
    now = utcnow()
    feeds, deliveries = storage.clamp_waits(now), storage.clamp_delivery_waits(now)
    if feeds or deliveries:
        log.warning(
            "the clock was ahead when %d feeds and %d alerts were last tried: "
            "their waits now count from now",
            feeds,
            deliveries,
        )


def _warn_of_unconfigured_topics(storage: Store, config: Config) -> None:
    """A topic renamed (or removed) in the config leaves its learnt state, judgements and hits
    under the old name: said at each start, as nothing else would say it."""
    names = {topic.name for topic in config.topics}
    gone = sorted(set(storage.stored_topics()) - names)
    if gone:
        log.warning(
            "the database holds what topics %s learnt (their state, judgements and hits), "
            "which the config no longer has: a renamed topic starts afresh under its new name; "
            "give it its old name back to keep what it learnt",
            ", ".join(repr(name) for name in gone),
        )


def _warn_of_config_copies(storage: Store, config: Config) -> None:
    """An added feed that is a config feed stored twice (by a release that took the two
    spellings for two feeds) is never polled: said once at each start, as nothing else says
    it (``monitor feeds`` marks it too)."""
    added = [(row.url, row.name) for row in storage.feed_rows() if row.source == "cli"]
    for copy in config_copies(config.feeds, added):
        log.warning("%s", copy.note())


def build_trackers(
    topics: Sequence[TopicConfig],
    storage: Store | None = None,
    bases: dict[str, dict[str, Any]] | None = None,
) -> list[Tracker]:
    """The topics' trackers, restored from the stored state; ``bases`` receives each state
    loaded (what a later save merges against)."""
    trackers = []
    for topic in topics:
        seeds = [seed.text for seed in topic_seed_files(topic) if seed.text]
        trackers.append(new_tracker(topic, seeds))
    if storage is not None:
        restore_trackers(trackers, storage, bases)
    return trackers


def topic_seed_files(topic: TopicConfig) -> list[SeedFile]:
    """The topic's seed files (:func:`read_seed_files`); an error names the config key."""
    try:
        return read_seed_files(topic.seeds)
    except ConfigError as exc:
        if not topic.seeds_key:
            raise
        raise ConfigError(f"{topic.seeds_key}: {exc}") from None


def new_tracker(topic: TopicConfig, seeds: Sequence[str]) -> Tracker:
    """A fresh tracker of ``topic`` from its seed texts."""
    return Tracker(
        topic.name, seeds, threshold=topic.threshold, phrases=topic.phrases, exclude=topic.exclude
    )


def restore_trackers(
    trackers: Sequence[Tracker], storage: Store, bases: dict[str, dict[str, Any]] | None = None
) -> None:
    """Give each tracker its topic's stored state; ``bases`` receives each state loaded."""
    for tracker in trackers:
        if state := storage.topic_state(tracker.name):
            tracker.restore(state)
            if bases is not None:
                bases[tracker.name] = state


def apply_feedback(
    trackers: Sequence[Tracker],
    rows: Sequence[Mapping[str, Any]],
    previous: dict[str, list[tuple[str, str, bool]]] | None = None,
) -> dict[str, list[tuple[str, str, bool]]]:
    """Give each tracker its topic's judgements (``rows`` with topic, title, summary, relevant)
    where they differ from ``previous``; return what each tracker now has. A daemon passes
    ``previous`` (``{}`` at start) and logs what changed; a one-shot command passes none and
    logs it at debug level only (its output is what it prints)."""
    judged: dict[str, list[tuple[str, str, bool]]] = {t.name: [] for t in trackers}
    for row in rows:
        if row["topic"] in judged:
            judged[row["topic"]].append((row["title"], row["summary"], row["relevant"]))
    level = logging.DEBUG if previous is None else logging.INFO
    previous = previous or {}
    for tracker in trackers:
        if judged[tracker.name] != previous.get(tracker.name, []):
            tracker.set_feedback(judged[tracker.name])
            count = len(judged[tracker.name])
            log.log(level, "topic=%s feedback: %d judgements", tracker.name, count)
    return judged


def channel_targets(config: Config) -> dict[str, str]:
    targets = {}
    if config.webhook:  # its URL may hold a token: the database keeps only a digest of it
        digest = hashlib.sha256(config.webhook.url.encode()).hexdigest()[:32]
        targets["webhook"] = f"{redact_url(config.webhook.url)} sha256:{digest}"
    if config.email:
        targets["email"] = f"{config.email.host}:{config.email.port}"
    return targets


@asynccontextmanager
async def open_runtime(config: Config) -> AsyncIterator[Runtime]:
    """Lock the database, open it and build every part; close all of it on the way out."""
    settings = config.settings
    # The seeds first: a topic that cannot be built stops the start before any file is made
    trackers = build_trackers(config.topics)
    # SQLite: one daemon per file (a lock); PostgreSQL is shared by design
    check_database_folder(config)  # (before the lock, which creates the file)
    lock = contextlib.nullcontext() if uses_postgres(config) else DatabaseLock(settings.database)
    with lock:
        storage = open_store(config)
        try:
            worker = worker_name()
            storage.set_worker(worker)
            sync_config_feeds(storage, config, config_digest(config, trackers), worker)
            clamp_waits(storage)
            targets = channel_targets(config)
            storage.enable_changed_channels(targets)
            for name, reason in storage.disabled_channels().items():
                log.error(
                    "channel=%s is disabled after a 410 Gone (%s); point it at another "
                    "endpoint in the config to enable it",
                    name,
                    reason,
                )
            for name, count in storage.pending_channels().items():
                if name not in config.channels:
                    log.warning(
                        "%d alerts wait on channel=%s, which the config no longer has; "
                        "they are kept and go out once it is configured again",
                        count,
                        name,
                    )
            _warn_of_unconfigured_topics(storage, config)
            _warn_of_config_copies(storage, config)
            bases: dict[str, dict[str, Any]] = {}
            restore_trackers(trackers, storage, bases)
            for tracker in trackers:
                # The seeds' vectors: from the saved state, else embedded in a child process
                # (this one never loads the model: the parser workers embed the items).
                tracker.prepare(embed_in_child)
            release_model()  # in case a child failed and the seeds were embedded here
            shared = uses_postgres(config)  # other workers store hits and save states too
            if not shared:
                bases = {name: slim(state) for name, state in bases.items()}
            grouper = PrimedGrouper(settings.story_window, storage, shared=shared)
            workers = settings.parse_workers or None  # 0: the cores it may use (affinity)
            async with (
                httpx.AsyncClient(follow_redirects=False) as client,
                Fetcher(
                    timeout=settings.timeout,
                    deadline=settings.deadline,
                    max_bytes=settings.max_bytes,
                    max_redirects=settings.max_redirects,
                    concurrency=settings.concurrency,
                    per_host=settings.per_host,
                    allow_private=settings.allow_private,
                ) as fetcher,
            ):
                senders = {s.kind: s for s in build_senders(config.webhook, config.email, client)}
                senders.update({s.kind: s for s in extra_senders(config)})  # Apprise
                digest = take_digest(config, storage, senders, several=shared)  # "digest" mode
                deliverer = Deliverer(storage, senders, config.retry_schedule, targets=targets,
                                      outbox_poll=settings.outbox_poll,
                                      link=linker(config.feedback))  # fmt: skip
                async with ParserPool(workers=workers, timeout=settings.parse_timeout) as parser:
                    channels = [*senders, *(["email"] if digest else [])]
                    poller = Poller(
                        storage,
                        fetcher,
                        parser,
                        trackers,
                        grouper,
                        channels=channels,
                        routes=topic_routes(config.topics, channels),
                        on_hits=deliverer.wake,
                        keep_items=settings.keep_items,
                        max_items=settings.max_items,
                        jitter=settings.jitter,
                    )
                    runtime = Runtime(
                        config, storage, trackers, poller, deliverer, bases=bases, shared=shared,
                        worker=worker,
                    )  # fmt: skip
                    runtime.digest = digest
                    runtime.judged = apply_feedback(trackers, storage.feedback(), {})
                    yield runtime
        finally:
            storage.close()
