"""One feed written in several ways is one feed (``monitor._urls.feed_identity``): an IPv6
address in any of its spellings, an IPv4 address in any form the resolver reads (``127.1``,
``0x7f.0.0.1``, ``2130706433``), an international name in Unicode or in IDNA (``xn--``), as
config.toml, `feeds add`, `feeds pause`, `opml import` and the stored rows compare them; and an
OPML file that lists a feed several times is counted outline by outline. A feed an older
release stored twice (before its two spellings were one feed) is polled once, and the copy
that is not polled is said to be. Real config files, databases and (for the polls) a local
feed server."""

from __future__ import annotations

import asyncio
import json
import logging
import shlex
import socket
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from monitor._config import FeedConfig, load_config
from monitor._errors import ConfigError
from monitor._feedjobs import FeedJobs
from monitor._runtime import open_runtime
from monitor._schedule import schedule_plan
from monitor._times import utcnow
from monitor._urls import canonical_feed_url, feed_identity
from tests.feedserver import FeedServer, rss
from tests.helpers import cli, write_config, write_opml

SPELLINGS = [
    ("http://[::1]:18802/a.xml", "http://[0:0:0:0:0:0:0:1]:18802/a.xml"),
    ("http://[::1]:18802/a.xml", "http://[0:0::1]:18802/a.xml#x"),
    ("http://[2001:db8::1]/a", "http://[2001:DB8:0:0:0::1]:80/a"),
    ("http://b\u00fccher.example/a.xml", "http://xn--bcher-kva.example/a.xml"),
    ("http://B\u00dcCHER.example./a.xml", "HTTP://XN--BCHER-KVA.example/a.xml"),
    # the IPv4 forms the resolver reads (and the poll therefore reaches): 127.0.0.1
    ("http://127.0.0.1:18801/a.xml", "http://127.1:18801/a.xml"),
    ("http://127.0.0.1:18801/a.xml", "http://127.0.1:18801/a.xml"),
    ("http://127.0.0.1:18801/a.xml", "http://2130706433:18801/a.xml"),
    ("http://127.0.0.1/a", "http://0x7f.0.0.1/a"),
    ("http://127.0.0.1/a", "HTTP://0X7F000001:80/a"),
    ("http://127.0.0.1/a", "http://017700000001/a"),  # one octal number
    ("http://10.0.1.2/a", "http://10.258/a"),  # the last number fills the bytes left
]


@pytest.mark.parametrize(("one", "other"), SPELLINGS)
def test_one_identity_for_each_spelling(one: str, other: str) -> None:
    assert feed_identity(one) == feed_identity(other)


def test_different_feeds_keep_different_identities() -> None:
    assert feed_identity("http://[::1]/a") != feed_identity("http://[::2]/a")
    assert feed_identity("http://b\u00fccher.example/a") != feed_identity("http://bucher.example/a")
    assert feed_identity("http://[::1]/a") != feed_identity("http://[::1]/A")  # paths as written
    assert feed_identity("http://127.1/a") != feed_identity("http://127.0.0.2/a")
    # numbers no resolver reads as an address are names (a name error at every poll)
    for url in ("http://4294967296/a", "http://1.2.3.4.5/a", "http://0x/a", "http://09.1/a"):
        assert feed_identity(url) == url


# each an IPv4 address to the resolver, or not one; a name with a part too large, a digit
# that is no octal one, junk after a number, five parts
HOSTS = ["127.1", "127.0.1", "2130706433", "0x7f.0.0.1", "0x7f000001", "017700000001",
         "127.0.0x1", "0", "0.0", "10.258", "10.1.0x100", "0xff.0xffffff", "4294967295",
         "0000000000000000000177.1", "1.2.3.0xff", "4294967296", "0x100000000", "256.1",
         "1.256.1", "1.2.65536", "1.2.3.0x100", "1.2.3.4.5", "0x", "00x1", "08", "09.1",
         "1e1", "0xg", "0x7f.", "news.example", "a.1"]  # fmt: skip


