"""Datasette, started as a real process on 127.0.0.1 with the shipped metadata, reads the
hit_details view, a full-text `_search` and the canned queries through its JSON API."""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor._datasette import metadata_for, shipped_metadata
from tests.feedserver import FeedServer
from tests.helpers import DATA, cli, load_items, serve_items, write_config
from tests.receivers import WebhookReceiver

ITEMS = load_items(DATA / "clear_items.jsonl")
ON_TOPIC = {i["title"] for i in ITEMS if i["label"] == 2}

needs_datasette = pytest.mark.skipif(
    importlib.util.find_spec("datasette") is None,
    reason="datasette is not installed (pip install -e '.[test]' installs it)",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(base: str, path: str) -> Any:
    with urllib.request.urlopen(base + path, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture
def datasette(
    tmp_path: Path,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[str]:
    urls = serve_items(feed_server, ITEMS)
    broken = feed_server.url("/missing.xml")  # 404: a broken feed
    config = write_config(
        tmp_path,
        [*urls.values(), broken],
        webhook=webhook_receiver,
        extra="[alerts]\nretry_schedule = []",
    )
    webhook_receiver.respond_with(500)  # the only attempt fails: the deliveries are failed
    assert cli(config, "once") == 0
    capsys.readouterr()
    assert cli(config, "datasette-metadata") == 0
    metadata = tmp_path / "metadata.json"
    metadata.write_text(capsys.readouterr().out, encoding="utf-8")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "datasette", "serve", str(tmp_path / "monitor.db"),
         "--host", "127.0.0.1", "--port", str(port), "--metadata", str(metadata)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                get(base, "/-/versions.json")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    out = proc.communicate(timeout=5)[0] if proc.poll() is not None else ""
                    pytest.fail(f"datasette did not start: {out}")
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


@needs_datasette
def test_datasette_reads_the_view_search_and_canned_queries(datasette: str) -> None:
    rows = get(datasette, "/monitor/hit_details.json?_shape=array&_size=max")
    assert {r["title"] for r in rows} == ON_TOPIC
    assert all(r["delivery_status"] == "failed" for r in rows)

    found = get(datasette, "/monitor/items.json?_search=peacekeeper&_shape=array")
    titles = {r["title"] for r in found}
    assert "Denmark ready to send peacekeepers to Ukraine as part of European force" in titles
    assert all("peacekeep" in (r["title"] + r["summary"]).lower() for r in found)

    today = get(datasette, "/monitor/todays_hits.json?_shape=array")
    assert {r["title"] for r in today} == ON_TOPIC
    assert all(r["published"] for r in today)  # the feed's dates: an old item detected late
    broken = get(datasette, "/monitor/broken_feeds.json?_shape=array")
    assert [r["url"].rsplit("/", 1)[1] for r in broken] == ["missing.xml"]
    assert broken[0]["error_count"] == 1 and "404" in broken[0]["last_error"]
    failed = get(datasette, "/monitor/failed_deliveries.json?_shape=array")
    assert {r["title"] for r in failed} == ON_TOPIC
    assert all(r["channel"] == "webhook" and r["attempts"] == 1 for r in failed)
    searched = get(datasette, "/monitor/search_hits.json?_shape=array&q=coalition")
    assert searched and {r["title"] for r in searched} <= ON_TOPIC


def test_metadata_is_rekeyed_for_the_database_name() -> None:
    shipped = shipped_metadata()
    assert set(shipped["databases"]) == {"monitor"}
    queries = shipped["databases"]["monitor"]["queries"]
    assert {"todays_hits", "broken_feeds", "failed_deliveries"} <= set(queries)
    other = metadata_for(Path("/srv/news.db"))
    assert set(other["databases"]) == {"news"}
    assert other["databases"]["news"]["queries"] == queries
