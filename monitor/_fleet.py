"""PostgreSQL workers check that they run the same configuration.

Every worker must be given the same config (README, "PostgreSQL and several workers"); one
that differs drifts silently: a feed only its config lists is marked removed by every other
worker's start and then polled by nobody, a topic only it has scores only the feeds it claims.
So each worker records a digest of what it polls, scores and alerts to (:func:`config_digest`)
in the ``workers`` table when it starts and every :data:`FLEET_INTERVAL`, and warns when a live
worker (seen within :data:`WORKER_FRESH`) runs another digest.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from ._config import Config
from ._relevance import Tracker
from ._storage import Store

log = logging.getLogger(__name__)

FLEET_INTERVAL = 60.0  # seconds between check-ins
WORKER_FRESH = timedelta(seconds=3 * FLEET_INTERVAL)  # a worker not seen since is not live


def config_digest(config: Config, trackers: Sequence[Tracker]) -> str:
    """What must be the same on every worker: the configured feeds and their pace and topics,
    the topics (threshold, vetoes, channels, and the seed texts and phrases their profile is
    made of, wherever the seeds folder is), the alert channels and when mail goes out (one
    mail per hit or digests, their times, the quiet hours). Not the machine's own settings
    (concurrency, parse workers), which may differ."""
    feeds = sorted(
        [f.url, f.interval, f.min_interval, f.max_interval, list(f.topics or ())]
        for f in config.feeds
    )
    topics = sorted(
        [t.name, t.threshold, list(t.exclude), list(t.channels or ())] for t in config.topics
    )
    profiles = sorted([t.name, t.seeds_digest] for t in trackers)
    email = config.email
    mail = None  # when mail goes out: every worker sends it, by the same rule
    if email is not None:
        mail = [email.mode, list(email.digest_at), email.digest_every, email.timezone,
                None if email.quiet_hours is None else list(email.quiet_hours)]  # fmt: skip
    text = json.dumps([feeds, topics, profiles, sorted(config.channels), mail], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Fleet:
    """This worker's check-ins; warns once per change of the set of workers that differ."""

    def __init__(self, owner: str, digest: Callable[[], str]) -> None:
        self.owner = owner
        self.digest = digest  # recomputed at each check-in: a SIGHUP changes the feeds
        self.differ: list[str] = []

    def check(self, storage: Store, now: datetime) -> None:
        mine = self.digest()
        others = storage.check_in(self.owner, mine, now, fresh=WORKER_FRESH)
        differ = [owner for owner, digest in others if digest != mine]
        if differ and differ != self.differ:
            log.warning(
                "worker %s runs config %s; %d other live worker(s) run another: %s. Feeds, "
                "topics, seeds, alert channels or when mail goes out differ: a feed only one "
                "config lists is marked removed at the others' start and may go unpolled; a "
                "worker mailing each hit at once empties the others' digests, one without "
                "their quiet hours mails inside them. Give every worker the same config (and "
                "seed files)",
                self.owner,
                mine,
                len(differ),
                ", ".join(f"{owner} ({digest})" for owner, digest in others if owner in differ),
            )
        elif not differ and self.differ:
            log.info("every live worker runs the same config again (%s)", mine)
        self.differ = differ

    def leave(self, storage: Store) -> None:
        storage.check_out(self.owner)
