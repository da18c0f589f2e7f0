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


def test_the_digest_follows_where_alerts_go_and_what_the_fleet_shares(
    tmp_path: Path,
    webhook_receiver: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An alert diverted by one worker's webhook URL, judge links signed by one worker and
    refused (403) by another: what the workers send to and sign with is in the digest, a
    secret only as its hash."""
    monkeypatch.setenv("MONITOR_E2E_DSN", "postgresql://nowhere.invalid/x")  # never opened
    secret = "judge-secret-0123456789abcdef"
    monkeypatch.setenv("JUDGE_SECRET", secret)
    monkeypatch.setenv("JUDGE_SECRET_2", secret + "x")
    email = '[alerts.email]\nhost = "127.0.0.1"\nsender = "a@b.c"\nrecipients = ["d@e.f"]\n'
    feedback = (
        '[feedback]\nlisten = "127.0.0.1:8787"\nurl = "https://m.example"\n'
        'secret_env = "JUDGE_SECRET"\n'
    )

    def digest(folder: str, monitor: str = "", extra: str = "", hook: str = "") -> str:
        (tmp_path / folder).mkdir()
        path = pg_config(
            tmp_path / folder, ["http://127.0.0.1:1/a.xml"], webhook_receiver, monitor=monitor
        )
        text = path.read_text().replace(webhook_receiver.url, webhook_receiver.url + hook)
        path.write_text(text + "\n" + extra)
        config = load_config(path)
        return config_digest(config, build_trackers(config.topics))

    base = digest("base", extra=email + feedback)
    assert digest("same", extra=email + feedback) == base
    # the machine's own: where it serves the judge pages
    assert digest("listen", extra=email + feedback.replace("8787", "8788")) == base
    changed = {
        digest("hook", extra=email + feedback, hook="/other"),
        digest("to", extra=email.replace("d@e.f", "x@e.f") + feedback),
        digest("secret", extra=email + feedback.replace("JUDGE_SECRET", "JUDGE_SECRET_2")),
        digest("window", 'story_window = "2h"', email + feedback),
        digest("keep", 'keep_items = "30d"', email + feedback),
        digest("hits", 'keep_hits = "30d"', email + feedback),
        digest("lease", 'lease = "5m"', email + feedback),
        digest("retry", "", email + feedback + '[alerts]\nretry_schedule = ["1m", "1h"]\n'),
    }
    assert base not in changed and len(changed) == 8
    assert secret not in caplog.text


def test_a_worker_with_another_config_is_warned_of(
    tmp_path: Path,
    pg_schema_dsn: str,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
) -> None:
    for path in ("/a.xml", "/b.xml"):
        feed_server.add(path, rss([{"title": "Quiet", "link": f"https://e.test{path}"}]))
    configs = []
    for name, paths in (("one", ["/a.xml"]), ("two", ["/a.xml", "/b.xml"])):
        (tmp_path / name).mkdir()
        urls = [feed_server.url(p) for p in paths]
        configs.append(pg_config(tmp_path / name, urls, webhook_receiver))
    second_worker_is_warned(tmp_path, pg_schema_dsn, configs)


def test_a_worker_alerting_another_webhook_is_warned_of(
    tmp_path: Path,
    pg_schema_dsn: str,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
) -> None:
    """The same feeds and topics, but one worker's webhook points elsewhere: the alerts that
    worker sends are diverted. Reported as any other difference."""
    feed_server.add("/a.xml", rss([{"title": "Quiet", "link": "https://e.test/a"}]))
    configs = []
    for name, hook in (("one", webhook_receiver.url), ("two", webhook_receiver.url + "/old")):
        (tmp_path / name).mkdir()
        path = pg_config(tmp_path / name, [feed_server.url("/a.xml")], webhook_receiver)
        path.write_text(path.read_text().replace(webhook_receiver.url, hook))
        configs.append(path)
    second_worker_is_warned(tmp_path, pg_schema_dsn, configs)


def second_worker_is_warned(tmp_path: Path, pg_schema_dsn: str, configs: list[Path]) -> None:
    """Two real workers on ``configs``, started one after the other: the second warns."""
    env = {**os.environ, "MONITOR_E2E_DSN": pg_schema_dsn}
    env.pop("CI", None)

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
