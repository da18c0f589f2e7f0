"""PostgreSQL workers check that they run the same configuration.

Every worker must be given the same config (README, "PostgreSQL and several workers"); one
that differs drifts: a topic only it has scores only the feeds it claims, its alerts go where
its channels say. So each worker records a digest of what it polls, scores and alerts to
(:func:`config_digest`) in the ``workers`` table when it starts and every
:data:`FLEET_INTERVAL`, and warns when a live worker (seen within :data:`WORKER_FRESH`) runs
another digest. A feed the worker's config lacks is marked removed (:func:`sync_config_feeds`)
only while every live worker runs this worker's config: an outdated config does not take a
feed from the others; the removal waits (logged) until the fleet agrees.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import socket
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ._config import Config
from ._redact import redact_url
from ._relevance import Tracker
from ._storage import Store
from ._times import utcnow

if TYPE_CHECKING:
    from ._runtime import Runtime

log = logging.getLogger(__name__)

FLEET_INTERVAL = 60.0  # seconds between check-ins
WORKER_FRESH = timedelta(seconds=3 * FLEET_INTERVAL)  # a worker not seen since is not live


def worker_name() -> str:
    """A worker's name in the leases: host, pid and a random part (a pid is reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def sync_config_feeds(storage: Store, config: Config, digest: str, by: str) -> list[str]:
    """``storage.sync_feeds`` for ``by`` (a worker, or a command) whose config has digest
    ``digest``: the feeds its config lacks are marked removed only when no live worker runs
    another config (one may list them: ``by``'s config may be the outdated one); else each is
    named in a WARNING and left to the fleet. Returns the URLs left."""
    differ = sorted(
        owner for owner, other in storage.live_workers(utcnow(), fresh=WORKER_FRESH)
        if other != digest and owner != by
    )  # fmt: skip
    dropped = storage.sync_feeds(config.feeds, remove=not differ, by=by)
    for url in dropped:
        if differ:
            log.warning(
                "feed url=%r is not in the config of %s (%s), but live worker(s) %s run "
                "another config: not marked removed; it is removed once every worker runs "
                "the same config",
                redact_url(url), by, config.path, ", ".join(differ),
            )  # fmt: skip
        else:
            log.info("feed url=%r: not in the config of %s: marked removed", redact_url(url), by)
    return dropped if differ else []


def config_digest(config: Config, trackers: Sequence[Tracker]) -> str:
    """What must be the same on every worker: the configured feeds and their pace and topics,
    the topics (threshold, vetoes, channels, and the seed texts and phrases their profile is
    made of, wherever the seeds folder is), the alert channels and where they send (the
    webhook's URL and secret, the mail server, sender and recipients, the Apprise URLs),
    the retry schedule, when mail goes out (one mail per hit or digests, their times, the
    quiet hours), the judge links (their base URL and secret: a link one worker signs must
    be one another accepts), the story window, retention and the lease. Secrets and URLs,
    which may carry tokens, go in only as their own hash. Not the machine's own settings
    (concurrency, parse workers, where it serves /metrics or the judge pages), which may
    differ."""
    feeds = sorted(
        [f.url, f.interval, f.min_interval, f.max_interval, list(f.topics or ())]
        for f in config.feeds
    )
    topics = sorted(
        [t.name, t.threshold, list(t.exclude), list(t.channels or ())] for t in config.topics
    )
    profiles = sorted([t.name, t.seeds_digest] for t in trackers)
    email = config.email
    mail = None  # where and when mail goes out: every worker sends it, by the same rule
    if email is not None:
        mail = [email.mode, list(email.digest_at), email.digest_every, email.timezone,
                None if email.quiet_hours is None else list(email.quiet_hours),
                email.host, email.port, email.sender, sorted(email.recipients)]  # fmt: skip
    hook = config.webhook
    webhook = None if hook is None else [_hashed(hook.url), _hashed(hook.secret)]
    apprise = None if config.apprise is None else sorted(_hash(url) for url in config.apprise.urls)
    judge = config.feedback
    feedback = None if judge is None else [judge.url, _hashed(judge.secret)]
    s = config.settings
    shared = [s.story_window, s.keep_items, s.keep_hits, s.lease, list(config.retry_schedule)]
    text = json.dumps(
        [feeds, topics, profiles, sorted(config.channels), mail, webhook, apprise, feedback,
         shared],
        sort_keys=True,
    )  # fmt: skip
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _hashed(secret: str | None) -> str | None:
    """A secret (or a URL that may carry a token) as it goes into the digest: its hash."""
    return None if secret is None else _hash(secret)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Fleet:
    """This worker's check-ins; warns once per change of the set of workers that differ.
    When they agree again, ``agreed`` runs (the feed removals left while they differed)."""

    def __init__(
        self, owner: str, digest: Callable[[], str], agreed: Callable[[], object] | None = None
    ) -> None:
        self.owner = owner
        self.digest = digest  # recomputed at each check-in: a SIGHUP changes the feeds
        self.agreed = agreed
        self.differ: list[str] = []

    def check(self, storage: Store, now: datetime) -> None:
        mine = self.digest()
        others = storage.check_in(self.owner, mine, now, fresh=WORKER_FRESH)
        differ = [owner for owner, digest in others if digest != mine]
        if differ and differ != self.differ:
            log.warning(
                "worker %s runs config %s; %d other live worker(s) run another: %s. Feeds, "
                "topics, seeds, alert channels and their addresses or secrets, when mail goes "
                "out, the judge links' secret, the story window, retention or the lease "
                "differ: a feed one config lacks is not removed while they differ (a worker "
                "claiming it without it hands it back); a worker mailing each hit at once "
                "empties the others' digests, one without their quiet hours mails inside "
                "them. Give every worker the same config (and seed files)",
                self.owner,
                mine,
                len(differ),
                ", ".join(f"{owner} ({digest})" for owner, digest in others if owner in differ),
            )
        elif not differ and self.differ:
            log.info("every live worker runs the same config again (%s)", mine)
            if self.agreed is not None:
                self.agreed()
        self.differ = differ

    def leave(self, storage: Store) -> None:
        storage.check_out(self.owner)


def runtime_fleet(rt: Runtime) -> Fleet:
    """The check-ins of the worker ``rt`` runs: its digest follows its config (a SIGHUP
    changes the feeds); when the workers agree again, the feed removals it left are made."""

    def digest() -> str:
        return config_digest(rt.config, rt.trackers)

    def agreed() -> None:
        sync_config_feeds(rt.storage, rt.config, digest(), rt.worker)

    return Fleet(rt.worker, digest, agreed)
