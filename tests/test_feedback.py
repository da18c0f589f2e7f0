"""Feedback that teaches, and `monitor eval`, through the real CLI, feeds and database."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from monitor._storage import Storage, read_feedback
from monitor._storage._schema import SCHEMA_VERSION
from tests.feedserver import FeedServer, rss
from tests.helpers import (
    DATA,
    START,
    cli,
    load_items,
    make_v1_database,
    serve_items,
    write_config,
)
from tests.receivers import SmtpServer

# A near miss a user does not want: a meeting in Paris about European defence, not the force.
NEAR_MISS = {
    "title": "Five EU defence ministers meet in Paris to discuss Ukraine security guarantees",
    "summary": "Defence ministers from France, Germany, Italy, Poland and Britain met in Paris "
    "to discuss European defence spending and security guarantees for Ukraine.",
    "link": "https://a.example/ministers",
    "guid": "a-1",
    "published": START,
}
# The same story as told by another outlet, a day later.
REWRITE = {
    "title": "EU defence ministers from five countries hold Paris talks on Ukraine security "
    "guarantees",
    "summary": "Ministers of defence from France, Britain, Germany, Poland and Italy held talks "
    "in Paris on European defence spending and on security guarantees for Ukraine.",
    "link": "https://b.example/talks",
    "guid": "b-1",
    "published": START.replace(day=12),
}
ON_TOPIC = next(i for i in load_items(DATA / "clear_items.jsonl") if i["label"] == 2)
STILL_ON_TOPIC = {
    "title": ON_TOPIC["title"],
    "summary": ON_TOPIC["summary"],
    "link": "https://b.example/chiefs",
    "guid": "b-2",
    "published": START.replace(day=12),
}


def _json(capsys: pytest.CaptureFixture[str], config: Path, *args: str) -> Any:
    capsys.readouterr()
    assert cli(config, *args) == 0
    return json.loads(capsys.readouterr().out)


def _classify(
    capsys: pytest.CaptureFixture[str], config: Path, path: Path, *options: str
) -> list[dict[str, Any]]:
    capsys.readouterr()
    assert cli(config, "classify", str(path), *options) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_feedback_on_a_near_miss_stops_its_rewrite_hitting_and_removal_undoes_it(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    feed_server.add("/a.xml", rss([NEAR_MISS]))
    feed_server.add("/b.xml", rss([]))
    config = write_config(tmp_path, [feed_server.url("/a.xml"), feed_server.url("/b.xml")])
    assert cli(config, "once") == 0
    [hit] = _json(capsys, config, "hits", "--format", "json")
    assert hit["title"] == NEAR_MISS["title"]  # the scorer takes it for the topic

    stream = tmp_path / "stream.jsonl"
    stream.write_text("\n".join(json.dumps(i, default=str) for i in (NEAR_MISS, REWRITE)))
    before = _classify(capsys, config, stream)
    assert [r["hit"] for r in before] == [True, True]  # without feedback, the rewrite hits too

    capsys.readouterr()
    assert cli(config, "feedback", hit["id"], "--irrelevant") == 0
    assert "irrelevant to paris-coalition" in capsys.readouterr().out
    [judged] = _json(capsys, config, "feedback", "--list", "--format", "json")
    assert judged["relevant"] is False and judged["title"] == NEAR_MISS["title"]

    # The next cycle (a fresh process reads the judgement from the database): the rewrite from
    # another outlet no longer hits; a clear on-topic item in the same cycle still does.
    feed_server.add("/b.xml", rss([REWRITE, STILL_ON_TOPIC]))
    assert cli(config, "once") == 0
    titles = [h["title"] for h in _json(capsys, config, "hits", "--format", "json")]
    assert REWRITE["title"] not in titles
    assert STILL_ON_TOPIC["title"] in titles

    after = _classify(capsys, config, stream)
    assert [r["hit"] for r in after] == [False, False]
    assert after[1]["score"] < before[1]["score"]
    ignoring = _classify(capsys, config, stream, "--no-feedback")
    assert [r["hit"] for r in ignoring] == [True, True]

    capsys.readouterr()
    assert cli(config, "feedback", "--remove", str(judged["id"])) == 0
    assert _json(capsys, config, "feedback", "--list", "--format", "json") == []
    assert [r["hit"] for r in _classify(capsys, config, stream)] == [True, True]


def test_the_alert_email_gives_the_command_that_judges_its_hit(
    tmp_path: Path,
    feed_server: FeedServer,
    smtp_server: SmtpServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Judging the first alerts is what lifts a topic most (README, "Feedback pays"), so the
    alert says how: the command with the hit's id, in both bodies, and that command works."""
    feed_server.add("/a.xml", rss([NEAR_MISS]))
    config = write_config(tmp_path, [feed_server.url("/a.xml")], smtp=smtp_server)
    assert cli(config, "once") == 0
    (mail,) = smtp_server.wait_for(1)
    text = mail.message.get_body(("plain",)).get_content()
    html = mail.message.get_body(("html",)).get_content()
    [hit] = _json(capsys, config, "hits", "--format", "json")
    command = f"monitor feedback {hit['id']} --irrelevant"
    assert command in text and command in html
    assert f"monitor feedback {hit['id']} --relevant" in text

    [judge] = re.findall(r"monitor feedback (\S+) --irrelevant", text)
    capsys.readouterr()
    assert cli(config, "feedback", judge, "--irrelevant") == 0
    assert "irrelevant to paris-coalition" in capsys.readouterr().out
    [judged] = _json(capsys, config, "feedback", "--list", "--format", "json")
    assert judged["title"] == NEAR_MISS["title"] and judged["relevant"] is False