@pytest.mark.parametrize("host", HOSTS)
def test_an_ipv4_identity_is_the_address_the_resolver_reads(host: str) -> None:
    """The poll hands the stored URL's host to the resolver (getaddrinfo), which reads it with
    inet_aton: the address it gives is the feed's identity; what it refuses stays a name."""
    url = f"http://{host}/a"
    polled = urlsplit(canonical_feed_url(url)).hostname or ""  # (a root dot dropped)
    try:
        address = socket.inet_ntoa(socket.inet_aton(polled))
    except OSError:
        assert feed_identity(url) == canonical_feed_url(url)
    else:
        assert feed_identity(url) == f"http://{address}/a"


@pytest.mark.parametrize(("one", "other"), SPELLINGS)
def test_config_refuses_the_second_spelling_as_listed_twice(
    tmp_path: Path, one: str, other: str
) -> None:
    extra = f'[[feeds]]\nurl = "{one}"\n[[feeds]]\nurl = "{other}"\n'
    config = write_config(tmp_path, [], extra=extra)
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    expected = f"{config}: [[feeds]][2].url: this feed is listed twice (the same feed as "
    assert str(caught.value).startswith(f"{expected}[[feeds]][1]), got {other!r}"), caught.value


@pytest.mark.parametrize(("listed", "written"), SPELLINGS)
def test_feeds_commands_find_the_feed_in_another_spelling(
    tmp_path: Path, listed: str, written: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, [listed])
    capsys.readouterr()
    assert cli(config, "feeds", "add", written) == 1
    assert "is already in" in capsys.readouterr().err
    assert cli(config, "feeds", "pause", written) == 0, capsys.readouterr().err
    capsys.readouterr()
    assert cli(config, "feeds", "--format", "json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["paused"] for row in rows] == [True]


def test_an_added_feed_is_found_in_another_spelling(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, [])
    assert cli(config, "feeds", "add", "http://[::1]:18802/a.xml") == 0
    assert cli(config, "feeds", "add", "http://xn--bcher-kva.example/a.xml") == 0
    capsys.readouterr()
    assert cli(config, "feeds", "add", "http://[0:0:0:0:0:0:0:1]:18802/a.xml") == 1
    assert "already added (as http://[::1]:18802/a.xml)" in capsys.readouterr().err
    assert cli(config, "feeds", "add", "http://b\u00fccher.example/a.xml") == 1
    assert "already added (as http://xn--bcher-kva.example/a.xml)" in capsys.readouterr().err
    assert cli(config, "feeds", "remove", "http://[0:0::1]:18802/a.xml") == 0
    assert cli(config, "feeds", "remove", "http://B\u00fccher.example/a.xml") == 0
    capsys.readouterr()
    assert cli(config, "feeds", "--format", "json") == 0
    assert json.loads(capsys.readouterr().out) == []


def _urls(database: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(database) as conn:
        return conn.execute("SELECT url, paused FROM feeds ORDER BY id").fetchall()


def test_a_database_made_before_keeps_its_feeds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rows are stored as the config spelled the URL (its canonical form, unchanged): the
    wider identity only compares. A feed paused before keeps its row and its state when the
    config spells it as before, and when it is respelled another way of the same address."""
    full = "http://[0:0:0:0:0:0:0:1]:18802/a.xml"
    config = write_config(tmp_path, [full, "http://xn--bcher-kva.example/a.xml"])
    database = tmp_path / "monitor.db"
    assert cli(config, "feeds", "pause", full) == 0
    assert cli(config, "feeds", "pause", "http://xn--bcher-kva.example/a.xml") == 0
    before = _urls(database)
    assert before == [(full, 1), ("http://xn--bcher-kva.example/a.xml", 1)]

    capsys.readouterr()
    assert cli(config, "feeds", "--format", "json") == 0  # as before: the same rows
    assert [r["paused"] for r in json.loads(capsys.readouterr().out)] == [True, True]
    assert cli(config, "feeds", "add", "http://[::9]/b.xml") == 0  # (a write: sync_feeds)
    assert _urls(database)[:2] == before

    # respelled: the same rows, renamed, with their state
    write_config(tmp_path, ["http://[::1]:18802/a.xml", "http://b\u00fccher.example/a.xml"])
    capsys.readouterr()
    assert cli(config, "feeds", "--format", "json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert {(r["url"], r["paused"]) for r in rows} == {
        ("http://[::1]:18802/a.xml", True),
        ("http://b\u00fccher.example/a.xml", True),
        ("http://[::9]/b.xml", False),
    }
    assert cli(config, "feeds", "resume", "http://[::9]/b.xml") == 0  # a write
    assert _urls(database) == [
        ("http://[::1]:18802/a.xml", 1),
        ("http://b\u00fccher.example/a.xml", 1),
        ("http://[::9]/b.xml", 0),
    ]


def test_opml_import_counts_every_outline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Three outlines of one feed were "imported 1 feeds; 0 already present; 0 skipped"."""
    urls = [
        "http://127.0.0.1:18801/a.xml",
        "HTTP://127.0.0.1:18801/a.xml#x",
        "http://127.0.0.1:18801/a.xml",
        "http://[::1]:18802/a.xml",
        "http://[0:0::1]:18802/a.xml",
        "http://b\u00fccher.example/a.xml",
        "http://xn--bcher-kva.example/a.xml",
        "http://256.1.1.1/a.xml",
        "http://127.1:18801/a.xml",
        "http://2130706433:18801/a.xml",
    ]
    opml = write_opml(tmp_path, urls)
    config = write_config(tmp_path, [])
    capsys.readouterr()
    assert cli(config, "opml", "import", str(opml)) == 0
    out = capsys.readouterr().out
    expected = f"imported 3 feeds from {opml}; 0 already present; 6 repeated in the file; 1 skipped"
    assert expected in out, out
    assert cli(config, "opml", "import", str(opml)) == 0
    out = capsys.readouterr().out
    expected = f"imported 0 feeds from {opml}; 9 already present; 0 repeated in the file; 1 skipped"
    assert expected in out, out


def test_an_ipv4_feed_is_added_once_in_any_form(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Stored as written (its canonical text: hit ids come from it), compared as the address."""
    config = write_config(tmp_path, [])
    assert cli(config, "feeds", "add", "http://127.1:18801/a.xml") == 0
    capsys.readouterr()
    for other in ("http://127.0.0.1:18801/a.xml", "http://0x7f.0.0.1:18801/a.xml"):
        assert cli(config, "feeds", "add", other) == 1
        assert "already added (as http://127.1:18801/a.xml)" in capsys.readouterr().err
    assert cli(config, "feeds", "pause", "http://2130706433:18801/a.xml") == 0
    capsys.readouterr()
    assert cli(config, "feeds", "--format", "json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["url"], r["paused"]) for r in rows] == [("http://127.1:18801/a.xml", True)]


def _older_database(config: Path, database: Path, copy: str, name: str = "Old copy") -> None:
    """The database an older release left: the config's feed has its row (the config's
    spelling), and `feeds add` stored the same feed in another spelling, which that release
    took for another feed."""
    assert cli(config, "feeds", "pause", "Alpha") == 0  # (rows for the config's feeds)
    assert cli(config, "feeds", "resume", "Alpha") == 0
    with sqlite3.connect(database) as db:
        db.execute(
            "INSERT INTO feeds (url, fetch_url, name, source) VALUES (?, ?, ?, 'cli')",
            (copy, copy, name),
        )
    db.close()


def _alpha(tmp_path: Path, url: str) -> Path:
    return write_config(tmp_path, [], extra=f'[[feeds]]\nurl = "{url}"\nname = "Alpha"\n')


def test_a_feed_stored_twice_in_two_ipv4_forms_is_polled_once(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """`feeds add http://127.1:…` beside the config's `http://127.0.0.1:…` was taken for a
    second feed: two polls of one feed each cycle, its items stored twice."""
    feed_server.add("/a.xml", rss([{"title": "One story", "link": "https://e.test/1"}]))
    config = _alpha(tmp_path, feed_server.url("/a.xml"))
    copy = f"http://127.1:{feed_server.port}/a.xml"
    _older_database(config, tmp_path / "monitor.db", copy)
    assert cli(config, "once") == 0
    assert feed_server.count("/a.xml") == 1
    with sqlite3.connect(tmp_path / "monitor.db") as db:
        rows = db.execute(
            "SELECT f.url, count(i.id) FROM feeds f LEFT JOIN items i ON i.feed_id = f.id "
            "GROUP BY f.id ORDER BY f.id"
        ).fetchall()
    db.close()
    assert rows == [(feed_server.url("/a.xml"), 1), (copy, 0)]  # the stored URLs unchanged


COPIES = [  # (the config's URL, the copy an older release let `feeds add` store)
    ("http://127.0.0.1:18801/a.xml", "http://127.1:18801/a.xml"),
    ("http://[::1]:18802/a.xml", "http://[0:0::1]:18802/a.xml"),
]


@pytest.mark.parametrize(("listed", "copy"), COPIES)
def test_the_copy_that_is_not_polled_is_listed_as_such_and_removed(
    tmp_path: Path, listed: str, copy: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """It was listed as any added feed (never polled, silently); `feeds remove` with its
    address refused it as ambiguous or as the config's feed."""
    config = _alpha(tmp_path, listed)
    _older_database(config, tmp_path / "monitor.db", copy)
    capsys.readouterr()
    assert cli(config, "feeds", "--format", "json") == 0
    captured = capsys.readouterr()
    rows = {row["name"]: row for row in json.loads(captured.out)}
    assert rows["Alpha"]["health"] == "not polled yet"
    assert rows["Old copy"]["health"] == "not polled: the same feed as config feed 'Alpha'"
    assert rows["Old copy"]["interval"] is None
    note = (
        f"feed 'Old copy' ({copy}) is the same feed as config feed 'Alpha' ({listed}), "
        "stored twice by an earlier release: it is not polled; `monitor feeds remove "
        f"{shlex.quote(copy)}` clears it"  # (brackets quoted for the shell)
    )
    assert note in captured.err, captured.err
    assert cli(config, "feeds") == 0  # the table: marked too
    table = capsys.readouterr()
    assert "not polled: the same feed as config feed 'Alpha'" in table.out, table.out
    assert note in table.err

    # its address in a third spelling is both: said so, nothing changed
    other = copy.replace("127.1", "0x7f.0.0.1").replace("[0:0::1]", "[0::1]")
    assert cli(config, "feeds", "remove", other) == 1
    err = capsys.readouterr().err
    assert f"{other} is the address of 2 feeds, stored in 2 spellings" in err, err
    assert "'Old copy' at" in err and "choose it by its name, 'Old copy'" in err, err
    # its address as stored, or as listed, is the copy alone
    assert cli(config, "feeds", "remove", copy) == 0, capsys.readouterr().err
    assert f"removed {copy}" in capsys.readouterr().out
    assert cli(config, "feeds", "--format", "json") == 0
    captured = capsys.readouterr()
    assert [(r["name"], r["url"]) for r in json.loads(captured.out)] == [("Alpha", listed)]
    assert "not polled" not in captured.err
    for config_feed in (listed, "Alpha"):  # the config's own: as before
        assert cli(config, "feeds", "remove", config_feed) == 1
        assert "is configured in" in capsys.readouterr().err


def test_the_daemon_says_so_once_at_start(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    listed, copy = COPIES[0]
    config = _alpha(tmp_path, listed)
    _older_database(config, tmp_path / "monitor.db", copy)

    async def start_and_refresh() -> list[FeedConfig]:
        async with open_runtime(load_config(config)) as rt:
            added: list[FeedConfig] = []
            jobs = FeedJobs(None, rt, schedule_plan, lambda feed, first: added.append(feed))
            jobs.start(utcnow())
            for _ in range(3):  # the feed list re-read, as every 5 s
                jobs.refresh()
            return added

    caplog.set_level(logging.INFO, logger="monitor")
    polled = asyncio.run(start_and_refresh())
    assert [feed.url for feed in polled] == [listed]
    said = [r for r in caplog.records if "same feed as config feed" in r.getMessage()]
    assert len(said) == 1, said
    assert said[0].levelno == logging.WARNING
    assert said[0].getMessage() == (
        f"feed 'Old copy' ({copy}) is the same feed as config feed 'Alpha' ({listed}), "
        f"stored twice by an earlier release: it is not polled; `monitor feeds remove {copy}` "
        "clears it"
    )
