"""Story grouping across workers, for real: two workers (two runtimes, each with its own
PostgreSQL connection, event loop and grouper, in two threads) poll two feeds carrying copies
of one story at the same moment; the story alerts once. Loopback feeds, a real PostgreSQL and
a real webhook receiver."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from monitor._config import load_config
from monitor._runtime import open_runtime
from tests.feedserver import FeedServer
from tests.helpers import DATA, load_items, serve_items
from tests.receivers import WebhookReceiver
from tests.test_postgres_cycle import pg_config

ITEMS = load_items(DATA / "clear_items.jsonl")
ON_TOPIC = [i for i in ITEMS if i["label"] == 2]
OFF_TOPIC = [i for i in ITEMS if i["label"] != 2]
STORY = next(i for i in ON_TOPIC if i["title"].startswith("Denmark"))
WARM = [i for i in ON_TOPIC if i["title"].startswith(("Military chiefs", "Kremlin"))]


def feeds() -> list[dict[str, Any]]:
    """Each worker: a feed that primes its grouper (an on-topic item of another story and some
    off-topic news), and a feed with a copy of the story (the second copy reworded a little)."""
    copy = dict(STORY, summary=STORY["summary"].replace("prepared", "ready"), link=None)
    items = [dict(WARM[0], feed="warm-a"), dict(WARM[1], feed="warm-b")]
    items += [dict(item, feed=f"warm-{'ab'[n % 2]}") for n, item in enumerate(OFF_TOPIC[:6])]
    items += [dict(STORY, feed="copy-a"), dict(copy, feed="copy-b")]
    return items


async def worker(config: Any, urls: list[str], barrier: threading.Barrier) -> list[Any]:
    async with open_runtime(config) as rt:
        by_url = {f.url: f for f in rt.config.feeds}
        reports = [await rt.poller.poll(by_url[urls[0]])]  # primes the grouper
        await asyncio.to_thread(barrier.wait)  # both workers primed: now the copies, at once
        reports.append(await rt.poller.poll(by_url[urls[1]]))
        await asyncio.to_thread(barrier.wait)  # both stored
        await rt.deliverer.deliver_due()
        return reports


def test_two_workers_polling_two_copies_of_one_story_at_once_alert_once(
    tmp_path: Path,
    pg_schema_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
) -> None:
    monkeypatch.setenv("MONITOR_E2E_DSN", pg_schema_dsn)
    urls = serve_items(feed_server, feeds())
    every = list(urls.values())  # both workers know every feed (as `monitor run` workers do)
    configs = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        configs.append(load_config(pg_config(tmp_path / name, every, webhook_receiver)))
    barrier = threading.Barrier(2, timeout=60)
    results: dict[str, list[Any]] = {}
    errors: list[BaseException] = []

    def run(name: str, config: Any) -> None:
        try:
            mine = [urls[f"warm-{name}"], urls[f"copy-{name}"]]
            results[name] = asyncio.run(worker(config, mine, barrier))
        except BaseException as exc:  # reported below
            barrier.abort()
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=(n, c)) for n, c in zip("ab", configs, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [r.hits for r in results["a"]] == [1, 1] and [r.hits for r in results["b"]] == [1, 1]

    received = [r.json["title"] for r in webhook_receiver.received]
    assert sorted(received) == sorted([WARM[0]["title"], WARM[1]["title"], STORY["title"]])
    from monitor._storage._postgres import PostgresStorage

    storage = PostgresStorage(pg_schema_dsn)
    try:
        copies = [h for h in storage.hits() if h["title"] == STORY["title"]]
    finally:
        storage.close()
    assert len(copies) == 2  # both copies stored as hits ...
    assert len({h["story_id"] for h in copies}) == 1  # ... of one story ...
    assert sorted(h["alerted"] for h in copies) == [0, 1]  # ... alerted once
