"""`monitor atom`: the hits as an Atom feed, parsed back with feedparser (and ElementTree)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest

from monitor._atom_out import hits_feed
from tests.feedserver import FeedServer
from tests.helpers import DATA, cli, load_items, serve_items, write_config
from tests.receivers import WebhookReceiver

ITEMS = load_items(DATA / "clear_items.jsonl")
ON_TOPIC = {i["title"] for i in ITEMS if i["label"] == 2}


def test_atom_of_hits_round_trips_through_feedparser(
    tmp_path: Path,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    urls = serve_items(feed_server, ITEMS)
    config = write_config(tmp_path, list(urls.values()), webhook=webhook_receiver)
    assert cli(config, "once") == 0
    (tmp_path / "www").mkdir()
    out = tmp_path / "www" / "paris.xml"
    self_url = "https://example.org/paris.xml"
    args = ("atom", "--topic", "paris-coalition", "--output", str(out), "--self-url", self_url)
    assert cli(config, *args) == 0
    parsed = feedparser.parse(out.read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title == "monitor: paris-coalition"
    assert any(link.href == self_url and link.rel == "self" for link in parsed.feed.links)
    assert {e.title for e in parsed.entries} == ON_TOPIC
    capsys.readouterr()
    assert cli(config, "hits", "--format", "json") == 0
    hits = {h["title"]: h for h in json.loads(capsys.readouterr().out)}
    for entry in parsed.entries:
        hit = hits[entry.title]
        assert entry.link == hit["link"]
        assert entry.id.startswith("urn:uuid:")
        assert entry.tags[0].term == "paris-coalition"
        assert entry.author == hit["feed"]
        assert "Score" in entry.summary and "Matched:" in entry.summary
        assert entry.updated_parsed is not None and entry.published_parsed is not None
    first_ids = [e.id for e in parsed.entries]
    # written again: the same ids (a reader sees no hit twice), through stdout too
    capsys.readouterr()
    assert cli(config, "atom", "--limit", "2") == 0
    again = feedparser.parse(capsys.readouterr().out.encode())
    assert not again.bozo and [e.id for e in again.entries] == first_ids[:2]
    assert cli(config, "atom", "--topic", "nope") == 1
    assert "no topic 'nope'" in capsys.readouterr().err


def test_hostile_text_stays_valid_xml() -> None:
    hit = {
        "id": "hit_1",
        "topic": "t",
        "score": 0.9,
        "title": "Bad \x0b\x01 title <script>alert(1)</script> & ]]> \ud800",
        "link": 'https://e.example/a?b=1&c="2"',
        "feed": "Feed <b>",
        "published": "2025-03-11T09:00:00Z",
        "detected_at": "2025-03-11T09:01:00.000Z",
        "summary": "Line\x00one",
        "matched": [["phrase:x", 0.5]],
    }
    data = hits_feed([hit], title="t", feed_key="k", now=datetime(2025, 3, 11, tzinfo=UTC))
    ET.fromstring(data)  # well-formed
    parsed = feedparser.parse(data)
    assert not parsed.bozo
    (entry,) = parsed.entries
    assert entry.title == "Bad  title <script>alert(1)</script> & ]]>"  # as text, not markup
    assert entry.link == 'https://e.example/a?b=1&c="2"'
    assert parsed.feed.updated == "2025-03-11T09:01:00.000Z"


def test_an_output_in_a_missing_folder_is_refused_as_opml_export_refuses_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`atom --output` made missing folders on its way (a mistyped /var/www/feds/x.xml was
    published where no web server looks, unnoticed) while `opml export` refused one. Both
    refuse now, naming the folder, and make nothing."""
    config = write_config(tmp_path, [])
    assert cli(config, "feeds", "add", "http://127.0.0.1:1/a.xml") == 0  # a database to read
    missing = tmp_path / "www" / "feeds"
    for args in (
        ("atom", "--output", str(missing / "paris.xml")),
        ("opml", "export", str(missing / "feeds.opml")),
    ):
        capsys.readouterr()
        assert cli(config, *args) == 1
        err = capsys.readouterr().err
        assert f"cannot write: the folder {missing} does not exist" in err, err
    assert not (tmp_path / "www").exists()


def test_output_dash_is_stdout_and_an_empty_output_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`atom --output -` wrote a file named `-` (`opml export -` writes to stdout): it writes
    to stdout, as `atom` without --output does. `--output ""` said ".: cannot write: Device or
    resource busy": a usage error (exit 2) saying a file path is expected."""
    config = write_config(tmp_path, [])
    assert cli(config, "feeds", "add", "http://127.0.0.1:1/a.xml") == 0  # a database to read
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert cli(config, "atom") == 0
    plain = capsys.readouterr().out
    assert cli(config, "atom", "--output", "-") == 0
    out = capsys.readouterr().out
    assert out.startswith("<?xml") and "<feed" in out and not (tmp_path / "-").exists()
    assert out.split("<updated>")[0] == plain.split("<updated>")[0]
    for empty in ("", " "):
        with pytest.raises(SystemExit) as exit_:
            cli(config, "atom", "--output", empty)
        err = capsys.readouterr().err
        assert exit_.value.code == 2 and "--output" in err and "expected a file path" in err, err
