"""Two real PostgreSQL workers on one host with one `[feedback] listen` address: one serves
the judge pages, the other warns once and does everything else; when the serving worker dies
the other takes the pages over (within its retry: `lease`, at most a minute)."""

from __future__ import annotations

import os
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg

from tests.feedserver import FeedServer, rss
from tests.receivers import WebhookReceiver
from tests.test_judge import feedback_table, free_port
from tests.test_pg_workers import start_worker, stop_workers, wait_until
from tests.test_postgres_cycle import pg_config

SECRET = "s3cret-for-the-judge-links"


def status_of(url: str) -> int | None:
    """The HTTP status a GET gets, None when nothing listens."""
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return None


def test_the_second_worker_leaves_the_pages_to_the_first_and_takes_them_over(
    tmp_path: Path,
    pg_schema_dsn: str,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
) -> None:
    feed_server.add("/a.xml", rss([{"title": "Quiet", "link": "https://e.test/a"}]))
    port = free_port()
    settings = 'lease = "8s"\ndeadline = "3s"\nparse_timeout = "2s"'
    config = pg_config(
        tmp_path, [feed_server.url("/a.xml")], webhook_receiver, monitor=settings,
        extra=feedback_table(port),
    )  # fmt: skip
    env = {**os.environ, "MONITOR_E2E_DSN": pg_schema_dsn, "MONITOR_JUDGE_SECRET": SECRET}
    env.pop("CI", None)
    logs = [tmp_path / "one.log", tmp_path / "two.log"]
    page = f"http://127.0.0.1:{port}/judge/hit_x/relevant?sig=bad"
    in_use = f"feedback pages: 127.0.0.1:{port} in use"

    def checked_in() -> int:
        with psycopg.connect(pg_schema_dsn) as conn:
            if conn.execute("SELECT to_regclass('workers')").fetchone() == (None,):
                return 0
            row = conn.execute("SELECT count(*) FROM workers").fetchone()
            return int(row[0]) if row else 0

    workers = [start_worker(config, logs[0], env)]
    try:
        wait_until("the first worker serves the pages", lambda: status_of(page) == 403, 30)
        workers.append(start_worker(config, logs[1], env))
        wait_until("the second worker checks in", lambda: checked_in() == 2, 30)
        wait_until("the second worker warns", lambda: in_use in logs[1].read_text(), 15)
        time.sleep(2)
        assert workers[1].poll() is None, logs[1].read_text()  # alive: it claims and alerts
        assert "Traceback" not in logs[1].read_text()

        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(10)
        assert status_of(page) is None
        wait_until("the second worker takes the pages over", lambda: status_of(page) == 403, 30)
        assert workers[1].poll() is None
    finally:
        stop_workers(workers)
    text = logs[1].read_text()
    assert text.count(in_use) == 1, text  # one warning, not one per retry
    assert "another worker serves them; this worker will retry" in text
    assert "judge pages at" in text and "Traceback" not in text
