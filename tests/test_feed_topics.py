"""``monitor feeds add URL --topic NAME``: an added feed's items are scored for its topics
only, in ``monitor once`` and in a running daemon that picks the feed up; real loopback feeds."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from monitor._feedjobs import FEEDS_REFRESH_INTERVAL
from tests.feedserver import FeedServer
from tests.helpers import (
    DATA,
    SEEDS,
    TOY_THRESHOLD,
    cli,
    load_items,
    serve_items,
    start_daemon,
    stop_daemon,
    write_config,
)
from tests.test_feeds_cli import feeds, run, wait_for

ITEMS = load_items(DATA / "clear_items.jsonl")
OTHER = f'[[topics]]\nname = "other"\nseeds = "{SEEDS}"\nthreshold = {TOY_THRESHOLD}'


def hit_topics(tmp_path: Path) -> dict[str, set[str]]:
    """feed URL → the topics of its hits (and of its items' best scores); {} while the
    daemon has not created the tables yet."""
    with sqlite3.connect(tmp_path / "monitor.db") as db:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'hits'").fetchone():
            return {}
        rows = db.execute(
            "SELECT f.url, h.topic FROM hits h JOIN items i ON i.id = h.item_id "
            "JOIN feeds f ON f.id = i.feed_id UNION "
            "SELECT f.url, i.topic FROM items i JOIN feeds f ON f.id = i.feed_id "
            "WHERE i.topic IS NOT NULL"
        ).fetchall()
    db.close()
    found: dict[str, set[str]] = {}
    for url, topic in rows:
        found.setdefault(url, set()).add(topic)
    return found


def test_an_added_feed_is_scored_for_its_topics_only(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    urls = serve_items(feed_server, ITEMS)
    europe, world = urls["europe"], urls["world"]
    config = write_config(tmp_path, [], extra=OTHER, threshold=TOY_THRESHOLD)
    code, out, _ = run(
        config, capsys, "feeds", "add", europe, "--topic", "other", "--topic", "other"
    )
    assert code == 0 and "scored for other only" in out
    assert run(config, capsys, "feeds", "add", world)[0] == 0
    code, _, err = run(config, capsys, "feeds", "add", "http://127.0.0.1:1/x", "--topic", "nope")
    assert code == 1
    assert "--topic: no topic 'nope'" in err and "its topics: paris-coalition, other" in err
    rows = feeds(config, capsys)
    assert "http://127.0.0.1:1/x" not in rows and set(rows) == {europe, world}
    assert (rows[europe]["topics"], rows[world]["topics"]) == (["other"], None)
    code, out, _ = run(config, capsys, "feeds")
    assert code == 0 and out.splitlines()[0].split()[-2:] == ["topics", "url"]
    assert [line.split()[-2] for line in out.splitlines()[2:]] == ["other", "-"]

    assert cli(config, "once") == 0
    assert hit_topics(tmp_path) == {europe: {"other"}, world: {"paris-coalition", "other"}}


def test_a_running_daemon_scores_a_feed_added_with_topics_for_them(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    urls = serve_items(feed_server, ITEMS)
    config = write_config(tmp_path, [], extra=OTHER, threshold=TOY_THRESHOLD)
    proc = start_daemon(config)
    try:
        assert wait_for(lambda: (tmp_path / "monitor.db").exists(), 30)
        code, _, err = run(config, capsys, "feeds", "add", urls["world"], "--topic", "other")
        assert code == 0, err
        assert wait_for(lambda: hit_topics(tmp_path), FEEDS_REFRESH_INTERVAL + 20), "no hits"
    finally:
        err = stop_daemon(proc)
    assert proc.returncode == 0, err
    assert hit_topics(tmp_path) == {urls["world"]: {"other"}}
