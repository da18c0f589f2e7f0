"""What a feed URL may be, checked once (``monitor._urls``) wherever a feed comes in: a
``[[feeds]] url`` in config.toml, `monitor feeds add`, `monitor opml import`. A URL that could
only fail at every poll is refused there, with one reason; and what names a feed on the
command line (FEED, ``--name``) is never blank. Real config files and databases."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from monitor._config import load_config
from monitor._errors import ConfigError
from monitor._urls import canonical_feed_url
from tests.feedserver import FeedServer
from tests.helpers import cli, write_config, write_opml

PORT = "expected an http(s) URL whose port is a number from 1 to 65535"
BRACKETS = "expected an http(s) URL with nothing but a :port after its IPv6 address in brackets"
HOST = "expected an http(s) URL whose host is a host name or an IP address"
IPV6 = "expected an http(s) URL whose brackets hold an IPv6 address"

# each URL that only ever failed when polled, and the reason it is refused now
BAD = [
    ("http://127.0.0.1:0/a.xml", PORT),  # "port 0 is out of range" at every poll
    ("http://[::1]:0/a.xml", PORT),
    ("http://127.0.0.1:99999/a.xml", PORT),
    ("http://127.0.0.1:8801:80/a.xml", PORT),
    ("http://[::1]x:8801/a.xml", BRACKETS),  # the x was silently dropped
    ("http://x[::1]:8801/a.xml", BRACKETS),
    ("http://exa mple.org/a.xml", HOST),  # a name error at every poll
    ("http://exa\tmple.org/a.xml", HOST),  # (urlsplit drops the tab: example.org)
    ("http://exa%20mple.org/a.xml", HOST),
    ("http://user:pw@exa<mple.org/a.xml", HOST),
    ("http://256.1.1.1/a.xml", HOST),  # httpx, at every poll: "Invalid IPv4 address"
    ("http://127.0.0.01/a.xml", HOST),  # (a leading zero: the same)
    ("http://0177.0.0.1/a.xml", HOST),  # (octal to the resolver, but httpx refuses it first)
    ("http://a..b/", HOST),  # an empty label: a name error at every poll
    ("http://.a.b/", HOST),
    ("http://./a.xml", HOST),
    ("http://\uff21\u0301.example/a.xml", HOST),  # not NFC: "Invalid IDNA hostname" (httpx)
    ("http://[::1/a.xml", IPV6),  # config said only "expected an http(s) URL", the others
    ("http://[1:2:3]/a", IPV6),  # gave Python's exception text before ours
]


@pytest.mark.parametrize(("url", "reason"), BAD)
def test_the_shared_check_refuses_what_only_fails_when_polled(url: str, reason: str) -> None:
    with pytest.raises(ValueError) as caught:
        canonical_feed_url(url)
    assert str(caught.value).startswith(f"{url!r}: {reason}"), caught.value


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("http://127.0.0.1:1/a.xml", "http://127.0.0.1:1/a.xml"),
        ("http://127.0.0.1:65535/a.xml", "http://127.0.0.1:65535/a.xml"),
        ("http://[::1]:8801/a.xml", "http://[::1]:8801/a.xml"),
        ("http://[::1]/a.xml", "http://[::1]/a.xml"),
        ("https://Feeds.Example-1.org./rss", "https://feeds.example-1.org/rss"),
        ("http://host:/a.xml", "http://host/a.xml"),  # an empty port is the default one
        ("http://my_host.example/a", "http://my_host.example/a"),  # seen on intranets
        ("https://пример.рф/rss", "https://пример.рф/rss"),  # an international name
        ("http://u:p%40ss@host/a", "http://u:p%40ss@host/a"),  # user info is not the host
        # polled today (the resolver reads these IPv4 forms), so kept as written
        ("http://0x7f.0.0.1:8801/a.xml", "http://0x7f.0.0.1:8801/a.xml"),
        ("http://127.1:8801/a.xml", "http://127.1:8801/a.xml"),
        ("http://2130706433:8801/a.xml", "http://2130706433:8801/a.xml"),
        ("http://[::ffff:127.0.0.1]:8801/a", "http://[::ffff:127.0.0.1]:8801/a"),
        ("http://B\u00fccher.example./a", "http://b\u00fccher.example/a"),
        ("http://127.0.0.1./a.xml", "http://127.0.0.1/a.xml"),  # a root dot goes, as before
        ("HTTPS://host/a", "https://host/a"),
        ("http://u:p@host:8801/a?x=1#top", "http://u:p@host:8801/a?x=1"),
        ("http://[2001:db8::1]:8443/a", "http://[2001:db8::1]:8443/a"),
    ],
)
def test_the_shared_check_keeps_real_addresses(url: str, canonical: str) -> None:
    assert canonical_feed_url(url) == canonical


@pytest.mark.parametrize(
    ("url", "polled"),
    [
        ("http://0x7f.0.0.1/a", True),
        ("http://127.1/a", True),
        ("http://2130706433/a", True),
        ("http://b\u00fccher.de/a", True),
        ("http://256.1.1.1/a.xml", False),
        ("http://127.0.0.01/a.xml", False),
        ("http://0177.0.0.1/a.xml", False),
        ("http://127.0.1/a", True),
        ("http://017700000001/a", True),
        ("http://\uff21\u0301.example/a.xml", False),
    ],
)
def test_the_shared_check_agrees_with_the_polls(url: str, polled: bool) -> None:
    """Every poll parses the URL with httpx first (``_fetch``): what it refuses the shared
    check refuses, what it takes the shared check keeps."""
    try:
        httpx.URL(url)
        took = True
    except httpx.InvalidURL:
        took = False
    assert took == polled
    try:
        canonical_feed_url(url)
        kept = True
    except ValueError:
        kept = False
    assert kept == polled


def _toml(url: str) -> str:
    return json.dumps(url)  # a TOML basic string (the tab escaped)


@pytest.mark.parametrize(("url", "reason"), BAD)
def test_config_refuses_them_naming_file_and_key(
    tmp_path: Path, url: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, [], extra=f"[[feeds]]\nurl = {_toml(url)}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert str(caught.value).startswith(f"{config}: [[feeds]][1].url: {reason}"), caught.value
    capsys.readouterr()
    assert cli(config, "feeds") == 2
    assert f"[[feeds]][1].url: {reason}" in capsys.readouterr().err


@pytest.mark.parametrize(("url", "reason"), BAD)
def test_feeds_add_refuses_them_with_the_same_reason(
    tmp_path: Path, url: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, [])
    capsys.readouterr()
    assert cli(config, "feeds", "add", url) == 1
    assert reason in capsys.readouterr().err
    assert cli(config, "feeds", "--format", "json") == 0
    assert json.loads(capsys.readouterr().out) == []


def test_opml_import_skips_them_with_the_same_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`:99999` was skipped as "not an http(s) URL"; port 0, junk after an IPv6 bracket and
    a space in the host were imported, to fail at every poll."""
    escaped = (url.replace("\t", "&#9;").replace("<", "&lt;") for url, _ in BAD)
    opml = write_opml(tmp_path, escaped)
    config = write_config(tmp_path, [])
    capsys.readouterr()
    assert cli(config, "opml", "import", str(opml)) == 0
    out = capsys.readouterr().out
    counts = f"0 already present; 0 repeated in the file; {len(BAD)} skipped"
    assert f"imported 0 feeds from {opml}; {counts}" in out, out
    for url, reason in BAD:
        shown = url.replace("user:pw@", "***@").replace("\t", " ")  # (the file's text, cleaned)
        assert f"  skipped: {shown} ({reason}" in out, (shown, out)
    assert "not an http(s) URL" not in out


