"""An alert held by a killed worker's claim: `monitor deliveries` says which worker holds it
and until when (not an empty waits_for, which reads "goes out now"), and once the lease ends
another worker sends it."""

from __future__ import annotations

import json
import os
import re
import signal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.feedserver import FeedServer
from tests.helpers import cli, serve_items
from tests.receivers import WebhookReceiver
from tests.test_pg_workers import start_worker, stop_workers, wait_until
from tests.test_postgres_cycle import ITEMS, pg_config


def test_a_killed_workers_claim_is_named_until_its_lease_ends(
    tmp_path: Path,
    pg_schema_dsn: str,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MONITOR_E2E_DSN", pg_schema_dsn)
    env = {**os.environ, "MONITOR_E2E_DSN": pg_schema_dsn}
    env.pop("CI", None)
    on_topic = [i for i in ITEMS if i["label"] == 2][:1]
    urls = serve_items(feed_server, on_topic)
    settings = 'lease = "10s"\ndeadline = "3s"\nparse_timeout = "2s"'
    config = pg_config(tmp_path, list(urls.values()), webhook_receiver, monitor=settings)
    webhook_receiver.delay = 30.0  # the worker is killed mid-send

    def pending() -> list[dict[str, Any]]:
        capsys.readouterr()
        assert cli(config, "deliveries", "--status", "pending", "--format", "json") == 0
        return list(json.loads(capsys.readouterr().out))

    def claimed() -> bool:
        return any(str(row["waits_for"]).startswith("claimed by worker") for row in pending())

    workers = [start_worker(config, tmp_path / "one.log", env)]
    try:
        wait_until("the worker claims the alert", lambda: webhook_receiver.port > 0 and _held(
            pg_schema_dsn), 30)  # fmt: skip
        with psycopg.connect(pg_schema_dsn) as conn:
            row = conn.execute("SELECT owner FROM workers").fetchone()
        assert row is not None
        owner = str(row[0])
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(10)

        rows = pending()
        assert len(rows) == 1, rows
        waits = str(rows[0]["waits_for"])
        said = re.fullmatch(
            rf"claimed by worker {re.escape(owner)}, lease until (\d\d:\d\d:\d\d) UTC "
            r"\(then retried\)",
            waits,
        )
        assert said is not None, waits
        assert said.group(1) == rows[0]["next_attempt"][11:19]  # the lease's end
        assert "claimed_by" not in rows[0]  # the report's shape is the same on both backends

        webhook_receiver.delay = 0.0
        workers.append(start_worker(config, tmp_path / "two.log", env))
        wait_until("another worker sends it once the lease ends", lambda: not pending(), 40)
        assert not claimed()
    finally:
        stop_workers(workers)


def _held(dsn: str) -> bool:
    """The worker's deliverer has claimed the alert (its next attempt a lease ahead)."""
    with psycopg.connect(dsn) as conn:
        if conn.execute("SELECT to_regclass('deliveries')").fetchone() == (None,):
            return False
        row = conn.execute(
            "SELECT count(*) FROM deliveries WHERE status = 'pending' AND attempts = 0 "
            "AND next_attempt > now() + interval '5 seconds'"
        ).fetchone()
        return bool(row and row[0])
