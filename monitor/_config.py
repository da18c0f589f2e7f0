"""Configuration: a TOML file → validated, frozen values.

Every key is checked; unknown keys are refused. Errors name the file, the key and what was
expected, e.g. ``config.toml: [[feeds]][2].interval: expected a duration such as '10m',
got 'soon'``.
Secrets (webhook secret, SMTP password) are read from the environment or a file the config
names and never appear in messages or reprs.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlsplit

from ._durations import format_duration, parse_duration
from ._errors import ConfigError
from ._redact import redact_url
from ._urls import feed_identity

T = TypeVar("T")

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


@dataclass(frozen=True, slots=True)
class FeedConfig:
    url: str
    name: str
    interval: float


@dataclass(frozen=True, slots=True)
class Settings:
    """The ``[monitor]`` table."""

    database: Path
    interval: float = 600.0
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


def is_postgres_url(text: str) -> bool:
    return text.startswith(("postgresql://", "postgres://"))


def load_config(path: Path, *, secrets: bool = True) -> Config:
    """Read and validate ``path``; raise :class:`ConfigError` naming file, key and expectation.

    ``secrets=False`` (commands that send nothing: ``hits``, ``search``, …): alert secrets
    are not looked up (their environment variables and files need not exist) and are
    ``None`` in the result."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return _Loader(path, secrets=secrets).config(raw)


class _Table:
    """A TOML table being read: typed getters that name the key, then a check for leftovers."""

    def __init__(self, loader: _Loader, where: str, data: Any) -> None:
        if not isinstance(data, dict):
            loader.fail(where, "expected a table", data)
        self.loader, self.where, self.data = loader, where, data
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def get(
        self,
        name: str,
        kind: type[T] | tuple[type, ...],
        default: Any = None,
        *,
        required: bool = False,
        expected: str = "",
    ) -> Any:
        self.used.add(name)
        if name not in self.data:
            if required:
                self.loader.fail(self.key(name), f"missing; expected {expected or _kind(kind)}")
            return default
        value = self.data[name]
        if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
            self.loader.fail(self.key(name), f"expected {expected or _kind(kind)}", value)
        return value

    def convert(self, name: str, func: Callable[[Any], T], default: T, expected: str) -> T:
        self.used.add(name)
        if name not in self.data:
            return default
        try:
            return func(self.data[name])
        except (ValueError, TypeError):
            self.loader.fail(self.key(name), f"expected {expected}", self.data[name])

    def strings(self, name: str) -> tuple[str, ...]:
        value = self.get(name, list, [], expected="a list of strings")
        if not all(isinstance(v, str) and v.strip() for v in value):
            self.loader.fail(self.key(name), "expected a list of non-empty strings", value)
        return tuple(v.strip() for v in value)

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            known = ", ".join(sorted(self.used))
            self.loader.fail(self.key(unknown[0]), f"unknown key (known keys here: {known})")


def _kind(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "true or false",
        list: "a list",
        dict: "a table",
    }
    return " or ".join(names.get(k, k.__name__) for k in kinds)


