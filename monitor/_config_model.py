"""The configuration's values: frozen dataclasses, one per table (``_config`` reads them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# Standard Webhooks: retries after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
DEFAULT_RETRY_SCHEDULE = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    url: str
    secret: str | None = field(default=None, repr=False)  # "whsec_<base64>" or raw; never logged
    timeout: float = 10.0


@dataclass(frozen=True, slots=True)
class EmailConfig:
    host: str
    port: int
    tls: str  # "starttls" | "ssl" | "none"
    sender: str
    recipients: tuple[str, ...]
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    mode: str = "each"  # "each": one message per hit; "digest": one per schedule slot
    digest_at: tuple[str, ...] = ("08:00",)  # digest: local times "HH:MM" (in `timezone`)
    digest_every: float | None = None  # digest: instead of digest_at, every so many seconds
    timezone: str = "UTC"
    # digest: ("22:00", "07:00"), local times in `timezone`: no digest is sent from the first
    # (included) to the second (excluded); None: no quiet hours
    quiet_hours: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class AppriseConfig:
    """``[alerts.apprise]``: Apprise URLs (ntfy, Slack, Telegram, Matrix, Discord …)."""

    urls: tuple[str, ...] = field(repr=False)  # they carry tokens: never logged
    timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class TopicConfig:
    name: str
    seeds: Path
    threshold: float | None = None
    phrases: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    # The alert channels its hits go to, by name ("webhook", "email", "apprise"); None: all.
    channels: tuple[str, ...] | None = None
    # Where the seeds folder was configured ("config.toml: [[topics]][1].seeds"), so that an
    # error found when the seed files are read names the config key as the loader's do.
    seeds_key: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class FeedConfig:
    url: str
    name: str
    interval: float  # fixed pace; for an adaptive feed, the pace until its rate is known
    # Adaptive polling (both set) or a fixed interval (both None): see _decide.next_interval.
    min_interval: float | None = None
    max_interval: float | None = None
    # The topics its items are scored for (`monitor feeds add --topic`); None: every topic.
    topics: tuple[str, ...] | None = None

    @property
    def adaptive(self) -> bool:
        return self.min_interval is not None


@dataclass(frozen=True, slots=True)
class Settings:
    """The ``[monitor]`` table."""

    database: Path
    interval: float = 600.0
    # Adaptive polling for feeds without an interval of their own; None: not configured.
    min_interval: float | None = None
    max_interval: float | None = None
    dsn: str | None = None  # a PostgreSQL URL ([monitor] database or database_env); None: SQLite
    jitter: float = 0.1  # fraction of the interval, capped at 5 minutes
    concurrency: int = 32
    per_host: int = 2
    timeout: float = 20.0
    deadline: float = 30.0
    max_bytes: int = 15 * 2**20
    max_redirects: int = 5
    parse_timeout: float = 30.0
    parse_workers: int = 0  # 0 = one per core
    story_window: float = 3 * 86400.0
    keep_items: float | None = None  # items first seen longer ago are deleted; None = keep all
    keep_hits: float | None = None  # the same for hits (and their alerts); None = forever
    max_items: int = 1000  # entries taken from one feed per poll (the newest)
    allow_private: bool = True  # False: feeds on loopback/private addresses are refused
    metrics: tuple[str, int] | None = None  # (host, port) of /metrics and /healthz; None = off
    lease: float = 120.0  # PostgreSQL: seconds a worker holds the feeds and alerts it claims
    outbox_poll: float = 5.0  # seconds between looks at the outbox for other processes' alerts


@dataclass(frozen=True, slots=True)
class FeedbackConfig:
    """``[feedback]``: the judge pages ``monitor run`` serves, and the links alerts carry."""

    listen: tuple[str, int]  # where the pages are served
    url: str  # how a reader's browser reaches them (the links' base)
    secret: str | None = field(default=None, repr=False)  # signs the links; None: not read


CHANNEL_NAMES = ("webhook", "email", "apprise")  # [alerts.<name>]: a topic's channels name them


@dataclass(frozen=True, slots=True)
class Config:
    path: Path
    settings: Settings
    topics: tuple[TopicConfig, ...]
    feeds: tuple[FeedConfig, ...]
    webhook: WebhookConfig | None = None
    email: EmailConfig | None = None
    retry_schedule: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE
    apprise: AppriseConfig | None = None
    feed_health: bool = False  # [alerts] feed_health: a feed's health changes alert too
    feedback: FeedbackConfig | None = None  # [feedback]: judge links in alerts; None: off

    @property
    def channels(self) -> tuple[str, ...]:
        """The alert channels configured (``[alerts.<name>]``), by name."""
        return tuple(name for name in CHANNEL_NAMES if getattr(self, name) is not None)


def is_postgres_url(text: str) -> bool:
    return text.startswith(("postgresql://", "postgres://"))
