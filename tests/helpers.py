"""Helpers for the end-to-end tests: configs that point at the loopback servers, feeds built
from item files, running the real CLI."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from monitor._cli import main
from tests.feedserver import FeedServer, rss
from tests.receivers import SmtpServer, WebhookReceiver

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
DATA = Path(__file__).resolve().parent / "data"
START = datetime(2025, 3, 11, 8, 0, tzinfo=UTC)


def load_items(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def serve_items(server: FeedServer, items: list[dict[str, Any]]) -> dict[str, str]:
    """Serve ``items`` as one RSS feed per distinct ``feed`` value; return {feed: url}."""
    by_feed: dict[str, list[dict[str, Any]]] = {}
    for i, item in enumerate(items):
        link = item.get("link") or f"https://news.example/{item['feed']}/{i}"
        by_feed.setdefault(item["feed"], []).append(
            {
                "title": item["title"],
                "summary": item["summary"],
                "link": link,
                "guid": item.get("guid", link),
                "published": item.get("when", START + timedelta(minutes=i)),
            }
        )
    urls = {}
    for n, (feed, entries) in enumerate(sorted(by_feed.items())):
        path = f"/feed{n}.xml"
        server.add(path, rss(list(reversed(entries)), title=feed))
        urls[feed] = server.url(path)
    return urls


def write_opml(tmp_path: Path, urls: Iterable[str]) -> Path:
    """``feeds.opml`` in ``tmp_path``: one RSS outline per URL, written as given (escape what
    XML needs escaped first)."""
    outlines = "".join(f'<outline type="rss" text="t" xmlUrl="{url}"/>' for url in urls)
    opml = tmp_path / "feeds.opml"
    opml.write_text(f'<?xml version="1.0"?><opml version="2.0"><body>{outlines}</body></opml>')
    return opml


def write_config(
    tmp_path: Path,
    feed_urls: list[str],
    *,
    webhook: WebhookReceiver | None = None,
    smtp: SmtpServer | None = None,
    extra: str = "",
    monitor: str = "",
    threshold: float | None = None,
) -> Path:
    lines = [
        "[monitor]",
        'database = "monitor.db"',
        'interval = "10m"',
        monitor,
        "[[topics]]",
        'name = "paris-coalition"',
        f'seeds = "{SEEDS}"',
        "" if threshold is None else f"threshold = {threshold}",
    ]
    for url in feed_urls:
        lines += ["[[feeds]]", f'url = "{url}"']
    lines += [extra]
    if webhook is not None:
        lines += ["[alerts.webhook]", f'url = "{webhook.url}"', f'secret = "{webhook.secret}"']
    if smtp is not None:
        lines += [
            "[alerts.email]",
            'host = "127.0.0.1"',
            f"port = {smtp.port}",
            'tls = "none"',
            'sender = "monitor@example.org"',
            'recipients = ["desk@example.org"]',
        ]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# For tests about delivery and robustness, not relevance: on a new install the tracker
# judges its first items on the seeds alone (nothing is learnt from the first 30), and on the
# dozen items of clear_items.jsonl some on-topic ones then score 0.27-0.5 (the lowest with a
# hostile title's junk appended); every off-topic one stays below 0.1. This threshold makes
# "every on-topic item alerts" hold in any order.
TOY_THRESHOLD = 0.2


def cli(config: Path, *args: str) -> int:
    return main(["--config", str(config), *args])


def start_daemon(
    config: Path,
    *options: str,
    env: Mapping[str, str] | None = None,
    log: Path | None = None,
    prelude: str = "",
) -> subprocess.Popen[str]:
    """`monitor --config CONFIG [OPTIONS…] run` in a subprocess (OPTIONS: the global ones, such
    as ``--log-format json``), its stdout and log (stderr) captured for :func:`stop_daemon`;
    ``env``: variables added to this process's environment for it; ``log``: its log goes to
    that file instead, for a test that reads it while the daemon runs; ``prelude``: Python
    run in it before the command (a timing constant made short, as ``RETENTION_DELAY``)."""
    err = subprocess.PIPE if log is None else log.open("w", encoding="utf-8")
    start = ["-m", "monitor"]
    if prelude:
        start = ["-c", f"{prelude}\nfrom monitor._entry import main\nraise SystemExit(main())"]
    try:
        return subprocess.Popen(
            [sys.executable, *start, "--config", str(config), *options, "run"],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env=None if env is None else {**os.environ, **env},
        )
    finally:
        if not isinstance(err, int):
            err.close()  # the daemon has its own descriptor


def stop_daemon(
    proc: subprocess.Popen[str],
    *,
    signum: int = signal.SIGTERM,
    timeout: float = 15.0,
    log: Path | None = None,
) -> str:
    """Stop a daemon of :func:`start_daemon` with ``signum`` (unless it has ended) and return its
    log (read from ``log`` if it was started with one). One still running after ``timeout``
    seconds is killed: its return code says so."""
    if proc.poll() is None:
        proc.send_signal(signum)
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err if log is None else log.read_text(encoding="utf-8")


def wait_for_log(log: Path, text: str, timeout: float) -> bool:
    """Whether ``text`` appears in the log file ``log`` within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while text not in log.read_text(encoding="utf-8"):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def make_v1_database(path: Path) -> None:
    """A database file as the first release of the schema left it."""
    from monitor._storage._schema import _V1

    with sqlite3.connect(path) as db:
        db.executescript(_V1)
        db.execute("PRAGMA user_version = 1")
    db.close()


_HOLD_WRITE_LOCK = (
    "import sqlite3, sys\n"
    "conn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
    "conn.execute('BEGIN IMMEDIATE')\n"
    "print('locked', flush=True)\n"
    "sys.stdin.read()\n"
    "conn.execute('ROLLBACK')\n"
)


@contextmanager
def sqlite_write_lock(path: Path) -> Iterator[None]:
    """Another process holds the write lock of the SQLite database at ``path`` (an open
    ``BEGIN IMMEDIATE``, as a `sqlite3` shell's transaction would) until the block ends."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_WRITE_LOCK, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        yield
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