@pytest.mark.parametrize("name", ["", "   ", "\t"])
def test_a_blank_feed_name_is_a_config_error(tmp_path: Path, name: str) -> None:
    """`name = "   "` was listed blank, and `feeds pause ""` then paused that feed."""
    extra = f'[[feeds]]\nurl = "http://127.0.0.1:8801/a.xml"\nname = {_toml(name)}\n'
    config = write_config(tmp_path, [], extra=extra)
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    message = str(caught.value)
    assert message.startswith(f"{config}: [[feeds]][1].name: expected a display name"), message
    assert "blank" in message, message


@pytest.mark.parametrize("verb", ["pause", "resume", "remove"])
@pytest.mark.parametrize("feed", ["", "   "])
def test_a_blank_feed_argument_is_a_usage_error(
    tmp_path: Path,
    feed_server: FeedServer,
    verb: str,
    feed: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = write_config(tmp_path, [feed_server.url("/a.xml")])
    assert cli(config, "feeds", "add", feed_server.url("/b.xml"), "--name", "B") == 0
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        cli(config, "feeds", verb, feed)
    err = capsys.readouterr().err
    assert exit_.value.code == 2, err
    assert "argument FEED" in err and "blank" in err, err
    assert cli(config, "feeds", "--format", "json") == 0
    rows = json.loads(capsys.readouterr().out)
    default = feed_server.url("/a.xml").removeprefix("http://")  # host + path
    assert [(r["name"], r["paused"]) for r in rows] == [(default, False), ("B", False)]


@pytest.mark.parametrize("name", ["", "  "])
def test_feeds_add_refuses_a_blank_name(
    tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, [])
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        cli(config, "feeds", "add", "http://127.0.0.1:8801/a.xml", "--name", name)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "argument --name" in err and "blank" in err, err


def test_an_address_that_differs_only_by_credentials_is_said_to(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """README: an address that matches a listed one but for its secret or credentials is said
    to, naming the feeds there. With credentials where the listed feed has none it was the
    generic "no feed 'http://***@…' (see `monitor feeds`)"."""
    stored = feed_server.url("/a.xml?token=SECRET")
    listed = feed_server.url("/a.xml?token=***")
    config = write_config(tmp_path, [], extra=f'[[feeds]]\nurl = "{stored}"\nname = "Alpha"\n')
    wanted = feed_server.url("/a.xml?token=AAA").replace("http://", "http://user:pw@")
    shown = listed.replace("http://", "http://***@")
    capsys.readouterr()
    assert cli(config, "feeds", "pause", wanted) == 1
    err = capsys.readouterr().err
    assert f"no feed '{shown}': its credentials and secret match no feed" in err, err
    assert "the feed at that address is 'Alpha' (choose it by its name, 'Alpha')" in err, err
    assert "see `monitor feeds`" not in err and "pw" not in err and "AAA" not in err, err

    # credentials alone, the secret right
    wanted = stored.replace("http://", "http://user:pw@")
    assert cli(config, "feeds", "pause", wanted) == 1
    err = capsys.readouterr().err
    assert f"no feed '{shown}': its credentials match no feed" in err, err
    assert "'Alpha'" in err and "SECRET" not in err, err

    # none where the listed feed has some: said too
    with_credentials = feed_server.url("/c.xml").replace("http://", "http://u:p1@")
    write_config(tmp_path, [], extra=f'[[feeds]]\nurl = "{with_credentials}"\nname = "C"\n')
    bare = feed_server.url("/c.xml")
    assert cli(config, "feeds", "pause", bare) == 1
    err = capsys.readouterr().err
    assert f"no feed '{bare}': without credentials it matches no feed" in err, err
    assert "the feed at that address is 'C' (choose it by its name, 'C')" in err, err
    assert cli(config, "feeds", "pause", "C") == 0
