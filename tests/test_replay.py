"""The daemon and `monitor classify` decide alike: what the relevance benchmarks measure
(`classify`'s replay, batch by feed) is what a daemon polling real feeds does.

Needs ``../shared/eval`` beside the repository for a stream long enough to adapt on (skipped
with a message otherwise)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.feedserver import FeedServer, rss
from tests.helpers import cli, write_config

EVAL_DIR = Path(__file__).resolve().parents[2] / "shared" / "eval"
DAYS = ("2025-03-06", "2025-03-10")  # two dev days with the topic's items among the news
CYCLES = 8


def _dev_items() -> list[dict[str, Any]]:
    path = EVAL_DIR / "dev.jsonl"
    if not path.exists():
        pytest.skip(f"evaluation data not found at {path} (needs ../shared/eval beside the repo)")
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    chosen = [i for i in items if str(i["published"])[:10] in DAYS]
    return sorted(chosen, key=lambda i: str(i["published"]))


def test_a_daemon_restarted_every_cycle_decides_as_classify_replays_its_polls(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two feeds grow over eight `monitor once` runs (each a process's whole life: the
    trackers' learnt state is saved and read back between them); the items the daemon judged,
    replayed through `classify` feed batch by feed batch (listed as the daemon stored them,
    not as it learnt from them), get the same scores and decisions. Covers the adaptation
    (hundreds of items, past the wait), the IDF refreshes and the saved state's round trip."""
    items = _dev_items()
    size = len(items) // CYCLES
    served: dict[str, list[dict[str, Any]]] = {"/a.xml": [], "/b.xml": []}
    for path in served:
        feed_server.add(path, rss([]))
    config = write_config(tmp_path, [feed_server.url(path) for path in served])
    for cycle in range(CYCLES):
        # one feed grows per cycle, so that the replay's runs of one feed are the daemon's polls
        path = "/a.xml" if cycle % 2 == 0 else "/b.xml"
        now = datetime.now(UTC)
        for k, item in enumerate(items[cycle * size : (cycle + 1) * size]):
            served[path].append(
                {
                    "title": item["title"],
                    "summary": item["summary"],
                    "link": f"https://news.example/{item['id']}",
                    "guid": str(item["id"]),
                    "published": now - timedelta(seconds=size - k),
                }
            )
        feed_server.add(path, rss(list(reversed(served[path]))))
        assert cli(config, "once") == 0

    with sqlite3.connect(tmp_path / "monitor.db") as db:
        # in the order the daemon stored them: a poll's hits after its other items
        stored = db.execute(
            "SELECT feeds.url, items.title, items.summary, items.published, items.score, "
            "items.id IN (SELECT item_id FROM hits) "
            "FROM items JOIN feeds ON feeds.id = items.feed_id "
            "WHERE items.duplicate_of IS NULL ORDER BY items.id"
        ).fetchall()
    db.close()
    assert len(stored) >= CYCLES * size - 5  # nearly every item judged (a few are copies)
    daemon_hits = [bool(row[5]) for row in stored]
    assert 5 <= sum(daemon_hits) < len(stored) // 4  # the comparison covers hits and misses

    replay = tmp_path / "replay"
    replay.mkdir()
    lines = replay / "items.jsonl"
    lines.write_text(
        "\n".join(
            json.dumps({"title": t, "summary": s, "feed": url, "published": published})
            for url, t, s, published, *_ in stored
        ),
        encoding="utf-8",
    )
    capsys.readouterr()
    assert cli(write_config(replay, []), "classify", str(lines)) == 0
    replayed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["hit"] for r in replayed] == daemon_hits
    for row, result in zip(stored, replayed, strict=True):
        # The daemon's clock is the poll's time, the replay's a batch's latest publication
        # time, a second or two earlier: what the adaptation learnt ages by a hair more.
        assert abs(result["score"] - row[4]) <= 1e-5, (row[1], result["score"], row[4])

    # `monitor topic check`'s backtest replays the stored items through a fresh tracker: over
    # a history shorter than its window it must judge them as the daemon did.
    capsys.readouterr()
    assert cli(config, "topic", "check", "paris-coalition", "--format", "json") == 0
    backtest = json.loads(capsys.readouterr().out)["backtest"]
    assert backtest["items"] == len(stored)
    by_title = {row[1]: row[4] for row in stored}
    shown = backtest["top_hits"] + backtest["nearest_misses"]
    assert len(shown) == 15
    for entry in shown:
        assert abs(entry["score"] - by_title[entry["title"]]) <= 1e-5, entry["title"]
