"""OPML import and export as Miniflux and FreshRSS write it (hand-written exports in
tests/data/opml), round trips through a real database, and unsafe documents refused."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor._opml import OpmlError, OpmlFeed, parse_opml, write_opml
from monitor._urls import canonical_feed_url
from tests.helpers import DATA, SEEDS, cli, write_config

OPML = DATA / "opml"


def feeds_json(config: Path, capsys: pytest.CaptureFixture[str]) -> list[dict]:
    capsys.readouterr()
    assert cli(config, "feeds", "--format", "json") == 0
    return json.loads(capsys.readouterr().out)


def test_miniflux_export_is_read_with_categories() -> None:
    opml = parse_opml((OPML / "miniflux.opml").read_bytes())
    assert opml.title == "Miniflux"
    by_url = {f.url: f for f in opml.feeds}
    assert len(opml.feeds) == 6 and not opml.skipped
    bbc = by_url["https://feeds.bbci.co.uk/news/world/rss.xml"]
    assert bbc == OpmlFeed(
        "https://feeds.bbci.co.uk/news/world/rss.xml",
        "BBC News - World",
        "https://www.bbc.co.uk/news/world",
        "All",
    )
    euractiv = by_url["https://www.euractiv.com/feed/?lang=en&section=global"]
    assert euractiv.title == "Euractiv & Co" and euractiv.category == "Europe"


def test_freshrss_export_nested_categories_and_non_feeds() -> None:
    opml = parse_opml((OPML / "freshrss.opml").read_bytes())
    by_url = {f.url: f for f in opml.feeds}
    assert by_url["https://feeds.arstechnica.com/arstechnica/index"].category == "Tech/Science"
    assert by_url["https://www.theguardian.com/world/rss"].title == "Guardian World"
    assert "https://example.org/news" not in by_url  # an HTML+XPath scraper, not a feed
    assert any("HTML+XPath" in s for s in opml.skipped)


def test_import_export_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, ["https://feeds.bbci.co.uk/news/world/rss.xml"])
    capsys.readouterr()
    assert cli(config, "opml", "import", str(OPML / "miniflux.opml")) == 0
    out = capsys.readouterr().out
    assert "imported 5 feeds" in out and "1 already present" in out  # BBC is in the config
    rows = feeds_json(config, capsys)
    assert len(rows) == 6
    assert {r["source"] for r in rows} == {"config", "cli"}
    urls = {r["url"] for r in rows}
    assert "https://www.politico.eu/feed/" in urls  # stored canonical (was HTTPS://…:443)

    exported = tmp_path / "out.opml"
    assert cli(config, "opml", "export", str(exported)) == 0
    again = parse_opml(exported.read_bytes())
    original = parse_opml((OPML / "miniflux.opml").read_bytes())

    def shape(feeds: tuple[OpmlFeed, ...]) -> set[tuple[str, str | None, str | None]]:
        return {(canonical_feed_url(f.url), f.html_url, f.category) for f in feeds}

    assert {canonical_feed_url(f.url) for f in again.feeds} == {
        canonical_feed_url(f.url) for f in original.feeds
    }
    added = {f for f in shape(original.feeds) if "bbci" not in f[0]}
    assert added <= shape(again.feeds)  # the added feeds keep homepage and category
    titles = {f.title for f in again.feeds}
    assert {"Kyiv Independent", "Euractiv & Co", "POLITICO Europe"} <= titles

    # importing the export, and FreshRSS's list over it, adds only what is new
    capsys.readouterr()
    assert cli(config, "opml", "import", str(exported)) == 0
    assert "imported 0 feeds" in capsys.readouterr().out
    assert cli(config, "opml", "import", str(OPML / "freshrss.opml")) == 0
    out = capsys.readouterr().out
    # BBC (https://Feeds.BBCI…:443 spelling) is the config's; HTML+XPath and file:// are skipped
    assert "imported 4 feeds" in out and "1 already present" in out and "2 skipped" in out
    assert "file:///etc/passwd" in out
    assert len(feeds_json(config, capsys)) == 10


def test_export_writes_nested_categories() -> None:
    feeds = [
        OpmlFeed("https://a.example/feed", "A", "https://a.example/", "Tech/Science"),
        OpmlFeed("https://b.example/feed", "B & B", None, "Tech"),
        OpmlFeed("https://c.example/feed", "C", None, None),
    ]
    data = write_opml(feeds, "monitor", datetime(2026, 11, 29, tzinfo=UTC))
    assert data.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    back = parse_opml(data)
    assert set(back.feeds) == set(feeds)


@pytest.mark.parametrize(
    ("name", "body", "expected"),
    [
        (
            "billion laughs",
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
            b'<opml version="2.0"><body><outline text="&lol2;" xmlUrl="https://x.example/"/>'
            b"</body></opml>",
            "DOCTYPE",
        ),
        (
            "external entity",
            b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
            b'<opml version="2.0"><body><outline text="&xxe;" xmlUrl="https://x.example/"/>'
            b"</body></opml>",
            "DOCTYPE",
        ),
        ("not xml", b"<opml><body>", "not well-formed"),
        ("not opml", b'<rss version="2.0"><channel/></rss>', "not <opml>"),
    ],
)
def test_unsafe_or_broken_documents_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, body: bytes, expected: str
) -> None:
    with pytest.raises(OpmlError, match=expected):
        parse_opml(body)
    config = write_config(tmp_path, [])
    path = tmp_path / "bad.opml"
    path.write_bytes(body)
    capsys.readouterr()
    assert cli(config, "opml", "import", str(path)) == 1
    err = capsys.readouterr().err
    assert f"{path}: " in err and expected in err and "Traceback" not in err
    assert not (tmp_path / "monitor.db").exists()  # refused before anything was written


def test_export_keeps_a_feeds_interval_and_topics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Moving a feed list to another machine by OPML keeps what `feeds add --interval
    --topic` said: a feed scored for one topic must not come back scored for every topic."""
    second = f'[[topics]]\nname = "second"\nseeds = "{SEEDS}"'
    first = tmp_path / "a"
    first.mkdir()
    config = write_config(first, [], extra=second)
    assert cli(config, "feeds", "add", "https://a.example/feed", "--interval", "2h") == 0
    assert cli(config, "feeds", "add", "https://b.example/feed", "--topic", "second") == 0
    exported = tmp_path / "out.opml"
    assert cli(config, "opml", "export", str(exported)) == 0

    other = tmp_path / "b"
    other.mkdir()
    config = write_config(other, [], extra=second)
    capsys.readouterr()
    assert cli(config, "opml", "import", str(exported)) == 0
    assert "imported 2 feeds" in capsys.readouterr().out
    rows = {r["url"]: r for r in feeds_json(config, capsys)}
    assert rows["https://a.example/feed"]["interval"] == "2h"
    assert rows["https://a.example/feed"]["topics"] is None
    assert rows["https://b.example/feed"]["topics"] == ["second"]
    assert rows["https://b.example/feed"]["interval"] == "10m"  # the config's default

    # a topic the importing config does not have: the feed is skipped, with the reason
    third = tmp_path / "c"
    third.mkdir()
    config = write_config(third, [])
    capsys.readouterr()
    assert cli(config, "opml", "import", str(exported)) == 0
    out = capsys.readouterr().out
    assert "imported 1 feeds" in out and "1 skipped" in out
    assert "https://b.example/feed" in out and "'second'" in out


