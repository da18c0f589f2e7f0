"""feedparser's own test corpus, served over HTTP and polled in ONE `monitor once` (scenario 8).

The ~2,250 files of the ``tests/`` folder of the feedparser sdist (the installed version) are
odd, broken and hostile feeds collected over twenty years. Each becomes a feed on the loopback
server, beside two good feeds; one cycle must poll them all without an unhandled exception,
record a status for every one, and still deliver the good feeds' hits.

The sdist is downloaded once with ``pip download`` into ``$MONITOR_TEST_CACHE`` (default
``~/.cache/monitor-tests``); without it (offline, no pip) the test is skipped with the reason.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tarfile
import time
from collections import Counter
from importlib import metadata
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


def corpus_sdist() -> Path:
    version = metadata.version("feedparser")
    cache = Path(os.environ.get("MONITOR_TEST_CACHE", Path.home() / ".cache" / "monitor-tests"))
    sdist = cache / f"feedparser-{version}.tar.gz"
    if sdist.is_file():
        return sdist
    try:
        cache.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
             "--disable-pip-version-check", f"feedparser=={version}", "-d", str(cache)],
            capture_output=True, text=True, timeout=180,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"cannot download the feedparser {version} sdist for its test corpus: {exc}")
    if proc.returncode != 0 or not sdist.is_file():
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.skip(f"cannot download the feedparser {version} sdist for its test corpus: {last}")
    return sdist


@pytest.fixture(scope="module")
def corpus() -> dict[str, bytes]:
    """{path inside tests/: bytes} for every file of the sdist's tests/ folder but the runner."""
    sdist = corpus_sdist()
    files: dict[str, bytes] = {}
    with tarfile.open(sdist) as tar:
        for member in tar.getmembers():
            parts = member.name.split("/", 2)
            if member.isfile() and len(parts) == 3 and parts[1] == "tests":
                if parts[2].endswith(".py"):  # the runner, not a feed
                    continue
                handle = tar.extractfile(member)
                assert handle is not None
                files[parts[2]] = handle.read()
    if len(files) < 2000:
        pytest.skip(f"{sdist} holds only {len(files)} test files; expected ~2,250")
    return files


def test_feedparser_corpus_in_one_cycle(
    tmp_path: Path,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    corpus: dict[str, bytes],
    capsys: pytest.CaptureFixture[str],
) -> None:
    urls: dict[str, str] = {}
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
