"""``[monitor]``: the database, polling, fetching, parsing, retention, metrics."""

from __future__ import annotations

import ipaddress
import os
import re
from typing import Any
from urllib.parse import urlsplit

from ._config_model import Settings, is_postgres_url
from ._config_read import LoaderBase, Table

_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")  # a name or an IPv4 address


def _host(host: str) -> bool:
    """A host to listen on: a name, an IPv4 or an IPv6 address (not "http://x", not "a b")."""
    if ":" in host:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return False
        return True
    return _HOST.fullmatch(host) is not None


class MonitorSection(LoaderBase):
    def listen_address(self, table: Table, name: str) -> tuple[str, int] | None:
        """``"host:port"`` (``"[::1]:9464"`` for IPv6) to listen on; absent means off."""
        expected = 'an address "host:port" such as "127.0.0.1:9464"'
        text = table.get(name, str, None, expected=expected)
        if text is None:
            return None
        host, sep, port = text.strip().rpartition(":")
        host = host.removeprefix("[").removesuffix("]")
        if not (sep and _host(host) and port.isascii() and port.isdigit()):
            self.fail(table.key(name), f"expected {expected}", text)
        if not 0 < int(port) < 65536:
            self.fail(table.key(name), f"expected {expected}", text)
        return host, int(port)

    def database(self, t: Table) -> tuple[str, str | None]:
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
                database=self.file(database, t.key("database")).resolve(),
                dsn=dsn,
                interval=self.duration(t, "interval", 600.0, minimum=1),
                min_interval=self.optional_duration(t, "min_interval"),
                max_interval=self.max_interval(t, self.optional_duration(t, "min_interval")),
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
                outbox_poll=self.duration(t, "outbox_poll", 5.0, minimum=0.1),
            )

    def lease(self, t: Table, *, shared: bool) -> float:
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
