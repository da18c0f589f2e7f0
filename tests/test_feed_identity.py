"""One feed written in several ways is one feed (``monitor._urls.feed_identity``): an IPv6
address in any of its spellings, an international name in Unicode or in IDNA (``xn--``), as
config.toml, `feeds add`, `feeds pause`, `opml import` and the stored rows compare them; and an
OPML file that lists a feed several times is counted outline by outline. Real config files,
databases and (for the polls) a local feed server."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from monitor._config import load_config
from monitor._errors import ConfigError
from monitor._urls import feed_identity
from tests.helpers import cli, write_config, write_opml

SPELLINGS = [
    ("http://[::1]:18802/a.xml", "http://[0:0:0:0:0:0:0:1]:18802/a.xml"),
    ("http://[::1]:18802/a.xml", "http://[0:0::1]:18802/a.xml#x"),
    ("http://[2001:db8::1]/a", "http://[2001:DB8:0:0:0::1]:80/a"),
    ("http://b\u00fccher.example/a.xml", "http://xn--bcher-kva.example/a.xml"),
    ("http://B\u00dcCHER.example./a.xml", "HTTP://XN--BCHER-KVA.example/a.xml"),
]


@pytest.mark.parametrize(("one", "other"), SPELLINGS)
def test_one_identity_for_each_spelling(one: str, other: str) -> None:
    assert feed_identity(one) == feed_identity(other)


def test_different_feeds_keep_different_identities() -> None:
    assert feed_identity("http://[::1]/a") != feed_identity("http://[::2]/a")
    assert feed_identity("http://b\u00fccher.example/a") != feed_identity("http://bucher.example/a")
    assert feed_identity("http://[::1]/a") != feed_identity("http://[::1]/A")  # paths as written


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
    ]
    opml = write_opml(tmp_path, urls)
    config = write_config(tmp_path, [])
    capsys.readouterr()
    assert cli(config, "opml", "import", str(opml)) == 0
    out = capsys.readouterr().out
    expected = f"imported 3 feeds from {opml}; 0 already present; 4 repeated in the file; 1 skipped"
    assert expected in out, out
    assert cli(config, "opml", "import", str(opml)) == 0
    out = capsys.readouterr().out
    expected = f"imported 0 feeds from {opml}; 7 already present; 0 repeated in the file; 1 skipped"
    assert expected in out, out