def test_a_strong_hit_judged_irrelevant_and_its_copies_are_no_longer_hits() -> None:
    """The judgement decides its item and near copies (README). It took 2·z_mid off the
    score: an item the seeds rate very high stayed a hit at 0.96 after "irrelevant", and a
    copy under another link was alerted. Likewise "relevant" makes a hit of a weak item."""
    from monitor._relevance import Tracker
    from tests.helpers import SEEDS

    tracker = Tracker("t", [p.read_text() for p in sorted(SEEDS.glob("*.txt"))])
    title, summary = ON_TOPIC["title"], ON_TOPIC["summary"]
    assert tracker.judge(title, summary).score > 0.95  # the seeds rate it very high
    tracker.set_feedback([(title, summary, False)])
    for copy in ((title, summary), (title, summary + " Updated.")):
        judged = tracker.judge(*copy)
        assert judged.hit is False and judged.score == 0.0, judged
        assert judged.matched == (("(judged irrelevant: the item, or a near copy)", 0.0),)
    weak = (NEAR_MISS["title"], "Paris fashion week")
    tracker.set_feedback([(*weak, True)])
    judged = tracker.judge(*weak)
    assert judged.hit is True and judged.score >= tracker.threshold, judged


def test_feedback_by_link_replaces_an_earlier_verdict(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    feed_server.add("/a.xml", rss([NEAR_MISS]))
    config = write_config(tmp_path, [feed_server.url("/a.xml")])
    assert cli(config, "once") == 0
    assert cli(config, "feedback", NEAR_MISS["link"], "--irrelevant") == 0
    assert cli(config, "feedback", NEAR_MISS["link"], "--relevant") == 0
    rows = _json(capsys, config, "feedback", "--list", "--format", "json")
    assert [r["relevant"] for r in rows] == [True]
    assert cli(config, "feedback", NEAR_MISS["link"], "--remove") == 0
    assert _json(capsys, config, "feedback", "--list", "--format", "json") == []


def test_feedback_confirmation_cuts_a_long_title_as_the_tables_do(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The confirmation line cut the title at 80 characters with no mark ("…how Trump is
    affect; a running daemon …"): it is cut as a table cell is, with an ellipsis."""
    title = (
        "Canadians boycott American goods and holidays: a reporter asks shoppers in Toronto "
        "how Trump is affecting what they buy"
    )
    feed_server.add("/a.xml", rss([{**NEAR_MISS, "title": title}]))
    config = write_config(tmp_path, [feed_server.url("/a.xml")])
    assert cli(config, "once") == 0
    capsys.readouterr()
    assert cli(config, "feedback", NEAR_MISS["link"], "--irrelevant") == 0
    out = capsys.readouterr().out
    assert f": {title[:79]}…; a running daemon" in out, out


def test_feedback_confirmation_of_an_item_with_no_title_shows_its_link(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """An item with an empty title was confirmed as "relevant to paris: ; a running daemon
    …": nothing to tell which item was judged. Its link is shown instead."""
    feed_server.add("/a.xml", rss([{**NEAR_MISS, "title": ""}]))
    config = write_config(tmp_path, [feed_server.url("/a.xml")])
    assert cli(config, "once") == 0
    capsys.readouterr()
    assert cli(config, "feedback", NEAR_MISS["link"], "--relevant") == 0
    out = capsys.readouterr().out
    assert f": {NEAR_MISS['link']}; a running daemon" in out, out


def test_feedback_errors_are_one_line(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    feed_server.add("/a.xml", rss([NEAR_MISS]))
    config = write_config(tmp_path, [feed_server.url("/a.xml")])
    assert cli(config, "once") == 0
    capsys.readouterr()
    assert cli(config, "feedback", "hit_nope", "--relevant") == 1
    assert "no hit, item or link 'hit_nope'" in capsys.readouterr().err
    assert cli(config, "feedback", NEAR_MISS["link"], "--relevant", "--topic", "other") == 1
    assert "no topic 'other'" in capsys.readouterr().err
    assert cli(config, "feedback", "--relevant") == 1
    assert "needs an ID" in capsys.readouterr().err
    assert cli(config, "feedback", "99", "--remove") == 1
    assert "no feedback for '99'" in capsys.readouterr().err


def test_a_version_1_database_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    make_v1_database(path)
    assert read_feedback(path) == []  # read-only readers do not need the table
    Storage(path).close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("SELECT count(*) FROM feedback").fetchone()[0] == 0


def test_a_version_6_database_keeps_its_judgements_and_never_reuses_an_id(
    tmp_path: Path,
) -> None:
    """Version 7 rebuilds `feedback` so that ids are never given twice; the judgements and
    their ids survive the rebuild."""
    path = tmp_path / "old.db"
    Storage(path).close()
    with sqlite3.connect(path) as db:  # as version 6 left it: a plain INTEGER PRIMARY KEY
        db.execute("DROP TABLE feedback")
        db.execute(
            "CREATE TABLE feedback (id INTEGER PRIMARY KEY, topic TEXT NOT NULL, item_id "
            "INTEGER, link TEXT NOT NULL, title TEXT NOT NULL, summary TEXT NOT NULL, relevant "
            "INTEGER NOT NULL, judged_at TEXT NOT NULL, UNIQUE (topic, item_id))"
        )
        for n in (1, 2, 3):
            db.execute(
                "INSERT INTO feedback VALUES (?, 't', ?, 'l', 'T', 'S', 1, 'x')", (n, 10 + n)
            )
        db.execute("DELETE FROM feedback WHERE id = 3")  # the newest, removed before
        db.execute("PRAGMA user_version = 6")
    storage = Storage(path)
    assert [r["id"] for r in storage.feedback()] == [1, 2]
    storage.remove_feedback("fb_2")
    item = {"id": 99, "link": "l99", "title": "T", "summary": "S"}
    assert storage.add_feedback("t", item, True, START) == 3  # never 2 again
    storage.close()


def test_classify_reads_feedback_without_writing(tmp_path: Path) -> None:
    path = tmp_path / "monitor.db"
    assert read_feedback(path) == []
    assert not path.exists()  # no file is created by a reader


# -- monitor eval --------------------------------------------------------------------------


def test_eval_prints_model_and_keyword_baseline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, [])
    report = _json(capsys, config, "eval", str(DATA / "clear_items.jsonl"), "--format", "json")
    assert report["items"] == {"on_topic": 5, "brief": 0, "off_topic": 7, "unlabelled": 0}
    assert report["configured"]["f1"] == 1.0 and report["configured"]["cnorm"] == 0.0
    assert report["configured"]["threshold"] == 0.5
    # the keyword alert comes from the topic: the phrases most seeds use, none inside another
    query = report["keyword_query"]
    assert query.count('" OR "') == 1, query
    first, second = query.strip('"').split('" OR "')
    assert first.lower() not in second.lower() and second.lower() not in first.lower()
    texts = [json.loads(line) for line in (DATA / "clear_items.jsonl").read_text().splitlines()]
    expected = sum(
        1
        for item in texts
        if item["label"] == 2
        and any(k.lower() in f"{item['title']} {item['summary']}".lower() for k in (first, second))
    )
    assert report["keyword"]["tp"] == expected

    capsys.readouterr()
    assert cli(config, "eval", str(DATA / "clear_items.jsonl")) == 0
    table = capsys.readouterr().out
    for label in ("configured", "best threshold", "keyword baseline", "Cnorm"):
        assert label in table


def test_eval_and_classify_say_the_stored_judgements_they_apply(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Judged items in the evaluated file score as judged: F1 1.000 with three judgements
    against 0.936 with `--no-feedback`, and nothing said so. The report names how many
    stored judgements of the topic it applied, and that `--no-feedback` leaves them out."""
    items = load_items(DATA / "clear_items.jsonl")
    urls = serve_items(feed_server, items)
    config = write_config(tmp_path, list(urls.values()))
    assert cli(config, "once") == 0
    stored = _json(capsys, config, "feedback", "--list", "--format", "json")
    assert stored == []
    on, off = (next(i for i in items if i["label"] == n) for n in (2, 0))
    for item, verdict in ((on, "--irrelevant"), (off, "--relevant")):
        link = next(r["link"] for r in _stored_items(tmp_path) if r["title"] == item["title"])
        assert cli(config, "feedback", link, verdict) == 0
    path = str(DATA / "clear_items.jsonl")

    report = _json(capsys, config, "eval", path, "--format", "json")
    assert report["judgements_applied"] == 2
    assert report["configured"]["f1"] < 1.0  # the judgements decide their items
    capsys.readouterr()
    assert cli(config, "eval", path) == 0
    assert "2 stored judgements of paris-coalition applied" in capsys.readouterr().out
    assert cli(config, "classify", path) == 0
    err = capsys.readouterr().err
    assert "2 stored judgements applied" in err and "--no-feedback" in err, err

    report = _json(capsys, config, "eval", path, "--format", "json", "--no-feedback")
    assert report["judgements_applied"] == 0 and report["configured"]["f1"] == 1.0
    assert cli(config, "eval", path, "--no-feedback") == 0
    out = capsys.readouterr().out
    assert "stored judgements left out (--no-feedback)" in out and "applied" not in out
    assert cli(config, "classify", path, "--no-feedback") == 0
    assert "judgement" not in capsys.readouterr().err


def _stored_items(tmp_path: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(tmp_path / "monitor.db") as db:
        db.row_factory = sqlite3.Row
        rows = [dict(r) for r in db.execute("SELECT title, link FROM items")]
    db.close()
    return rows


def test_eval_plot_writes_a_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib", reason="--plot needs the `plot` extra")
    config = write_config(tmp_path, [])
    out = tmp_path / "pr.png"
    assert cli(config, "eval", str(DATA / "clear_items.jsonl"), "--plot", str(out)) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_eval_takes_labels_from_a_file_or_a_topic_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One stream measured for a topic whose labels live apart from it, as in a topic folder
    (`labels.jsonl`, seeds marked `seed: true` and counted as stream only)."""
    config = write_config(tmp_path, [])
    rows = [json.loads(line) for line in (DATA / "clear_items.jsonl").read_text().splitlines()]
    stream = tmp_path / "stream.jsonl"
    stream.write_text(
        "".join(json.dumps({k: v for k, v in {**r, "id": f"i{n}"}.items() if k != "label"}) + "\n"
                for n, r in enumerate(rows))
    )  # fmt: skip
    folder = tmp_path / "my-topic"
    folder.mkdir()
    labels = [{"id": f"i{n}", "label": r["label"]} for n, r in enumerate(rows)]
    labels[0]["seed"] = True
    (folder / "labels.jsonl").write_text("".join(json.dumps(row) + "\n" for row in labels))
    on_topic = sum(1 for r in rows if r["label"] == 2)
    for where in (folder / "labels.jsonl", folder):
        report = _json(
            capsys, config, "eval", str(stream), "--labels", str(where), "--format", "json"
        )
        assert report["items"]["on_topic"] == on_topic - 1, where
        assert report["items"]["unlabelled"] == 1, where


def test_eval_without_labels_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, [])
    items = tmp_path / "items.jsonl"
    items.write_text(json.dumps({"title": "x", "summary": "y"}) + "\n")
    capsys.readouterr()
    assert cli(config, "eval", str(items)) == 1
    assert "no item with a `label`" in capsys.readouterr().err
    # a labels file whose ids match no item says so, and names the file
    labels = tmp_path / "labels.jsonl"
    labels.write_text(json.dumps({"id": "other", "label": 2}) + "\n")
    assert cli(config, "eval", str(items), "--labels", str(labels)) == 1
    err = capsys.readouterr().err
    assert str(labels) in err and "no item's `id`" in err, err


def test_a_running_daemon_picks_up_new_judgements(tmp_path: Path) -> None:
    import asyncio

    from monitor._config import load_config
    from monitor._runtime import open_runtime

    config = load_config(write_config(tmp_path, []))

    async def scores() -> tuple[float, float]:
        async with open_runtime(config) as rt:
            [tracker] = rt.trackers
            before = tracker.judge(REWRITE["title"], REWRITE["summary"]).score
            item = {"id": 1, "link": NEAR_MISS["link"]} | {
                k: NEAR_MISS[k] for k in ("title", "summary")
            }
            rt.storage.add_feedback("paris-coalition", item, False, START)
            rt.refresh_feedback()  # what the daemon's feedback job does
            return before, tracker.judge(REWRITE["title"], REWRITE["summary"]).score

    before, after = asyncio.run(scores())
    assert before >= 0.5 > after


def test_feedback_without_topic_on_an_item_that_hit_no_topic_asks_for_one(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """With two topics, an item that hit neither (the miss a user most wants to mark
    relevant) has only a best score, perhaps 0.02: judging it for that topic unasked would
    teach the wrong topic. The user must say which; an item that hit one topic, or a hit id,
    says it."""
    other = tmp_path / "other-seeds"
    other.mkdir()
    (other / "1.txt").write_text("Earthquake in Myanmar: rescuers search the rubble in Mandalay.")
    extra = f'[[topics]]\nname = "quake"\nseeds = "{other}"\n'
    off = {
        **NEAR_MISS,
        "title": "Wildfire season starts early in Australia",
        "summary": "",
        "link": "https://a.example/fire",
        "guid": "a-9",
    }
    on = {**ON_TOPIC, "guid": "a-2", "link": "https://a.example/chiefs"}
    feed_server.add("/a.xml", rss([off, on]))
    config = write_config(tmp_path, [feed_server.url("/a.xml")], extra=extra)
    assert cli(config, "once") == 0
    capsys.readouterr()
    assert cli(config, "feedback", off["link"], "--relevant") == 1
    err = capsys.readouterr().err
    assert "--topic" in err and "no topic's hit" in err, err
    assert cli(config, "feedback", off["link"], "--relevant", "--topic", "quake") == 0
    assert cli(config, "feedback", on["link"], "--irrelevant") == 0  # it hit one topic
    rows = _json(capsys, config, "feedback", "--list", "--format", "json")
    assert [(r["topic"], r["link"]) for r in rows] == [
        ("quake", off["link"]),
        ("paris-coalition", on["link"]),
    ]
