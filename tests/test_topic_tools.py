"""`monitor topic check`, `monitor explain`, readable explanations and batch judging, through
the real CLI, a feed server on 127.0.0.1 and a real database."""

from __future__ import annotations

import itertools
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor._classify import StoryAlerts, batch_moment, classify_batch
from monitor._relevance import StoryGrouper, Tracker, read_seeds, tokenise
from monitor._relevance._text import analyse, stem
from tests.feedserver import FeedServer, rss
from tests.helpers import DATA, ROOT, START, TOY_THRESHOLD, cli, load_items, write_config
from tests.receivers import WebhookReceiver
from tests.test_relevance import TRADE_SEEDS

ITEMS = load_items(DATA / "clear_items.jsonl")
ON = [i for i in ITEMS if i["label"] == 2]
OFF = [i for i in ITEMS if i["label"] == 0]


def _entries(items: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    return [
        {
            "title": i["title"],
            "summary": i["summary"],
            "link": f"https://{prefix}.example/{n}",
            "guid": f"{prefix}-{n}",
            "published": START.replace(hour=n % 24),
        }
        for n, i in enumerate(items)
    ]


def _topic_t(tmp_path: Path, texts: list[str]) -> Path:
    """A config with one topic `t` seeded by ``texts`` (one file each, in tmp_path/seeds)."""
    seeds = tmp_path / "seeds"
    seeds.mkdir(parents=True)
    for n, text in enumerate(texts, 1):
        (seeds / f"{n}.txt").write_text(text, encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[monitor]\ndatabase = "monitor.db"\n[[topics]]\nname = "t"\nseeds = "{seeds}"\n',
        encoding="utf-8",
    )
    return config


def _json(capsys: pytest.CaptureFixture[str], config: Path, *args: str) -> Any:
    capsys.readouterr()
    assert cli(config, *args) == 0
    return json.loads(capsys.readouterr().out)


def test_matched_features_read_as_the_item_writes_them() -> None:
    tracker = Tracker("t", read_seeds(ROOT / "seeds"))
    judgement = tracker.judge(
        "France and Britain's military chiefs meet on a Ukraine force",
        "The coalition of the willing met in Paris.",
    )
    labels = [f for f, _ in judgement.matched]
    assert "France" in labels and "franc" not in labels  # the word, not its stem
    assert all(not f.startswith(("term:", "phrase:")) for f in labels)
    # accents are shown as written, though matching folds them ("Türkiye" = "Turkiye")
    turkiye = tokenise("Türkiye's Army", "")
    assert turkiye.words == ("Türkiye", "Army")
    assert turkiye.title == tokenise("Turkiye's army", "").title


def test_words_keep_their_accents_and_ligatures_where_the_tokens_fold_them() -> None:
    text = "L’Élysée: Macron’s «ﬁnal» offer, Ahmed al-Sharaa, São Paulo, Ukrainian’s Straße"
    tokens = tokenise(text, "")
    assert list(tokens.title) == analyse(text).seq  # matching still reads the folded text
    assert len(tokens.words) == len(tokens.title)
    shown = dict(zip(tokens.title, tokens.words, strict=True))
    assert shown[stem("elysee")] == "Élysée"
    assert shown[stem("sao")] == "São"
    assert shown[stem("final")] == "ﬁnal"  # the ligature as written, read as "final"
    assert shown[stem("alsharaa")] == "al-Sharaa"
    assert shown[stem("ukraine")] == "Ukrainian"


def test_explanations_show_accented_words_as_the_item_writes_them() -> None:
    tracker = Tracker("t", ["Élysée summit on Ukraine", "Élysée hosts Ukraine talks"] * 2)
    judgement = tracker.judge("Élysée summit: Ukraine talks", "")
    labels = [f for f, _ in judgement.matched]
    assert "Élysée" in labels and "elysee" not in labels and "Elysee" not in labels, labels


def test_a_batch_is_judged_whatever_order_the_feed_lists_it_in() -> None:
    seeds = read_seeds(ROOT / "seeds")
    batch = [tokenise(i["title"], i["summary"]) for i in ITEMS]
    forward = Tracker("t", seeds).judge_batch(batch)
    backward = Tracker("t", seeds).judge_batch(batch[::-1])
    assert forward == backward[::-1]
    # and judging changes nothing: the same items judged again get the same scores
    tracker = Tracker("t", seeds)
    assert tracker.judge_batch(batch) == tracker.judge_batch(batch)


def test_classify_learns_a_batch_oldest_first_as_the_daemon_does() -> None:
    """The daemon takes a feed's new entries oldest first, whatever order the feed lists them
    in; ``classify`` learns from a batch (and groups its hits) in that order too, so that a
    replay's figures are the daemon's. Results keep the batch's own order."""
    seeds = read_seeds(ROOT / "seeds")
    lines = [
        (n, {**item, "feed": "a", "published": (START + timedelta(minutes=n)).isoformat()})
        for n, item in enumerate(ITEMS)
    ]
    as_listed, oldest_first = Tracker("t", seeds), Tracker("t", seeds)
    newest_first_out = classify_batch(lines[::-1], [as_listed], StoryAlerts(StoryGrouper()))
    oldest_first_out = classify_batch(lines, [oldest_first], StoryAlerts(StoryGrouper()))
    assert as_listed.state() == oldest_first.state()
    assert newest_first_out[::-1] == oldest_first_out
    assert any(out["alert"] for out in oldest_first_out)


def test_classify_judges_one_feeds_run_of_items_together(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, [])
    item = {"title": ON[0]["title"], "summary": ON[0]["summary"], "feed": "a"}
    # two copies in one feed's run: judged together, so the second does not see the first
    # learnt; in two feeds' runs the tracker has learnt from the first before the second
    same = tmp_path / "same.jsonl"
    same.write_text("\n".join(json.dumps(i) for i in (item, item)))
    capsys.readouterr()
    assert cli(config, "classify", str(same)) == 0
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert first["score"] == second["score"]
    other = tmp_path / "other.jsonl"
    other.write_text("\n".join(json.dumps(i) for i in (item, {**item, "feed": "b"})))
    assert cli(config, "classify", str(other)) == 0
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert first["score"] != second["score"]


def test_a_replayed_batch_stands_for_a_poll_at_its_latest_publication_time() -> None:
    """``classify`` replays items without poll times: a batch's latest readable ``published``
    (never later than now) is the trackers' clock, which ages what the adaptation learnt."""
    stamped = [
        {"published": "2025-03-10T08:00:00Z"},
        {"published": "2025-03-11T09:30:00+00:00"},
        {"published": "not a date"},
        {},
    ]
    assert batch_moment(stamped) == datetime(2025, 3, 11, 9, 30, tzinfo=UTC)
    assert batch_moment([{"published": "2999-01-01T00:00:00Z"}]) <= datetime.now(UTC)
    assert batch_moment([{"title": "no date"}]) is None
    tracker = Tracker("t", read_seeds(ROOT / "seeds"))
    lines = [(n, {**item, "title": "Weather", "feed": "a"}) for n, item in enumerate(stamped)]
    classify_batch(lines, [tracker], StoryAlerts(StoryGrouper()))
    assert tracker.state()["clock"] == datetime(2025, 3, 11, 9, 30, tzinfo=UTC).timestamp()


def test_classify_reads_an_item_as_the_daemon_reads_it_from_a_feed(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Markup and entities in a JSON item (feed text copied as it came) are read as the parse
    stage reads them, so ``classify`` scores it as the daemon scores the same item."""
    item = {
        "title": ON[0]["title"],
        "summary": f"<p>{ON[0]['summary']}</p>&nbsp;&nbsp;<font color='#6f6f6f'>Wire</font>",
    }
    feed_server.add("/a.xml", rss(_entries([item], "a")))
    config = write_config(tmp_path, [feed_server.url("/a.xml")], threshold=TOY_THRESHOLD)
    assert cli(config, "once") == 0
    (stored,) = _json(capsys, config, "hits", "--format", "json")
    lines = tmp_path / "items.jsonl"
    lines.write_text(json.dumps({**item, "feed": "a"}))
    capsys.readouterr()
    assert cli(config, "classify", str(lines)) == 0
    assert json.loads(capsys.readouterr().out)["score"] == stored["score"]


def test_topic_check_shows_the_profile_and_a_backtest(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, [feed_server.url("/a.xml")])
    report = _json(capsys, config, "topic", "check", "paris-coalition", "--format", "json")
    assert report["seeds"] == 5 and report["backtest"] is None  # no database yet
    assert report["terms"] and report["phrases"]
    assert all(" " not in t for t, _ in report["terms"])
    assert len(report["keyword_baseline"]) == 2

    feed_server.add("/a.xml", rss(_entries(ON + OFF, "a")))
    assert cli(config, "once") == 0
    stored = _json(capsys, config, "hits", "--format", "json")
    report = _json(capsys, config, "topic", "check", "paris-coalition", "--format", "json")
    test = report["backtest"]
    assert test["items"] == len(ON + OFF)
    assert test["hits"] == len(stored)  # the replay judges the stored stream as the daemon did
    assert {h["title"] for h in test["top_hits"]} == {h["title"] for h in stored}

    capsys.readouterr()
    assert cli(config, "topic", "check", "paris-coalition") == 0
    table = capsys.readouterr().out
    assert "the profile rests on" in table and "backtest over the latest" in table
    assert cli(config, "topic", "check", "nope") == 1


def test_explain_says_why_an_item_was_or_was_not_a_hit(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    feed_server.add("/a.xml", rss(_entries(ON[:1] + OFF[:1], "a")))
    config = write_config(tmp_path, [feed_server.url("/a.xml")])
    assert cli(config, "once") == 0
    [hit] = _json(capsys, config, "hits", "--format", "json")
    report = _json(capsys, config, "explain", hit["id"], "--format", "json")
    [topic] = report["topics"]
    assert topic["hit"] is True and topic["stored_score"] == hit["score"]
    assert topic["stored_matched"] == hit["matched"]
    assert "a hit when it arrived" in topic["why"]
    capsys.readouterr()
    assert cli(config, "explain", hit["id"]) == 0  # the table, too
    assert "matched now: " in capsys.readouterr().out

    report = _json(capsys, config, "explain", "https://a.example/1", "--format", "json")
    [topic] = report["topics"]
    assert topic["hit"] is False and 0 < topic["stored_score"] < topic["threshold"]  # kept
    assert f"(scored {topic['stored_score']:.3f})" in topic["why"]
    assert topic["score_now"] < topic["threshold"]
    assert "not a hit when it arrived" in topic["why"] and "below the threshold" in topic["why"]
    assert cli(config, "explain", "https://nowhere.example/x") == 1


def test_explain_says_a_later_copy_of_a_story_was_not_alerted(
    tmp_path: Path,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The same story in two feeds is two hits and one alert: explain of the copy says it was
    not alerted and which hit carried the story's alert (as redeliver does)."""
    feed_server.add("/a.xml", rss(_entries(ON[:1], "a")))
    feed_server.add("/b.xml", rss(_entries(ON[:1], "a")))  # the same GUID and text
    urls = [feed_server.url("/a.xml"), feed_server.url("/b.xml")]
    config = write_config(tmp_path, urls, webhook=webhook_receiver)
    assert cli(config, "once") == 0
    hits = _json(capsys, config, "hits", "--format", "json")
    [first] = [h for h in hits if h["alerted"]]
    [copy] = [h for h in hits if not h["alerted"]]
    [topic] = _json(capsys, config, "explain", copy["id"], "--format", "json")["topics"]
    assert topic["alerted"] is False and topic["alerted_as"] == first["id"]
    why = f"not alerted: it is a later report of the story alerted as {first['id']}"
    assert why in topic["why"]
    capsys.readouterr()
    assert cli(config, "redeliver", copy["id"]) == 1  # nothing of its own: the story's alert
    assert f"`monitor redeliver {first['id']}` sends that alert again" in capsys.readouterr().err
    [topic] = _json(capsys, config, "explain", first["id"], "--format", "json")["topics"]
    assert topic["alerted"] is True and topic["alerted_as"] == first["id"]
    assert "not alerted" not in topic["why"]


def test_explain_and_redeliver_of_a_copy_when_the_topic_has_no_alert_channel(
    tmp_path: Path,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`channels = []`: stored, never alerted. No hit of the story is called the one that
    carried its alert, and redeliver does not send the user to one."""
    feed_server.add("/a.xml", rss(_entries(ON[:1], "a")))
    feed_server.add("/b.xml", rss(_entries(ON[:1], "a")))
    urls = [feed_server.url("/a.xml"), feed_server.url("/b.xml")]
    config = write_config(tmp_path, urls, webhook=webhook_receiver)
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace('name = "paris-coalition"', 'name = "paris-coalition"\nchannels = []')
    )
    assert cli(config, "once") == 0
    assert webhook_receiver.received == []
    hits = _json(capsys, config, "hits", "--format", "json")
    for hit in hits:
        [topic] = _json(capsys, config, "explain", hit["id"], "--format", "json")["topics"]
        assert topic["alerted"] is False and topic["alerted_as"] is None
        assert "not alerted" in topic["why"] and "alerted as" not in topic["why"]
        assert "no alert channel" in topic["why"], topic["why"]  # the copy's reason too
        capsys.readouterr()
        assert cli(config, "redeliver", hit["id"]) == 1
        assert "monitor redeliver hit_" not in capsys.readouterr().err


def test_explain_says_a_hit_came_from_the_feeds_edit(
    tmp_path: Path,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    lead = "Follow our live coverage of the day's events as they unfold."
    live = {"title": "Live: the day's events", "summary": lead, "link": "https://a.example/l",
            "guid": "live", "published": START}  # fmt: skip
    feed_server.add("/a.xml", rss([live]))
    config = write_config(tmp_path, [feed_server.url("/a.xml")], webhook=webhook_receiver)
    assert cli(config, "once") == 0
    edited = dict(live, title=ON[0]["title"], summary=f"{lead} {ON[0]['summary']}")
    feed_server.add("/a.xml", rss([edited]))
    assert cli(config, "once") == 0
    [topic] = _json(capsys, config, "explain", "https://a.example/l", "--format", "json")["topics"]
    assert topic["hit"] is True and topic["why"].startswith("a hit since the feed edited it (")
    assert topic["alerted"] is True


def test_explain_names_the_judgement_that_decides_a_score(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """An item judged with `monitor feedback` (or a near copy of one) scores as judged: the
    explanation must say so, not credit its words with the judgement's effect."""
    feed_server.add("/a.xml", rss(_entries(ON[:1] + OFF[:1], "a")))
    config = write_config(tmp_path, [feed_server.url("/a.xml")])
    assert cli(config, "once") == 0
    [hit] = _json(capsys, config, "hits", "--format", "json")
    assert cli(config, "feedback", hit["id"], "--irrelevant") == 0
    assert cli(config, "feedback", "https://a.example/1", "--relevant") == 0
    [judged_hit] = _json(capsys, config, "explain", hit["id"], "--format", "json")["topics"]
    assert judged_hit["judged"] == "irrelevant" and judged_hit["feedback_id"].startswith("fb_")
    assert f"judged irrelevant ({judged_hit['feedback_id']})" in judged_hit["why"]
    assert judged_hit["hit_now"] is False
    # the judgement alone: its words, at a share of a score of 0, would all read 0.000
    assert [m["feature"] for m in judged_hit["matched_now"]] == [
        "(judged irrelevant: the item, or a near copy)"
    ]
    [judged_miss] = _json(capsys, config, "explain", "https://a.example/1", "--format", "json")[
        "topics"
    ]
    assert judged_miss["judged"] == "relevant" and judged_miss["hit_now"] is True
    first = judged_miss["matched_now"][0]
    assert first["feature"] == "(judged relevant: the item, or a near copy)"
    assert first["weight"] > judged_miss["score_now"] / 2  # the judgement, not the words
    weights = [m["weight"] for m in judged_miss["matched_now"]]
    assert weights == sorted(weights, reverse=True)


def test_explain_does_not_judge_a_feed_for_topics_it_is_not_scored_for(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    feed_server.add("/a.xml", rss(_entries(ON[:1], "a")))
    config = write_config(tmp_path, [])
    config.write_text(
        config.read_text() + f'[[topics]]\nname = "other"\nseeds = "{ROOT / "seeds"}"\n'
    )
    assert cli(config, "feeds", "add", feed_server.url("/a.xml"), "--topic", "other") == 0
    assert cli(config, "once") == 0
    report = _json(capsys, config, "explain", "https://a.example/0", "--format", "json")
    by_topic = {t["topic"]: t for t in report["topics"]}
    assert by_topic["other"]["hit"] is True
    skipped = by_topic["paris-coalition"]
    assert skipped["score_now"] is None and skipped["hit_now"] is None
    assert "not judged: its feed is scored for other only" in skipped["why"]
    check = _json(capsys, config, "topic", "check", "paris-coalition", "--format", "json")
    assert check["backtest"]["items"] == 0  # not this topic's stream
    check = _json(capsys, config, "topic", "check", "other", "--format", "json")
    assert check["backtest"]["items"] == 1 and check["backtest"]["hits"] == 1


def test_explain_tells_an_item_stored_before_its_topic_was_added(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A topic added to the config later never judged the items already stored: "not a hit
    when it arrived" was wrong for them. Items that arrive once it is there are judged."""
    feed_server.add("/a.xml", rss(_entries(ON[:1], "a")))
    config = write_config(tmp_path, [feed_server.url("/a.xml")])
    assert cli(config, "once") == 0
    config.write_text(
        config.read_text() + f'[[topics]]\nname = "later"\nseeds = "{ROOT / "seeds"}"\n'
    )
    # before the new topic has run at all
    old = _json(capsys, config, "explain", "https://a.example/0", "--format", "json")
    later = {t["topic"]: t for t in old["topics"]}["later"]
    assert later["why"].startswith("stored before this topic was added (it has not run yet)")
    assert cli(config, "once") == 0  # the feed is unchanged: nothing new to judge
    feed_server.add("/a.xml", rss(_entries(ON[:2], "a")))
    assert cli(config, "once") == 0  # one new item, judged for both topics
    old = _json(capsys, config, "explain", "https://a.example/0", "--format", "json")
    by_topic = {t["topic"]: t for t in old["topics"]}
    assert "a hit when it arrived" in by_topic["paris-coalition"]["why"]
    assert by_topic["later"]["why"].startswith("stored before this topic was added"), by_topic
    assert by_topic["later"]["hit_now"] is True  # and how it scores now, as for any item
    new = _json(capsys, config, "explain", "https://a.example/1", "--format", "json")
    assert all("when it arrived" in t["why"] for t in new["topics"]), new


def test_matched_has_one_json_shape_everywhere(
    tmp_path: Path,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The webhook, `hits --format json` and `classify` all say why in the same shape, and
    `hits --format json` lists the deliveries."""
    feed_server.add("/a.xml", rss(_entries(ON[:1], "a")))
    config = write_config(tmp_path, [feed_server.url("/a.xml")], webhook=webhook_receiver)
    assert cli(config, "once") == 0
    [hook] = webhook_receiver.wait_for(1)
    [hit] = _json(capsys, config, "hits", "--format", "json")
    assert hit["matched"] == hook.json["matched"]
    assert all(set(m) == {"feature", "weight"} for m in hit["matched"])
    assert hit["deliveries"] == [{"channel": "webhook", "status": "delivered"}]
    stream = tmp_path / "one.jsonl"
    stream.write_text(json.dumps({"title": ON[0]["title"], "summary": ON[0]["summary"]}))
    capsys.readouterr()
    assert cli(config, "classify", str(stream)) == 0
    [line] = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [m["feature"] for m in line["matched"]] == [m["feature"] for m in hit["matched"]]


def test_describe_names_the_profile_words_that_are_common_news() -> None:
    """A seed word that a large share of the stream uses cannot tell the topic from its
    surroundings: describe() (and so `monitor topic check`) names it, once the tracker has
    seen enough of the stream to say."""
    seeds = [
        "Lithuania sends troops to the Ukraine force",
        "Lithuania troops join the Ukraine peacekeeping force",
        "Ukraine force: Lithuania pledges troops",
    ]
    tracker = Tracker("t", seeds)
    assert tracker.describe()["common"] == []  # nothing seen yet: nothing to say
    words = ["".join(w) for w in itertools.product("bcdfgk", repeat=3)]  # distinct texts
    ukraine = [f"Ukraine news from {w}" for w in words[:30]]
    weather = [f"Weather report for {w} and more" for w in words[30:120]]
    for title in ukraine + weather:
        tracker.observe(title, "", tracker.judge(title, ""))
    common = dict(tracker.describe()["common"])
    assert "Ukraine" in common and common["Ukraine"] >= 0.05
    assert "Lithuania" not in common


def test_topic_check_warns_of_a_seed_far_in_meaning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Three seeds about one story and a fourth about another: the fourth is named."""
    texts = [f"{i['title']}\n\n{i['summary']}\n" for i in [*ON[:3], OFF[0]]]
    config = _topic_t(tmp_path, texts)
    seeds = tmp_path / "seeds"
    report = _json(capsys, config, "topic", "check", "t", "--format", "json")
    meaning = report["meaning"]
    assert len(meaning) == 4 and min(meaning) == meaning[3] < 0.3 < min(meaning[:3])
    far = [w for w in report["warnings"] if "far in meaning" in w]
    assert len(far) == 1 and far[0].startswith("seed 4.txt ")

    (seeds / "4.txt").unlink()
    report = _json(capsys, config, "topic", "check", "t", "--format", "json")
    assert len(report["meaning"]) == 3
    assert not [w for w in report["warnings"] if "far in meaning" in w]
    assert cli(config, "topic", "check", "t") == 0
    assert "closeness in meaning of each seed" in capsys.readouterr().out

    # Four real headlines of one broad story (March 2025): short, so none is close in
    # meaning to the others, and none is the odd one out. No seed is named.
    for f in seeds.iterdir():
        f.unlink()
    for n, title in enumerate(HEADLINES_OF_ONE_BROAD_STORY, 1):
        (seeds / f"{n}.txt").write_text(title + "\n", encoding="utf-8")
    report = _json(capsys, config, "topic", "check", "t", "--format", "json")
    assert max(report["meaning"]) < 0.4, report["meaning"]
    far = [w for w in report["warnings"] if "meaning" in w]
    assert len(far) == 1 and far[0].startswith("the seeds are far apart in meaning"), far


def test_meaning_warnings_name_the_right_seed_when_one_has_no_vector(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A seed the model cannot read (words too long for it) has no vector: the closeness of
    the others must still be reported against their own seed numbers, and that seed named."""
    unread = "Pneumonoultramicroscopicsilicovolcanoconiosis\n"
    texts = [unread, *(f"{i['title']}\n\n{i['summary']}\n" for i in [*ON[:3], OFF[0]])]
    config = _topic_t(tmp_path, texts)
    report = _json(capsys, config, "topic", "check", "t", "--format", "json")
    meaning = report["meaning"]
    assert len(meaning) == 5 and meaning[0] is None, meaning
    assert min(m for m in meaning if m is not None) == meaning[4]
    far = [w for w in report["warnings"] if "far in meaning" in w]
    assert len(far) == 1 and far[0].startswith("seed 5.txt "), far
    unread_warning = [w for w in report["warnings"] if "no word the model reads" in w]
    assert unread_warning and unread_warning[0].startswith("seed 1.txt "), report["warnings"]
    assert cli(config, "topic", "check", "t") == 0
    assert "1.txt (none)" in capsys.readouterr().out

    # two seeds about different stories: no third to single one out, still worth a warning
    for f in (tmp_path / "seeds").iterdir():
        f.unlink()
    for n, item in enumerate([ON[0], OFF[0]], 1):
        (tmp_path / "seeds" / f"{n}.txt").write_text(f"{item['title']}\n\n{item['summary']}")
    report = _json(capsys, config, "topic", "check", "t", "--format", "json")
    assert max(report["meaning"]) < 0.3, report["meaning"]
    assert [w for w in report["warnings"] if "far apart in meaning" in w], report["warnings"]


HEADLINES_OF_ONE_BROAD_STORY = [
    "‘Somalia is dangerous’: Former US deportees struggle with fear, uncertainty",
    "Mahmoud Khalil arrest: Can the US deport a green card holder?",
    "US deports hundreds of Venezuelans despite court order",
    "How Trump’s Crackdown Is Drastically Driving Down Migration",
]


def test_topic_check_says_items_pasted_into_one_file_are_one_seed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Four headlines pasted into one file are one seed: the warning says to give each item
    its own file, as the seeds README asks."""
    config = _topic_t(tmp_path, ["".join(f"{i['title']}\n" for i in ON[:4])])
    report = _json(capsys, config, "topic", "check", "t", "--format", "json")
    assert report["seeds"] == 1 and report["lines"] == [4]
    (one,) = [w for w in report["warnings"] if w.startswith("one seed")]
    assert "4 lines" in one and "one per file" in one

    seeds = tmp_path / "seeds"
    (seeds / "1.txt").unlink()  # the pasted file, then one file per headline
    for n, item in enumerate(ON[:4]):
        (seeds / f"h{n}.txt").write_text(f"{item['title']}\n", encoding="utf-8")
    report = _json(capsys, config, "topic", "check", "t", "--format", "json")
    assert report["seeds"] == 4 and report["lines"] == [1, 1, 1, 1]
    assert not [w for w in report["warnings"] if w.startswith("one seed")]


def test_topic_check_says_why_the_semantic_channel_is_off(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Seeds of words too long for the model to read (it skips junk such as base64): the
    channel is off for that topic, and the model being installed, that is the reason to give."""
    config = _topic_t(tmp_path, ["Pneumonoultramicroscopicsilicovolcanoconiosis\n"])
    capsys.readouterr()
    assert cli(config, "topic", "check", "t") == 0
    out = capsys.readouterr().out
    assert "semantic channel: off (no seed has a word the model reads)" in out, out
    assert "not installed" not in out


def test_topic_check_lists_terms_and_phrases_as_the_seeds_write_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _topic_t(
        tmp_path,
        [
            "US deports Venezuelans, a French military official says in Paris\n",
            "Venezuelans deported to El Salvador, French military official warns\n",
            "Court order ignored as Venezuelans are deported, French military official says\n",
        ],
    )
    report = _json(capsys, config, "topic", "check", "t", "--format", "json")
    terms = [t for t, _ in report["terms"]]
    assert terms.count("Venezuelans") == 1, terms  # the word and the country it names: one
    assert "French military official" in [p for p, _ in report["phrases"]], report["phrases"]


def test_topic_check_shows_words_from_phrases_and_judgements_as_written() -> None:
    """Profile terms that no seed writes (a configured phrase's words, a judged item's) are
    shown as the phrase or the item writes them, not as stems."""
    tracker = Tracker(
        "t", ["Ransom paid in border case", "Border case ransom"], phrases=["Kidnapping"]
    )
    tracker.set_feedback([("Vance visits the border", "Vance on kidnappings", True)])
    terms = [t for t, _ in tracker.describe(limit=50)["terms"]]
    assert "Kidnapping" in terms and "Vance" in terms, terms
    assert not {"kidnap", "vanc"} & set(terms), terms


def test_topic_check_warns_of_a_seed_not_in_english(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The stopwords and the stemmer are English: a seed in another language matches only
    items in its language, and its language's common words weigh as topic words."""
    english = [
        "Military chiefs of about 30 countries met in Paris on Tuesday to plan a security "
        "force for Ukraine, which would deploy after a ceasefire with Russia is agreed.",
        "France and Britain lead the coalition of the willing: the chiefs of staff discussed "
        "how a force for Ukraine would be made up and where it would be based.",
        "The meeting at the French military headquarters was the first of its kind, with "
        "European and Commonwealth chiefs of staff and a NATO observer.",
    ]
    french = (
        "Les chefs d'état-major d'une trentaine de pays se sont réunis mardi à Paris pour "
        "préparer une force de sécurité en Ukraine après un cessez-le-feu, selon l'Élysée."
    )
    report = _json(
        capsys, _topic_t(tmp_path, [*english, french]), "topic", "check", "t", "--format", "json"
    )
    warned = [w for w in report["warnings"] if "English" in w]
    assert len(warned) == 1 and warned[0].startswith("seed 4.txt does not read as English"), warned
    (tmp_path / "seeds" / "4.txt").unlink()
    report = _json(capsys, tmp_path / "config.toml", "topic", "check", "t", "--format", "json")
    assert not [w for w in report["warnings"] if "English" in w], report["warnings"]

    # four short French headlines: none long enough alone, together they tell
    for f in (tmp_path / "seeds").iterdir():
        f.unlink()
    headlines = [
        "Ukraine : les chefs d'état-major de 30 pays réunis à Paris",
        "Force de réassurance : la France et le Royaume-Uni à la manœuvre",
        "Réunion des chefs militaires à Paris sur l'après cessez-le-feu",
        "Coalition des volontaires : Macron reçoit les chefs d'état-major",
    ]
    for n, title in enumerate(headlines, 1):
        (tmp_path / "seeds" / f"{n}.txt").write_text(title)
    report = _json(capsys, tmp_path / "config.toml", "topic", "check", "t", "--format", "json")
    warned = [w for w in report["warnings"] if "English" in w]
    assert warned and warned[0].startswith("the seeds do not read as English"), warned


def test_topic_check_tells_english_headlines_from_short_foreign_seeds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Four English headlines about one event share no "the" or "and": they were said not to
    read as English. Two short French headlines among English ones were not warned of (each
    too short alone, and the English ones diluted the four together)."""
    fire = [
        "Nightclub fire kills 51 people in North Macedonia",
        "Nightclub Fire Kills at Least 51 in North Macedonia",
        "51 dead, dozens injured in nightclub blaze in North Macedonia",
        "At least 51 people killed in nightclub fire in North Macedonia",
    ]
    report = _json(
        capsys, _topic_t(tmp_path / "a", fire), "topic", "check", "t", "--format", "json"
    )
    assert not [w for w in report["warnings"] if "English" in w], report["warnings"]
    mixed = [
        "Rodrigo Duterte arrêté à Manille et transféré à La Haye pour répondre devant la CPI",
        "Les partisans de Duterte manifestent devant la Cour pénale internationale",
        "ICC takes custody of former Philippines President Rodrigo Duterte",
        "Duterte arrives in the Netherlands to face ICC charges",
    ]
    report = _json(
        capsys, _topic_t(tmp_path / "b", mixed), "topic", "check", "t", "--format", "json"
    )
    warned = [w for w in report["warnings"] if "English" in w]
    assert len(warned) == 1, warned
    assert warned[0].startswith("seeds 1.txt, 2.txt do not read as English"), warned


GREENLAND = [
    "Greenlanders to vote in election after Trump takeover threats",
    "Greenland holds election in shadow of Trump",
    "Opposition wins Greenland election, held amid Trump saber-rattling",
    "Greenland, coveted by Trump, sees surprise victory of center-right opposition in "
    "parliamentary elections",
]


@pytest.mark.parametrize(
    "headline",
    [
        "Au Groenland, l'opposition remporte les élections législatives sous la pression de Trump",
        "Le Groenland vote pour son parlement sous la pression de Donald Trump, qui veut acheter "
        "l'île",
        "Groenlandia, i partiti di opposizione vincono le elezioni",
    ],
)
def test_topic_check_tells_a_short_foreign_headline_among_english_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], headline: str
) -> None:
    """One French headline beside four English ones on the same story had too few of the
    plainly French words to be warned of, and was called far in meaning ("probably about
    another story"): the meaning model reads English, so its closeness says little."""
    config = _topic_t(tmp_path, [*GREENLAND, headline])
    report = _json(capsys, config, "topic", "check", "t", "--format", "json")
    warned = [w for w in report["warnings"] if "English" in w]
    assert len(warned) == 1 and warned[0].startswith("seed 5.txt does not read as English"), warned
    assert not [w for w in report["warnings"] if "far in meaning" in w], report["warnings"]
    assert not [w for w in report["warnings"] if "far apart in meaning" in w], report["warnings"]


def test_short_headlines_in_the_other_languages_read_as_foreign() -> None:
    """Headlines of the six languages the function words cover, each beside the English
    ones, are told; so are English headlines that name Le Pen or La Liga not."""
    foreign = [
        "La oposición gana las elecciones en Groenlandia tras las amenazas de Trump",
        "Groenlandia vota bajo la presión de Trump, que quiere comprar la isla",
        "Die Opposition gewinnt die Wahl in Grönland nach den Drohungen von Trump",
        "L'opposizione vince le elezioni in Groenlandia dopo le minacce di Trump",
        "Groenlândia vai às urnas sob pressão de Trump, que quer comprar a ilha",
        "Groenland kiest een nieuw parlement onder druk van Trump",
    ]
    for headline in foreign:
        assert Tracker("t", [*GREENLAND, headline]).describe()["not_english"] == [5], headline


def test_english_headlines_with_foreign_names_or_a_foreign_word_read_as_english() -> None:
    english = [
        "Le Pen barred from running for office after embezzlement verdict",
        "De Gaulle's grandson backs Le Pen in the French presidential race",
        "Real Madrid go top of La Liga as Barcelona lose at Las Palmas",
        "La Liga leaders Barcelona beat Real Sociedad",
        "Los Angeles fires: Las Vegas sends crews as Des Moines offers help",
        "Von der Leyen unveils plan to rearm Europe",
        "Son of Le Pen ally dies in Le Mans crash",
        "Macron's 'en même temps' leaves voters cold",
        "Macron says France is ready 'pour la paix' as allies meet",
        "El Salvador's Bukele offers to house US deportees",
        "Die Hard star Bruce Willis: family shares update",
    ]
    for n in range(0, len(english), 4):
        seeds = english[n : n + 4]
        assert Tracker("t", seeds).describe()["not_english"] == [], seeds
    for headline in english:
        assert Tracker("t", [*GREENLAND, headline]).describe()["not_english"] == [], headline


def test_topic_check_warns_of_a_seed_in_a_script_it_does_not_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only Latin-script text makes words: a Ukrainian headline is read as no word at all,
    so it is not counted among the seeds (it teaches nothing); its warning names it."""
    texts = [
        "Зіткнення танкера та вантажного судна в Північному морі",
        "Tanker and cargo ship collide in the North Sea off England",
        "North Sea collision: tanker carrying jet fuel on fire after cargo ship strikes it",
    ]
    report = _json(capsys, _topic_t(tmp_path, texts), "topic", "check", "t", "--format", "json")
    assert report["files"] == ["2.txt", "3.txt"] and report["unread_script"] == ["1.txt"]
    warned = [w for w in report["warnings"] if "script" in w]
    assert len(warned) == 1 and warned[0].startswith("seed 1.txt is mostly in a script"), warned


def test_topic_check_warns_of_seeds_that_are_the_same_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A seed pasted twice counts twice, and its words look shared by two seeds."""
    texts = [
        "Musk says X was hit by a massive cyberattack",
        "X outage: Musk blames a massive cyberattack\n",
        "X outage:  Musk blames a massive cyberattack",  # the same, but for white space
        "Thousands of X users report outages as Musk points to a cyberattack",
    ]
    report = _json(capsys, _topic_t(tmp_path, texts), "topic", "check", "t", "--format", "json")
    same = [w for w in report["warnings"] if "same text" in w]
    assert len(same) == 1 and same[0].startswith("seeds 2.txt and 3.txt are the same text"), same


def test_topic_check_warns_of_lines_that_several_seeds_share(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Whole pages pasted from one outlet bring its furniture ("Sign up for our newsletter"),
    which weighs in the profile as if the story said it. None of the seeds we measure shares
    a line; a quote two reports share is a line too, so this is a warning, not a filter."""
    footer = "Sign up for our morning newsletter and get the day's news in your inbox."
    stories = [
        "Military chiefs from 30 countries meet in Paris on a Ukraine security force",
        "France and Britain lead talks on a coalition of the willing for Ukraine",
        "Army chiefs discuss peacekeepers for Ukraine after a ceasefire",
        "Coalition of the willing: who would send troops to Ukraine",
    ]
    texts = [f"{story}\n{footer}\nShort line" for story in stories[:3]] + [stories[3]]
    report = _json(capsys, _topic_t(tmp_path, texts), "topic", "check", "t", "--format", "json")
    shared = [w for w in report["warnings"] if "boilerplate" in w]
    assert len(shared) == 1, report["warnings"]
    assert "seeds 1.txt, 2.txt and 3.txt" in shared[0] and "Sign up for our morning" in shared[0]
    assert "Short line" not in shared[0]  # too short to be told from a common phrase
    (tmp_path / "plain").mkdir()
    plain = _json(capsys, _topic_t(tmp_path / "plain", stories), "topic", "check", "t",
                  "--format", "json")  # fmt: skip
    assert not [w for w in plain["warnings"] if "boilerplate" in w]


def test_saved_pages_keep_their_blocks_as_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An HTML seed read as one line: its footer shared with the other pages was never found
    (a saved page is the case the warning is for), and phrases ran across paragraphs."""
    footer = (
        "<footer><div>Sign up for our daily newsletter and get the best stories</div>"
        "<span>Copyright 2025 Example News Media Group all rights reserved</span></footer>"
    )
    stories = [
        "Military chiefs from 30 countries meet in Paris on a Ukraine security force",
        "France and Britain lead talks on a coalition of the willing for Ukraine",
        "Army chiefs discuss peacekeepers for Ukraine after a ceasefire",
    ]
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for n, story in enumerate(stories, 1):
        page = f"<html><body><h1>{story}</h1><p>More on the talks.</p>{footer}</body></html>"
        (seeds / f"{n}.html").write_text(page, encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[monitor]\ndatabase = "monitor.db"\n[[topics]]\nname = "t"\nseeds = "{seeds}"\n'
    )
    report = _json(capsys, config, "topic", "check", "t", "--format", "json")
    shared = [w for w in report["warnings"] if "boilerplate" in w]
    assert len(shared) == 1 and "share 2 lines" in shared[0], report["warnings"]
    phrases = [p for p, _ in Tracker("t", read_seeds(seeds)).describe(limit=50)["phrases"]]
    assert not [p for p in phrases if "talks Sign" in p or "Ukraine More" in p], phrases


def test_no_phrase_runs_from_one_line_of_a_seed_into_the_next() -> None:
    """Headlines pasted one per line, or an article's menu, are lines, not one sentence."""
    seeds = [
        "Duterte flown to The Hague\nTrump tariffs hit Asian markets",
        "ICC holds Duterte in The Hague\nTrump tariffs rattle Manila",
        "Duterte appears before the ICC in The Hague\nTrump tariffs: what next",
    ]
    phrases = [p for p, _ in Tracker("t", seeds).describe(limit=50)["phrases"]]
    assert "Trump tariffs" in phrases, phrases
    assert not [p for p in phrases if "Hague Trump" in p], phrases
    # ... nor from one sentence into the next
    seeds = [
        "Heathrow closed. Passengers stranded worldwide after U.S. flights diverted.",
        "Heathrow closed? Passengers stranded again as U.S. flights diverted.",
        "Fire at substation: Heathrow closed; passengers stranded, U.S. flights diverted.",
    ]
    phrases = [p for p, _ in Tracker("t", seeds).describe(limit=50)["phrases"]]
    assert "Heathrow closed" in phrases and "Passengers stranded" in phrases, phrases
    assert not [p for p in phrases if "closed Passengers" in p or "closed passengers" in p]
    # ... after a closing quote or bracket, an acronym, a word with an accent; not after an
    # initial, an abbreviation with dots or a title
    from monitor._relevance._text import _sentences

    for line, parts in (
        ('confirmed "the terminal is closed." Passengers', 2),
        ("flights in the UK. Passengers wait", 2),
        ("in Bogotá. Passengers", 2),
        ("(again.) Passengers", 2),
        ("Talks in the U.S. capital with Mr. Starmer and Gen. Burkhard", 1),
        ("It rose 2.5 percent", 1),
        ("The airport closed… Passengers wait", 2),  # an ellipsis, one character
        ("The blaze killed 5. Rescuers searched", 2),  # a number is not an initial
        ("Inflation rose to 2.5. Markets fell", 2),  # nor an abbreviation
        ("It cost investors $1.5bn. Rescuers of the currency", 2),
        ("Talks at 10 a.m. Friday in Paris, e.g. with Ph.D. students", 1),
    ):
        assert len(_sentences(line)) == parts, (line, _sentences(line))


def test_the_backtest_lists_items_vetoed_by_an_exclude_phrase_apart(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """An item an exclude phrase vetoes may score 1.0: it is not a near miss."""
    vetoed = {**ON[0], "title": ON[0]["title"] + " (opinion)"}
    feed_server.add("/a.xml", rss(_entries([vetoed, *ON[1:], *OFF], "a")))
    config = write_config(tmp_path, [feed_server.url("/a.xml")])
    text = config.read_text().replace(
        'name = "paris-coalition"', 'name = "paris-coalition"\nexclude = ["opinion"]'
    )
    config.write_text(text)
    assert cli(config, "once") == 0
    report = _json(capsys, config, "topic", "check", "paris-coalition", "--format", "json")
    test = report["backtest"]
    assert vetoed["title"] not in [e["title"] for e in test["nearest_misses"]]
    assert [e["title"] for e in test["vetoed"]] == [vetoed["title"]]
    capsys.readouterr()
    assert cli(config, "topic", "check", "paris-coalition") == 0
    assert "vetoed by an exclude phrase:" in capsys.readouterr().out


def test_a_phrase_is_shown_as_the_seeds_write_it_not_word_by_word() -> None:
    """ "Supporters" opens one seed's sentence; the phrase is "Duterte supporters" in both
    seeds that use it, and must read so (not "Duterte Supporters")."""
    seeds = [
        "Duterte supporters rally in The Hague. Supporters gathered outside the ICC.",
        "Duterte supporters wait outside the court. Supporters sang all night.",
        "Supporters of the former president protest his arrest.",
    ]
    phrases = [p for p, _ in Tracker("t", seeds).describe(limit=50)["phrases"]]
    assert "Duterte supporters" in phrases, phrases


def _topic_files(tmp_path: Path, files: dict[str, str]) -> Path:
    """A config with one topic `t` seeded by ``files`` (name: text, in tmp_path/seeds)."""
    config = _topic_t(tmp_path, [])
    for name, text in files.items():
        (tmp_path / "seeds" / name).write_text(text, encoding="utf-8")
    return config


def test_topic_check_names_seeds_by_their_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Warnings said "seed 4": the user had to count the folder's files in name order to
    find it. They name the file."""
    story = [f"{i['title']}\n\n{i['summary']}\n" for i in ON[:3]]
    files = {"bbc.txt": story[0], "guardian.md": story[1], "reuters.txt": story[2]}
    files["sport.txt"] = f"{OFF[0]['title']}\n\n{OFF[0]['summary']}\n"  # another story
    files["reuters-again.txt"] = story[2]
    config = _topic_files(tmp_path, files)
    report = _json(capsys, config, "topic", "check", "t", "--format", "json")
    assert report["files"] == sorted(files), report["files"]
    far = [w for w in report["warnings"] if "far in meaning" in w]
    assert len(far) == 1 and far[0].startswith("seed sport.txt "), far
    same = [w for w in report["warnings"] if "same text" in w]
    assert len(same) == 1 and same[0].startswith("seeds reuters-again.txt and reuters.txt "), same
    assert not [w for w in report["warnings"] if "seed 4" in w or "seeds 3" in w]


def test_topic_check_warns_of_a_seed_with_no_word_to_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An empty file, one of punctuation or common words only, and a saved page whose text
    is all markup give the topic nothing: they were taken in silence (the empty one not even
    counted), as if the topic rested on them. Warned of, by name; the topic still loads (as
    a folder with some usable text does: only a folder with none is a config error)."""
    story = [f"{i['title']}\n\n{i['summary']}\n" for i in ON[:3]]
    files = {f"{n}.txt": text for n, text in enumerate(story, 1)}
    files |= {
        "empty.txt": "",
        "dashes.txt": "--- *** ... !!! 2025 ---\n",
        "stopwords.md": "the and of to in\n",
        "page.html": "<html><script>var a = 1;</script><div><img src='x.png'></div></html>",
    }
    config = _topic_files(tmp_path, files)
    report = _json(capsys, config, "topic", "check", "t", "--format", "json")
    unread = [w for w in report["warnings"] if "no word to read" in w]
    named = sorted(w.split()[1] for w in unread)
    assert named == ["dashes.txt", "empty.txt", "page.html", "stopwords.md"], report["warnings"]
    assert not [w for w in report["warnings"] if "far in meaning" in w], report["warnings"]
    capsys.readouterr()
    assert cli(config, "topic", "check", "t") == 0
    assert "warning: seed empty.txt has no word to read" in capsys.readouterr().out


def _between(score: float) -> float:
    """A threshold between ``score`` and its value at 3 decimals: what a 3-decimal score
    printed beside it would put on the wrong side."""
    return (score + float(f"{score:.3f}")) / 2


def test_explain_prints_a_score_on_the_side_of_the_threshold_it_is_on(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Threshold 0.55 and a score of 0.549732 read "now scores 0.550, below the threshold":
    the printed score has the digits it takes to agree with the decision."""
    feed_server.add("/a.xml", rss(_entries(ON[:1] + OFF[:1], "a")))
    config = write_config(tmp_path, [feed_server.url("/a.xml")])
    assert cli(config, "once") == 0
    for link in ("https://a.example/0", "https://a.example/1"):
        [topic] = _json(capsys, config, "explain", link, "--format", "json")["topics"]
        threshold = _between(topic["score_now"])
        config = write_config(tmp_path, [feed_server.url("/a.xml")], threshold=threshold)
        [topic] = _json(capsys, config, "explain", link, "--format", "json")["topics"]
        side = "at or above" if topic["score_now"] >= threshold else "below"
        printed = topic["why"].split("now scores ")[1].split(",")[0]
        assert f", {side} the threshold" in topic["why"], topic["why"]
        assert (float(printed) >= threshold) == (side == "at or above"), (printed, threshold)
        stored = re.split(r"[);]", topic["why"].split("(scored ")[1])[0]
        assert (float(stored) >= threshold) == (topic["stored_score"] >= threshold), stored


def test_hits_and_the_backtest_print_scores_on_their_side_of_the_threshold(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    feed_server.add("/a.xml", rss(_entries(ON + OFF, "a")))
    config = write_config(tmp_path, [feed_server.url("/a.xml")], threshold=TOY_THRESHOLD)
    assert cli(config, "once") == 0
    [hit, *_] = _json(capsys, config, "hits", "--format", "json")
    threshold = _between(hit["score"])
    config = write_config(tmp_path, [feed_server.url("/a.xml")], threshold=threshold)
    capsys.readouterr()
    assert cli(config, "hits") == 0
    lines = capsys.readouterr().out.splitlines()
    [row] = [line for line in lines if hit["id"] in line]
    printed = float(row[lines[0].index("score") :].split()[0])  # the column, wherever it is
    assert (printed >= threshold) == (hit["score"] >= threshold), (row, threshold)

    report = _json(capsys, config, "topic", "check", "paris-coalition", "--format", "json")
    test = report["backtest"]
    entry = (test["nearest_misses"] or test["top_hits"])[0]
    threshold = _between(entry["score"])
    config = write_config(tmp_path, [feed_server.url("/a.xml")], threshold=threshold)
    report = _json(capsys, config, "topic", "check", "paris-coalition", "--format", "json")
    entries = report["backtest"]["top_hits"] + report["backtest"]["nearest_misses"]
    assert entries
    assert cli(config, "topic", "check", "paris-coalition") == 0
    table = capsys.readouterr().out
    for e in entries:
        [line] = [x for x in table.splitlines() if e["title"][:70] in x]
        printed = float(line.split()[0])
        assert (printed >= threshold) == (e["score"] >= threshold), (line, threshold)


# Headlines of 5-12 words in those languages that had no word plainly of one of them, or one
SHORT_FOREIGN = [
    "I leader europei si riuniscono a Parigi per la forza di pace in Ucraina",
    "Ucraina, i capi militari europei a Parigi per la forza di pace",
    "Starmer: pronti a inviare truppe in Ucraina",
    "Los jefes militares europeos se reúnen en París",
    "Macron ontvangt Europese leiders in Parijs voor top over Oekraïne",
    "Starmer will Truppen in die Ukraine schicken",
]


@pytest.mark.parametrize("headline", SHORT_FOREIGN)
def test_short_headlines_with_few_foreign_words_read_as_foreign(headline: str) -> None:
    """Short Italian, Spanish, Dutch and German headlines were called English, then "far in
    meaning": no English function word at all, and a foreign one written as a word (not a
    name's "Le", "De", "von der"), tells them."""
    assert Tracker("t", [*GREENLAND, headline]).describe()["not_english"] == [5], headline


def test_english_headlines_naming_foreign_names_and_works_read_as_english() -> None:
    """Headline-style English (few function words) naming people, places and works with
    foreign articles is English."""
    english = [
        "Le Pen appeal hearing set for January",
        "Von der Leyen, Macron meet Xi in Beijing",
        "Ursula von der Leyen unveils plan to rearm Europe",
        "De Niro, Scorsese reunite for new film",
        "La Scala opens season with Verdi opera",
        "Der Spiegel reporter wins press prize",
        "El Paso shooting suspect pleads guilty",
        "Les Misérables returns to West End stage",
        "Die Hard star Bruce Willis: family shares update",
        "Los Angeles wildfires: thousands flee as winds rise",
        "Trump meets Macron in Paris",
        "Starmer in Kyiv",
        "Zelensky, Starmer hold talks",
        "Zelensky, Starmer hold talks in London as allies meet",
        "Hundreds die in Sudan floods as rains continue",
        "Petrol prices rise 5 per cent in March",
        "Charles de Gaulle airport strike grounds flights",
        "Leonardo da Vinci drawing sells for record sum",
        "Starmer says Britain ready 'à la française' as summit opens",
    ]
    for headline in english:
        assert Tracker("t", [*GREENLAND, headline]).describe()["not_english"] == [], headline


def test_topic_check_counts_lists_and_measures_only_the_seeds_with_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Five seeds and seven files with no word to read: the header said "9 seeds (…, 8, 0, 0,
    0 words)" and gave some of the seven a closeness in meaning, and the JSON's seeds and
    files held some of them. The seeds counted, listed and measured are the five; the seven
    are in the warnings, by name, and in the JSON's no_words."""
    story = [f"{i['title']}\n\n{i['summary']}\n" for i in ON[:5]]
    files = {f"{n}.txt": text for n, text in enumerate(story, 1)}
    junk = {
        "empty.txt": "",
        "ws.txt": "  \n\t \n",
        "bom.txt": "\ufeff",
        "url.txt": "https://www.example.com/\n",
        "md.md": "# --- * * *\n",
        "num.txt": "2025 the 10 of AND\n",
        "ent.html": "<p>&nbsp;</p>",
    }
    config = _topic_files(tmp_path, files | junk)
    report = _json(capsys, config, "topic", "check", "t", "--format", "json")
    assert report["seeds"] == 5 and report["files"] == sorted(files), report["files"]
    assert len(report["words"]) == len(report["shared"]) == len(report["lines"]) == 5
    assert report["meaning"] is None or len(report["meaning"]) == 5, report["meaning"]
    assert report["no_words"] == sorted(junk), report["no_words"]
    unread = sorted(w.split()[1] for w in report["warnings"] if "no word to read" in w)
    assert unread == sorted(junk), report["warnings"]
    capsys.readouterr()
    assert cli(config, "topic", "check", "t") == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0]
    words = header.split(" seeds (")[1].split(" words)")[0]
    assert header.startswith("topic t: 5 seeds (") and words.count(",") == 4, header
    closeness = [line for line in out.splitlines() if line.startswith("closeness")]
    assert not [name for name in junk if closeness and name in closeness[0]], closeness


def test_classify_alerts_a_later_copy_for_the_topics_its_story_had_not_hit() -> None:
    """One alert per story and topic, as the daemon stores them: `classify` said `alert:
    false` for a later copy that is its story's first hit for another topic."""
    from monitor._relevance import tokenise

    stories = StoryAlerts(StoryGrouper())
    tokens = tokenise("Volcano erupts near Grindavik", "Lava flows toward the town again.")
    when = datetime(2025, 3, 11, 12, 0, tzinfo=UTC)
    story, first = stories.assign("a", tokens, when, ["iceland"])
    assert first
    assert stories.assign("b", tokens, when, ["iceland"]) == (story, False)  # a later copy
    assert stories.assign("c", tokens, when, ["iceland", "travel"]) == (story, True)
    assert stories.assign("d", tokens, when, ["travel"]) == (story, False)
    assert stories.assign("a", tokens, when, ["iceland"]) == (story, True)  # the same item


def test_topic_check_of_a_seed_in_another_script_names_it_and_counts_only_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Cyrillic headline beside four English seeds makes no word: it teaches the topic
    nothing (neither its words nor its meaning), so it is not counted, listed or measured
    ("5 seeds (…, 0 words)", "far in meaning"); its own warning names it. Since the seeds
    without words stopped counting in the tracker, the table raised instead."""
    story = [f"{i['title']}\n\n{i['summary']}\n" for i in ON[:4]]
    files = {f"{n}.txt": text for n, text in enumerate(story, 1)}
    config = _topic_files(
        tmp_path, files | {"ru.txt": "Извержение вулкана в Исландии: Гриндавик эвакуирован\n"}
    )
    report = _json(capsys, config, "topic", "check", "t", "--format", "json")
    assert report["seeds"] == 4 and report["files"] == sorted(files), report["files"]
    assert report["unread_script"] == ["ru.txt"] and report["no_words"] == []
    assert report["meaning"] is None or len(report["meaning"]) == 4, report["meaning"]
    about = [w for w in report["warnings"] if "ru.txt" in w]
    assert len(about) == 1 and "script other than Latin" in about[0], report["warnings"]
    capsys.readouterr()
    assert cli(config, "topic", "check", "t") == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert header.startswith("topic t: 4 seeds (") and ", 0" not in header, header


def test_explain_says_when_the_topics_facets_scaled_an_items_seed_score(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every seed's headline names Canada, Trump and tariffs: an item on Trump's tariffs
    against Japan covers two of the three facets (no counts yet: each term is its own)."""
    folder = tmp_path / "trade"
    folder.mkdir()
    for n, text in enumerate(TRADE_SEEDS):
        (folder / f"{n}.txt").write_text(text, encoding="utf-8")
    item = {"title": "Trump tariffs hit car makers in Japan", "summary": "The levies start."}
    feed_server.add("/a.xml", rss(_entries([item, *ON[:1]], "a")))
    config = write_config(tmp_path, [feed_server.url("/a.xml")])
    config.write_text(config.read_text() + f'[[topics]]\nname = "trade"\nseeds = "{folder}"\n')
    assert cli(config, "once") == 0
    report = _json(capsys, config, "explain", "https://a.example/0", "--format", "json")
    by_topic = {t["topic"]: t for t in report["topics"]}
    note = by_topic["trade"]["facets_now"]
    assert note.startswith("covers 2 of the topic's 3 facets (not Canada; ")
    assert f"; it {note}" in by_topic["trade"]["why"]
    assert by_topic["paris-coalition"]["facets_now"] is None  # one required facet
    capsys.readouterr()
    assert cli(config, "explain", "https://a.example/0") == 0
    assert "covers 2 of the topic's 3 facets" in capsys.readouterr().out
