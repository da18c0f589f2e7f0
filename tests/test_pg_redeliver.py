"""``monitor redeliver`` reaches running workers on PostgreSQL through ``NOTIFY``, not through
the outbox polling: two ``monitor run`` workers whose fallback look at the outbox is an hour
away (``outbox_poll = "1h"``) and whose feeds are not polled again (10-minute interval) send a
requeued alert again at once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.feedserver import FeedServer
from tests.helpers import DATA, cli, load_items, serve_items
from tests.receivers import WebhookReceiver
from tests.test_pg_workers import start_worker, stop_workers
from tests.test_postgres_cycle import pg_config

ITEMS = load_items(DATA / "clear_items.jsonl")
ON_TOPIC = {i["title"] for i in ITEMS if i["label"] == 2}
WORKERS = 2


def test_redeliver_from_the_cli_wakes_the_running_workers(
    tmp_path: Path,
    pg_schema_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    urls = serve_items(feed_server, ITEMS)
    config = pg_config(tmp_path, list(urls.values()), webhook_receiver,
                       monitor='outbox_poll = "1h"\nparse_workers = 1')  # fmt: skip
    monkeypatch.setenv("MONITOR_E2E_DSN", pg_schema_dsn)
    env = {**os.environ}
    env.pop("CI", None)
    logs = [tmp_path / f"worker{n}.log" for n in range(WORKERS)]
    workers = [start_worker(config, log, env) for log in logs]
    try:
        first = webhook_receiver.wait_for(len(ON_TOPIC), timeout=90)
        assert {r.json["title"] for r in first} == ON_TOPIC
        again = first[0].json["id"]
        assert cli(config, "redeliver", again) == 0
        assert "queued 1 delivery again" in capsys.readouterr().out
        # well before the hour of outbox_poll: the NOTIFY of the requeue woke a deliverer
        received = webhook_receiver.wait_for(len(ON_TOPIC) + 1, timeout=30)
        assert received[-1].json["id"] == again
        assert received[-1].headers["webhook-id"] == again and received[-1].signature_ok
        alive = [w.poll() is None for w in workers]
    finally:
        stop_workers(workers)
    texts = [log.read_text() for log in logs]
    assert alive == [True] * WORKERS and [w.returncode for w in workers] == [0] * WORKERS
    assert not any("Traceback" in text or " ERROR " in text for text in texts), texts
    assert len(webhook_receiver.received) == len(ON_TOPIC) + 1  # nothing else was sent
