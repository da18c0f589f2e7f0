"""PostgreSQL workers given different configs warn of it (a feed only one config lists is
marked removed at the others' start and may go unpolled): two real `monitor run` processes on
one database, and the digest itself."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest

from monitor._config import load_config
from monitor._fleet import config_digest
from monitor._runtime import build_trackers
from tests.feedserver import FeedServer, rss
from tests.receivers import WebhookReceiver
from tests.test_pg_workers import start_worker, stop_workers, wait_until
from tests.test_postgres_cycle import pg_config


def test_the_digest_follows_what_workers_must_share(
    tmp_path: Path, webhook_receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONITOR_E2E_DSN", "postgresql://nowhere.invalid/x")  # never opened

    def digest(folder: str, urls: list[str], monitor: str = "") -> str:
        (tmp_path / folder).mkdir()
        config = load_config(pg_config(tmp_path / folder, urls, webhook_receiver, monitor=monitor))
        return config_digest(config, build_trackers(config.topics))

    base = digest("a", ["http://127.0.0.1:1/a.xml"])
    assert digest("b", ["http://127.0.0.1:1/a.xml"]) == base  # another folder, same config
    assert digest("c", ["http://127.0.0.1:1/a.xml"], "concurrency = 3") == base  # the machine's
    assert digest("d", ["http://127.0.0.1:1/a.xml", "http://127.0.0.1:1/b.xml"]) != base
    # when mail goes out: one worker sending each hit at once empties every digest, one
    # without the quiet hours sends inside the others'
    email = (
        '[alerts.email]\nhost = "127.0.0.1"\nsender = "a@b.c"\nrecipients = ["d@e.f"]\n'
        'mode = "digest"\ndigest_every = "1h"\n'
    )

    def mailing(folder: str, extra: str) -> str:
        (tmp_path / folder).mkdir()
        path = pg_config(tmp_path / folder, ["http://127.0.0.1:1/a.xml"], webhook_receiver)
        path.write_text(path.read_text() + "\n" + extra)
        config = load_config(path)
        return config_digest(config, build_trackers(config.topics))

    digests = {
        mailing("e", email),
        mailing("f", email.replace('mode = "digest"\ndigest_every = "1h"', 'mode = "each"')),
        mailing("g", email + 'quiet_hours = "22:00-07:00"\n'),
        mailing("h", email.replace('digest_every = "1h"', 'digest_every = "2h"')),
    }
    assert len(digests) == 4


def test_a_worker_with_another_config_is_warned_of(
    tmp_path: Path,
    pg_schema_dsn: str,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
) -> None:
    for path in ("/a.xml", "/b.xml"):
        feed_server.add(path, rss([{"title": "Quiet", "link": f"https://e.test{path}"}]))
    env = {**os.environ, "MONITOR_E2E_DSN": pg_schema_dsn}
    env.pop("CI", None)
    configs = []
    for name, paths in (("one", ["/a.xml"]), ("two", ["/a.xml", "/b.xml"])):
        (tmp_path / name).mkdir()
        urls = [feed_server.url(p) for p in paths]
        configs.append(pg_config(tmp_path / name, urls, webhook_receiver))

    def workers() -> list[tuple[str, str]]:
        with psycopg.connect(pg_schema_dsn) as conn:
            if conn.execute("SELECT to_regclass('workers')").fetchone() == (None,):
                return []
            return conn.execute("SELECT owner, config FROM workers ORDER BY owner").fetchall()

    logs = [tmp_path / "one.log", tmp_path / "two.log"]
    running = [start_worker(configs[0], logs[0], env)]
    try:
        wait_until("the first worker checks in", lambda: len(workers()) == 1, 30)

        running.append(start_worker(configs[1], logs[1], env))
        wait_until("the second worker checks in", lambda: len(workers()) == 2, 30)
        first = workers()
        assert len({digest for _, digest in first}) == 2
        wait_until(
            "the second worker warns",
            lambda: "other live worker(s) run another" in logs[1].read_text(),
            15,
        )
    finally:
        stop_workers(running)
    assert workers() == []  # a worker that stops checks out
    text = logs[1].read_text()
    assert "Give every worker the same config" in text and "Traceback" not in text
    assert "other live worker(s) run another" not in logs[0].read_text()  # checked in first