class _Loader:
    def __init__(self, path: Path, *, secrets: bool = True) -> None:
        self.path = path
        self.base = path.parent
        self.secrets = secrets  # False: secrets are not looked up, and are None

    def fail(self, key: str, message: str, value: Any = ...) -> NoReturn:
        got = "" if value is ... else f", got {_show(value)}"
        raise ConfigError(f"{self.path}: {key}: {message}{got}")

    @contextmanager
    def table(self, where: str, data: Any) -> Iterator[_Table]:
        table = _Table(self, where, data)
        yield table
        table.done()

    def config(self, raw: dict[str, Any]) -> Config:
        with self.table("", raw) as top:
            settings = self.settings(top.get("monitor", dict, {}))
            topics = self.topics(top.get("topics", list, None, expected="an array of tables"))
            feeds = self.feeds(
                top.get("feeds", list, [], expected="an array of [[feeds]] tables"),
                settings.interval,
            )
            webhook, email, schedule, apprise = self.alerts(top.get("alerts", dict, {}))
        return Config(self.path, settings, topics, feeds, webhook, email, schedule, apprise)

    def duration(self, table: _Table, name: str, default: float, *, minimum: float = 0) -> float:
        value = table.convert(
            name, parse_duration, default, "a duration such as '30s', '10m', '2h' or '1d'"
        )
        if value < minimum:
            self.fail(table.key(name), f"must be at least {format_duration(minimum)}", value)
        return value

    def retention(self, table: _Table, name: str) -> float | None:
        """A retention period of at least a day; absent means keep for ever."""
        if name not in table.data:
            table.used.add(name)
            return None
        return self.duration(table, name, 0.0, minimum=86400)

    def listen_address(self, table: _Table, name: str) -> tuple[str, int] | None:
        """``"host:port"`` (``"[::1]:9464"`` for IPv6) to listen on; absent means off."""
        expected = 'an address "host:port" such as "127.0.0.1:9464"'
        text = table.get(name, str, None, expected=expected)
        if text is None:
            return None
        host, sep, port = text.strip().rpartition(":")
        host = host.removeprefix("[").removesuffix("]")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            self.fail(table.key(name), f"expected {expected}", text)
        return host, int(port)

    def database(self, t: _Table) -> tuple[str, str | None]:
        """``database`` (a SQLite file, or a ``postgresql://`` URL without a password) or
        ``database_env`` (a variable holding the URL): ``(file, None)`` or ``(default, url)``."""
        expected = 'a file path or a "postgresql://user@host/dbname" URL'
        database = t.get("database", str, None, expected=expected)
        env = t.get("database_env", str, None, expected="the name of an environment variable")
        if database is not None and env is not None:
            self.fail(t.key("database_env"), "give only one of database, database_env")
        if env is not None:
            url = os.environ.get(env, "")
            if not url:
                self.fail(t.key("database_env"), f"the environment variable {env} is not set")
            if not is_postgres_url(url):
                self.fail(
                    t.key("database_env"),
                    f"expected {env} to hold a postgresql:// URL, got something else",
                )
            return "monitor.db", url
        if database is None:
            return "monitor.db", None
        if not is_postgres_url(database):
            if not database.strip():
                self.fail(t.key("database"), f"expected {expected}", database)
            return database, None
        if urlsplit(database).password:
            self.fail(
                t.key("database"),
                "a password never goes in the config: put the URL in the environment "
                "(database_env) or the password in ~/.pgpass or PGPASSWORD",
            )
        return "monitor.db", database

    def positive_int(self, table: _Table, name: str, default: int) -> int:
        value: int = table.get(name, int, default, expected="a positive integer")
        if value < 1:
            self.fail(table.key(name), "expected a positive integer", value)
        return value

    def settings(self, raw: Any) -> Settings:
        with self.table("monitor", raw) as t:
            database, dsn = self.database(t)
            jitter = t.convert("jitter", float, 0.1, "a fraction between 0 and 1")
            if not 0 <= jitter <= 1:
                self.fail(t.key("jitter"), "expected a fraction between 0 and 1", jitter)
            max_mib = t.get("max_size_mib", (int, float), 15, expected="a size in MiB")
            if max_mib <= 0:
                self.fail(t.key("max_size_mib"), "expected a positive size in MiB", max_mib)
            workers = t.get("parse_workers", int, 0, expected="an integer (0 = one per core)")
            if workers < 0:
                self.fail(t.key("parse_workers"), "expected 0 (one per core) or more", workers)
            return Settings(
                database=(self.base / database).resolve(),
                dsn=dsn,
                interval=self.duration(t, "interval", 600.0, minimum=1),
                jitter=jitter,
                concurrency=self.positive_int(t, "concurrency", 32),
                per_host=self.positive_int(t, "per_host", 2),
                timeout=self.duration(t, "timeout", 20.0, minimum=0.1),
                deadline=self.duration(t, "deadline", 30.0, minimum=0.1),
                max_bytes=int(max_mib * 2**20),
                max_redirects=self.positive_int(t, "max_redirects", 5),
                parse_timeout=self.duration(t, "parse_timeout", 30.0, minimum=0.1),
                parse_workers=workers,
                story_window=self.duration(t, "story_window", 3 * 86400.0, minimum=1),
                keep_items=self.retention(t, "keep_items"),
                keep_hits=self.retention(t, "keep_hits"),
                max_items=self.positive_int(t, "max_items", 1000),
                allow_private=t.get("allow_private", bool, True, expected="true or false"),
                metrics=self.listen_address(t, "metrics"),
                lease=self.lease(t, shared=dsn is not None),
            )

    def lease(self, t: _Table, *, shared: bool) -> float:
        """``lease`` (PostgreSQL): longer than one poll may take (fetch deadline + parse
        timeout), or another worker would take a feed whose poll is still running."""
        lease = self.duration(t, "lease", 120.0, minimum=1)
        if not shared:
            return lease
        deadline = self.duration(t, "deadline", 30.0, minimum=0.1)
        parse_timeout = self.duration(t, "parse_timeout", 30.0, minimum=0.1)
        if lease <= deadline + parse_timeout:
            self.fail(
                t.key("lease"),
                f"expected a duration longer than deadline + parse_timeout "
                f"({deadline + parse_timeout:g}s)",
                lease,
            )
        return lease

    def topics(self, raw: list[Any] | None) -> tuple[TopicConfig, ...]:
        if raw is None:  # no [[topics]]: one topic built from ./seeds
            return (TopicConfig(name="default", seeds=(self.base / "seeds").resolve()),)
        if not raw:
            self.fail("topics", "expected at least one [[topics]] table")
        topics = []
        for i, item in enumerate(raw, 1):  # positions as a reader counts them
            with self.table(f"[[topics]][{i}]", item) as t:
                name = t.get("name", str, required=True, expected="a topic name")
                if not name.strip():
                    self.fail(t.key("name"), "expected a non-empty topic name", name)
                threshold = t.get("threshold", (int, float), None, expected="a number in 0..1")
                if threshold is not None and not 0 < threshold < 1:
                    self.fail(t.key("threshold"), "expected a number between 0 and 1", threshold)
                seeds = self.base / t.get("seeds", str, "seeds", expected="a folder path")
                if not seeds.is_dir():
                    self.fail(
                        t.key("seeds"),
                        f"expected a folder of seed documents; {seeds} is not a folder",
                    )
                topics.append(
                    TopicConfig(
                        name=name.strip(),
                        seeds=seeds.resolve(),
                        threshold=None if threshold is None else float(threshold),
                        phrases=t.strings("phrases"),
                        exclude=t.strings("exclude"),
                    )
                )
        names = [topic.name for topic in topics]
        for name in names:
            if names.count(name) > 1:
                self.fail("topics", f"topic name {name!r} is used twice")
        return tuple(topics)

    def feeds(self, raw: list[Any], interval: float) -> tuple[FeedConfig, ...]:
        feeds: list[FeedConfig] = []
        seen: set[str] = set()
        for i, item in enumerate(raw, 1):  # positions as a reader counts them
            with self.table(f"[[feeds]][{i}]", item) as t:
                url = feed_identity(self.http_url(t, "url"))  # HTTP://Host:80/x = http://host/x
                if url in seen:
                    self.fail(t.key("url"), "this feed is listed twice", url)
                seen.add(url)
                name = t.get("name", str, None, expected="a display name") or _default_name(url)
                feeds.append(
                    FeedConfig(url, name, self.duration(t, "interval", interval, minimum=1))
                )
        return tuple(feeds)

    def http_url(self, t: _Table, name: str) -> str:
        url: str = t.get(name, str, required=True, expected="an http(s) URL")
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            self.fail(t.key(name), "expected an http(s) URL", url)
        return url.strip()

    def alerts(
        self, raw: Any
    ) -> tuple[WebhookConfig | None, EmailConfig | None, tuple[float, ...], AppriseConfig | None]:
        with self.table("alerts", raw) as t:
            schedule: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE
            if "retry_schedule" in t.data:
                values = t.get("retry_schedule", list, expected="a list of durations")
                try:
                    schedule = tuple(parse_duration(v) for v in values)
                except (ValueError, TypeError):
                    self.fail(
                        t.key("retry_schedule"),
                        "expected a list of durations such as ['5s', '5m', '2h']",
                        values,
                    )
            webhook_raw = t.get("webhook", dict, None)
            email_raw = t.get("email", dict, None)
            apprise_raw = t.get("apprise", dict, None)
        webhook = None if webhook_raw is None else self.webhook(webhook_raw)
        email = None if email_raw is None else self.email(email_raw)
        apprise = None if apprise_raw is None else self.apprise(apprise_raw)
        return webhook, email, schedule, apprise

    def apprise(self, raw: Any) -> AppriseConfig:
        """``urls`` (a list), ``urls_env`` (a variable holding URLs separated by spaces or
        newlines) or ``urls_file`` (one URL a line): Apprise URLs carry tokens, so the
        environment or a file is the better place. Messages name the key, never a URL."""
        with self.table("alerts.apprise", raw) as t:
            sources = [k for k in ("urls", "urls_env", "urls_file") if k in t.data]
            t.used.update(("urls", "urls_env", "urls_file"))
            if len(sources) != 1:
                self.fail(t.key("urls"), "give exactly one of urls, urls_env, urls_file")
            key = sources[0]
            value = t.data[key]
            if key == "urls":
                if not isinstance(value, list) or not all(isinstance(u, str) for u in value):
                    self.fail(t.key(key), "expected a list of Apprise URLs")
                urls = [u.strip() for u in value if u.strip()]
            else:
                if not isinstance(value, str) or not value:
                    self.fail(t.key(key), "expected a non-empty string")
                if key == "urls_env":
                    text = os.environ.get(value, "")
                    if not text.strip() and self.secrets:
                        self.fail(t.key(key), f"the environment variable {value} is not set")
                else:
                    try:
                        text = (self.base / value).read_text(encoding="utf-8")
                    except OSError as exc:
                        if self.secrets:
                            path = self.base / value
                            self.fail(t.key(key), f"cannot read {path}: {exc.strerror}")
                        text = ""
                urls = [u for u in text.split() if not u.startswith("#")]
            if not urls and (key == "urls" or self.secrets):
                self.fail(t.key(key), "expected at least one Apprise URL")
            for i, url in enumerate(urls):
                if "://" not in url:
                    self.fail(f"{t.key(key)}[{i}]", "expected an Apprise URL such as ntfy://…")
            timeout = self.duration(t, "timeout", 30.0, minimum=0.1)
        return AppriseConfig(urls=tuple(urls), timeout=timeout)

    def secret(self, t: _Table, name: str, *, inline: bool) -> str | None:
        """A secret from ``name`` (inline, if allowed), ``name_env`` or ``name_file``."""
        sources = [k for k in (name, f"{name}_env", f"{name}_file") if k in t.data]
        t.used.update((name, f"{name}_env", f"{name}_file"))
        if len(sources) > 1:
            self.fail(t.key(sources[1]), f"give only one of {', '.join(sources)}")
        if not sources:
            return None
        key = sources[0]
        value = t.data[key]
        if not isinstance(value, str) or not value:
            self.fail(t.key(key), "expected a non-empty string")
        if not self.secrets:
            return None
        if key == name:
            if not inline:
                self.fail(
                    t.key(key),
                    f"put the secret in the environment ({name}_env) "
                    f"or a file ({name}_file), not in the config",
                )
            return value
        if key.endswith("_env"):
            secret = os.environ.get(value)
            if not secret:
                self.fail(t.key(key), f"the environment variable {value} is not set")
            return secret
        path = self.base / value
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            self.fail(t.key(key), f"cannot read {path}: {exc.strerror}")

    def webhook(self, raw: Any) -> WebhookConfig:
        with self.table("alerts.webhook", raw) as t:
            url = self.http_url(t, "url")
            secret = self.secret(t, "secret", inline=True)
            if secret is not None:
                from ._alerts._signing import secret_key  # here: _alerts imports this module

                try:
                    secret_key(secret)
                except ValueError as exc:
                    self.fail(t.key("secret"), f"expected 'whsec_<base64>': {exc}")
            timeout = self.duration(t, "timeout", 10.0, minimum=0.1)
        return WebhookConfig(url=url, secret=secret, timeout=timeout)

    def email(self, raw: Any) -> EmailConfig:
        with self.table("alerts.email", raw) as t:
            host = t.get("host", str, required=True, expected="an SMTP host name")
            tls = t.get("tls", str, "starttls", expected='"starttls", "ssl" or "none"')
            if tls not in ("starttls", "ssl", "none"):
                self.fail(t.key("tls"), 'expected "starttls", "ssl" or "none"', tls)
            port = t.get(
                "port",
                int,
                {"ssl": 465, "starttls": 587, "none": 25}[tls],
                expected="a port number",
            )
            if not 0 < port < 65536:
                self.fail(t.key("port"), "expected a port number 1–65535", port)
            sender = t.get("sender", str, required=True, expected="an email address")
            recipients = t.strings("recipients")
            if not recipients:
                self.fail(t.key("recipients"), "expected at least one email address")
            for address in (sender, *recipients):
                if "@" not in address or any(c in address for c in "\r\n,;<> "):
                    self.fail(
                        t.key("recipients" if address != sender else "sender"),
                        "expected a plain email address",
                        address,
                    )
            username = t.get("username", str, None, expected="a user name")
            password = self.secret(t, "password", inline=False)
            timeout = self.duration(t, "timeout", 30.0, minimum=0.1)
            mode, digest_at, digest_every, timezone = self.digest(t)
        return EmailConfig(
            host=host,
            port=port,
            tls=tls,
            sender=sender,
            recipients=recipients,
            username=username,
            password=password,
            timeout=timeout,
            mode=mode,
            digest_at=digest_at,
            digest_every=digest_every,
            timezone=timezone,
        )

    def digest(self, t: _Table) -> tuple[str, tuple[str, ...], float | None, str]:
        """``mode``, ``digest_at`` / ``digest_every``, ``timezone`` of ``[alerts.email]``."""
        mode = t.get("mode", str, "each", expected='"each" or "digest"')
        if mode not in ("each", "digest"):
            self.fail(t.key("mode"), 'expected "each" or "digest"', mode)
        timezone = t.get("timezone", str, "UTC", expected="a time zone such as 'Europe/Paris'")
        try:
            from zoneinfo import ZoneInfo

            ZoneInfo(timezone)
        except (ValueError, KeyError, OSError):
            self.fail(t.key("timezone"), "expected a time zone such as 'Europe/Paris'", timezone)
        if "digest_at" in t.data and "digest_every" in t.data:
            self.fail(t.key("digest_every"), "give only one of digest_at, digest_every")
        digest_at = t.strings("digest_at") or ("08:00",)
        for moment in digest_at:
            hour, _, minute = moment.partition(":")
            if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
                self.fail(t.key("digest_at"), "expected times such as ['08:00', '18:30']", moment)
        every = None
        if "digest_every" in t.data:
            every = self.duration(t, "digest_every", 3600.0, minimum=1)
        else:
            t.used.add("digest_every")
        return mode, tuple(sorted(set(digest_at))), every, timezone


def _default_name(url: str) -> str:
    """host[:port] + path: never the user-info (credentials) nor the query."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return (host.removeprefix("www.") + parts.path.rstrip("/")) or redact_url(url)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