def test_an_interval_beyond_any_date_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`feeds add --interval 10000000d` and an OPML file's `monitor:interval="99999999d"`
    were stored, and `monitor run` then crashed at every start (the scheduler's date
    overflowed); a feed stored so by an earlier release is polled at most every 100 years."""
    from monitor._feedset import FeedRow, active_feeds

    config = write_config(tmp_path, [])
    capsys.readouterr()
    with pytest.raises(SystemExit):  # a usage error
        cli(config, "feeds", "add", "https://a.example/f", "--interval", "10000000d")
    assert "--interval: at most 36500d (100 years)" in capsys.readouterr().err
    opml = tmp_path / "in.opml"
    opml.write_text(
        '<opml version="2.0" xmlns:monitor="urn:x-monitor:opml"><body>'
        '<outline type="rss" xmlUrl="https://b.example/f" monitor:interval="99999999d"/>'
        "</body></opml>"
    )
    assert cli(config, "opml", "import", str(opml)) == 0
    out = capsys.readouterr().out
    assert "imported 0 feeds" in out and "at most 36500d" in out, out
    assert feeds_json(config, capsys) == []
    stored = {"url": "https://c.example/f", "name": "c", "source": "cli", "paused": 0,
              "interval": 1e12, "category": None, "html_url": None}  # fmt: skip
    (feed,) = active_feeds([], [FeedRow.from_row(stored)], 600.0)
    assert feed.interval == 36500 * 86400
    # stored so: exported as the interval it is polled at (the import refused the number)
    assert cli(config, "feeds", "add", "https://d.example/f", "--interval", "2h") == 0
    with sqlite3.connect(tmp_path / "monitor.db") as db:
        db.execute("UPDATE feeds SET interval = 1e12 WHERE url = 'https://d.example/f'")
    db.close()
    capsys.readouterr()
    assert cli(config, "opml", "export") == 0
    assert 'monitor:interval="36500d"' in capsys.readouterr().out


def test_monitor_topics_must_name_a_topic_each_once() -> None:
    """`monitor:topics="[]"` stored a feed scored for no topic (it never hit); repeated names
    were kept twice."""
    body = (
        b'<opml version="2.0" xmlns:m="urn:x-monitor:opml"><body>'
        b'<outline type="rss" xmlUrl="https://a.example/f" m:topics="[]"/>'
        b'<outline type="rss" xmlUrl="https://b.example/f" m:topics=\'["x", "x", " y"]\'/>'
        b"</body></opml>"
    )
    opml = parse_opml(body)
    assert [f.url for f in opml.feeds] == ["https://b.example/f"]
    assert opml.feeds[0].topics == ("x", "y")
    assert any("https://a.example/f" in reason for reason in opml.skipped)


def test_import_prints_no_escape_from_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, [])
    path = tmp_path / "x.opml"
    path.write_bytes(
        '<opml version="2.0"><body><outline xmlUrl="ftp://a.example/\u009b31mred\u009d8;;x"/>'
        "</body></opml>".encode()
    )
    capsys.readouterr()
    assert cli(config, "opml", "import", str(path)) == 0
    out = capsys.readouterr().out
    assert "skipped" in out and not any(c in out for c in "\x9b\x9d"), repr(out)
