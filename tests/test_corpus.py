"""feedparser's own test corpus, served over HTTP and polled in ONE `monitor once` (scenario 8).

The 2,248 files of the ``tests/`` folder of the feedparser 6.0.14 sdist are
odd, broken and hostile feeds collected over twenty years. Each becomes a feed on the loopback
server, beside two good feeds; one cycle must poll them all without an unhandled exception,
record a status for every one, and still deliver the good feeds' hits.

The corpus comes from the ``feedparser_corpus`` fixture (``conftest.py``), which reads it from
``tests/data/feedparser`` (shipped with feedparser's licence: no network at test time).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.feedserver import FeedServer
from tests.helpers import DATA, cli, load_items, serve_items, write_config
from tests.receivers import WebhookReceiver

ITEMS = load_items(DATA / "clear_items.jsonl")
ON_TOPIC = {i["title"] for i in ITEMS if i["label"] == 2}
# What the files are served as: the compression tests with their Content-Encoding.
ENCODINGS = {".gz": "gzip", ".z": "deflate"}


def test_feedparser_corpus_in_one_cycle(
    tmp_path: Path,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    feedparser_corpus: dict[str, bytes],
    capsys: pytest.CaptureFixture[str],
) -> None:
    urls: dict[str, str] = {}
    corpus = feedparser_corpus
    for name, body in corpus.items():
        path = "/corpus/" + quote(name)
        encoding = ENCODINGS.get(Path(name).suffix)
        if encoding:
            headers = {"Content-Encoding": encoding}
            feed_server.add(path, body, content_type="application/xml", headers=headers)
        else:
            feed_server.add(path, body, content_type="application/xml")
        urls[name] = feed_server.url(path)
    good = serve_items(feed_server, ITEMS)
    config = write_config(
        tmp_path,
        [*urls.values(), *good.values()],
        webhook=webhook_receiver,
        monitor='concurrency = 64\nper_host = 64\nparse_timeout = "20s"',
    )

    started = time.monotonic()
    assert cli(config, "once") == 0  # an unhandled exception would propagate here
    took = time.monotonic() - started

    db = sqlite3.connect(tmp_path / "monitor.db")
    rows = db.execute("SELECT url, last_status, last_error, warning FROM feeds").fetchall()
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()
    by_url = {url: (status, error, warning) for url, status, error, warning in rows}
    assert all(by_url[u][0] == "ok" for u in good.values())
    statuses = Counter(by_url[u][0] for u in urls.values())
    # A status for every file; nothing left unpolled.
    assert sum(statuses.values()) == len(corpus)
    assert None not in statuses, statuses
    # A bug in our own code would surface as "parser failed: <exception>" (the worker catches
    # it) or a crashed worker; neither may happen on this corpus.
    bugs = {
        name: by_url[u][1]
        for name, u in urls.items()
        if by_url[u][1] and by_url[u][1].startswith(("parser failed", "parser worker crashed"))
    }
    assert not bugs, bugs
    # (the corpus shifts what the trackers learn, so more may hit: relevance is not tested here)
    assert {r.json["title"] for r in webhook_receiver.wait_for(len(ON_TOPIC))} >= ON_TOPIC
    assert took < 120, f"the corpus cycle took {took:.0f} s"

    errors = Counter(
        (by_url[u][1] or "").split(":")[0].split(" (")[0][:40]
        for u in urls.values()
        if by_url[u][0] == "error"
    )
    warned = sum(1 for u in urls.values() if by_url[u][0] == "ok" and by_url[u][2])
    capsys.readouterr()
    assert cli(config, "feeds", "--format", "json") == 0
    assert len(json.loads(capsys.readouterr().out)) == len(corpus) + len(good)
    with capsys.disabled():  # the figures quoted in docs/reliability.md (pytest -s shows them)
        print(
            f"\ncorpus: {len(corpus)} files in {took:.1f} s; statuses {dict(statuses)}; "
            f"ok with a warning {warned}; errors {dict(errors.most_common())}"
        )


def test_the_corpus_is_shipped_with_its_licence() -> None:
    """The suite needs no network: the corpus is in the repository, with feedparser's
    licence (BSD 2-Clause) beside it."""
    from tests.conftest import CORPUS

    assert CORPUS.is_file()
    licence = (CORPUS.parent / "LICENSE").read_text(encoding="utf-8")
    assert "Redistribution and use in source and binary forms" in licence
