"""Feeds managed from the CLI beside config.toml's: add, remove, pause, resume, one identity
for one feed written several ways; a running daemon follows without a restart (and SIGHUP
re-reads config.toml). Real loopback feeds, real databases, the daemon as a process."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from monitor._config import load_config
from monitor._errors import ConfigError
from monitor._feedjobs import FEEDS_REFRESH_INTERVAL
from monitor._urls import canonical_feed_url, same_feed
from tests.feedserver import FeedServer, rss
from tests.helpers import (
    DATA,
    TOY_THRESHOLD,
    cli,
    load_items,
    serve_items,
    start_daemon,
    stop_daemon,
    write_config,
)
from tests.test_readonly import _without_write_access

ITEMS = load_items(DATA / "clear_items.jsonl")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("HTTP://Host/x", "http://host/x"),
        ("http://host:80/x", "http://host/x"),
        ("https://host:443/x?q=1", "https://HOST/x?q=1"),
        ("http://host", "http://host/"),
        ("http://host/x#fragment", "http://host/x"),
        ("http://Example.COM./feed", "http://example.com/feed"),
    ],
)
def test_one_feed_written_two_ways(a: str, b: str) -> None:
    assert canonical_feed_url(a) == canonical_feed_url(b)
    assert same_feed(a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("http://host/x", "https://host/x"),  # another scheme is another resource
        ("http://host:8080/x", "http://host/x"),
        ("http://host/X", "http://host/x"),  # paths are case-sensitive
        ("http://host/x/", "http://host/x"),  # a trailing slash on a path is significant
        ("http://host/x?a=1", "http://host/x?a=2"),
    ],
)
def test_different_feeds_stay_different(a: str, b: str) -> None:
    assert canonical_feed_url(a) != canonical_feed_url(b)


def test_config_lists_one_feed_once(tmp_path: Path) -> None:
    config = write_config(tmp_path, ["http://Host:80/feed", "HTTP://host/feed"])
    with pytest.raises(ConfigError, match=r"\[\[feeds\]\]\[2\]\.url: this feed is listed twice"):
        load_config(config)


def test_a_feed_listed_twice_is_quoted_as_written_beside_the_entry_it_repeats(
    tmp_path: Path,
) -> None:
    """The error quoted the canonical URL ('http://host/feed' when the file said
    'HTTP://Host:80/feed') and did not say which entry it repeats."""
    config = write_config(
        tmp_path, ["http://other.example/x", "http://host/feed", "HTTP://Host:80/feed"]
    )
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    message = str(caught.value)
    assert "[[feeds]][3].url: this feed is listed twice" in message, message
    assert "the same feed as [[feeds]][2]" in message, message
    assert message.endswith("got 'HTTP://Host:80/feed'"), message


def test_canonical_refuses_non_http() -> None:
    for bad in ("ftp://host/x", "file:///etc/passwd", "host/x", "http://"):
        with pytest.raises(ValueError, match="http"):
            canonical_feed_url(bad)


def run(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli(config, *args)
    out, err = capsys.readouterr()
    return code, out, err


def feeds(config: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, dict]:
    code, out, _ = run(config, capsys, "feeds", "--format", "json")
    assert code == 0
    return {row["url"]: row for row in json.loads(out)}


def test_add_remove_pause_resume(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("a", "b"):
        feed_server.add(
            f"/{name}.xml", rss([{"title": f"{name} item", "link": f"https://e/{name}"}])
        )
    a, b = feed_server.url("/a.xml"), feed_server.url("/b.xml")
    config = write_config(tmp_path, [a])
    code, out, _ = run(
        config, capsys, "feeds", "add", b.replace("http://", "HTTP://"), "--name", "B"
    )
    assert code == 0 and f"added {b} (B)" in out
    assert cli(config, "once") == 0
    assert feed_server.count("/a.xml") == 1 and feed_server.count("/b.xml") == 1
    rows = feeds(config, capsys)
    assert (rows[a]["source"], rows[b]["source"], rows[b]["name"]) == ("config", "cli", "B")

    code, _, err = run(config, capsys, "feeds", "add", b + "#fragment")
    assert code == 1 and "already added" in err
    code, _, err = run(config, capsys, "feeds", "add", a.replace("127.0.0.1", "127.0.0.1."))
    assert code == 1 and "is already in" in err and "config.toml" in err
    code, _, err = run(config, capsys, "feeds", "remove", a)
    assert code == 1 and "config.toml" in err and "remove it there" in err
    code, _, err = run(config, capsys, "feeds", "add", "ftp://x/feed")
    assert code == 1 and "expected an http(s) URL" in err
    code, _, err = run(config, capsys, "feeds", "add", "http://127.0.0.1:8801:80/d.xml")
    assert code == 1 and "whose port is a number from 1 to 65535" in err, err
    for bad in ("soon", "5x", "0s", "200y"):  # a malformed command line: a usage error
        with pytest.raises(SystemExit) as exit_:
            run(config, capsys, "feeds", "add", "http://x.example/f", "--interval", bad)
        err = capsys.readouterr().err
        assert exit_.value.code == 2 and "argument --interval" in err, err

    assert run(config, capsys, "feeds", "pause", a)[0] == 0  # a config feed can be paused
    assert feeds(config, capsys)[a]["paused"] is True
    assert cli(config, "once") == 0
    assert feed_server.count("/a.xml") == 1 and feed_server.count("/b.xml") == 2
    assert run(config, capsys, "feeds", "resume", a)[0] == 0
    code, out, _ = run(config, capsys, "feeds", "remove", b)
    assert code == 0 and "items and hits are kept" in out
    assert cli(config, "once") == 0
    assert feed_server.count("/a.xml") == 2 and feed_server.count("/b.xml") == 2
    assert set(feeds(config, capsys)) == {a}
    code, _, err = run(config, capsys, "feeds", "pause", b)
    assert code == 1 and "no feed" in err
    code, _, _ = run(config, capsys, "search", "item")
    assert code == 0  # the removed feed's items stay searchable

    # added again: the same row comes back (its state: not re-fetched as new)
    assert run(config, capsys, "feeds", "add", b)[0] == 0
    assert feeds(config, capsys)[b]["items_seen"] == 1


def wait_for(condition: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


A_PATH = "/a.xml?feed_token=tok-secret-1"


def test_running_daemon_follows_the_feed_list_and_sighup(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("a", "b", "c"):
        feed_server.add(
            f"/{name}.xml", rss([{"title": f"{name} item", "link": f"https://e/{name}"}])
        )
    a, b, c = (feed_server.url(f"/{n}.xml") for n in ("a", "b", "c"))
    # secrets in the addresses (a private feed's token, a user's password): never logged
    a += A_PATH.removeprefix("/a.xml")
    feed_server.add(A_PATH, rss([{"title": "a item", "link": "https://e/a"}]))
    b = b.replace("http://", "http://reader:pw-secret-2@")
    config = write_config(tmp_path, [], extra=f'[[feeds]]\nurl = "{a}"\ninterval = "1s"')
    proc = start_daemon(config)
    settle = FEEDS_REFRESH_INTERVAL + 2
    try:
        assert wait_for(lambda: feed_server.count(A_PATH) >= 2, 30), "a: not every second"
        assert run(config, capsys, "feeds", "add", b, "--interval", "1s")[0] == 0
        assert wait_for(lambda: feed_server.count("/b.xml") >= 1, settle + 15), "b: not added"

        # pausing the config feed and removing the added one stop both, no restart
        assert run(config, capsys, "feeds", "pause", a)[0] == 0
        assert run(config, capsys, "feeds", "remove", b)[0] == 0
        time.sleep(settle)
        before = feed_server.count(A_PATH), feed_server.count("/b.xml")
        time.sleep(2.5)
        assert (feed_server.count(A_PATH), feed_server.count("/b.xml")) == before, "not stopped"

        # SIGHUP with a broken config: logged, the running one stays
        config.write_text("[monitor\n", encoding="utf-8")
        os.kill(proc.pid, signal.SIGHUP)
        time.sleep(1)
        assert proc.poll() is None
        # SIGHUP: config.toml now lists c instead of a
        write_config(tmp_path, [], extra=f'[[feeds]]\nurl = "{c}"\ninterval = "1s"')
        os.kill(proc.pid, signal.SIGHUP)
        assert wait_for(lambda: feed_server.count("/c.xml") >= 1, 20), "c: SIGHUP not applied"
        assert proc.poll() is None  # SIGHUP does not stop it
    finally:
        err = stop_daemon(proc)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "SIGHUP: reloaded" in err and "now polled" in err
    assert "SIGHUP: config not reloaded, the running one stays" in err and "not valid TOML" in err
    assert "no longer polled" in err  # (the lines that quoted the addresses as configured)
    assert "tok-secret-1" not in err and "pw-secret-2" not in err, err


def test_resume_polls_a_gone_or_moved_feed_afresh_from_its_configured_address(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 410 stops polling for good and a 301 moves the feed for good: when the server comes
    back, or the new address dies, `monitor feeds resume URL` is how a user starts over."""
    one = rss([{"title": "One", "link": "https://e.test/1"}])
    feed_server.add_redirect("/moved.xml", "/new.xml")
    feed_server.add("/new.xml", one)
    feed_server.add("/gone.xml", b"", status=410)
    moved, gone = feed_server.url("/moved.xml"), feed_server.url("/gone.xml")
    config = write_config(tmp_path, [moved, gone])
    cli(config, "once")
    feed_server.add("/new.xml", b"", status=404)  # the new address dies, the old one is back
    feed_server.add("/moved.xml", one)
    feed_server.add("/gone.xml", one)

    def rows() -> dict[str, dict[str, object]]:
        capsys.readouterr()
        assert cli(config, "feeds", "--format", "json") == 0
        return {r["url"]: r for r in json.loads(capsys.readouterr().out)}

    cli(config, "once")  # the new address fails: the error names it
    before = rows()
    assert before[gone]["last_status"] == "gone"
    assert before[moved]["fetch_url"] == feed_server.url("/new.xml")
    assert f"(at {feed_server.url('/new.xml')}, where a permanent redirect" in str(
        before[moved]["last_error"]
    ), before[moved]
    # the moved feed by the address its error names (the one a user copies), the other as listed
    new = feed_server.url("/new.xml")
    code, _, err = run(config, capsys, "feeds", "remove", new)  # ... still the config's feed
    assert code == 1 and "remove it there" in err and f"url = {moved!r}" in err
    for url in (new, gone):
        assert cli(config, "feeds", "resume", url) == 0
    resumed = rows()  # afresh: not "gone" nor failing beside no error and status
    for url in (moved, gone):
        assert resumed[url]["health"] == "not polled yet", resumed[url]
        assert resumed[url]["last_status"] is None and resumed[url]["last_error"] is None
    cli(config, "once")
    after = rows()
    assert after[gone]["last_status"] == "ok", after[gone]
    assert after[moved]["last_status"] in ("ok", "not-modified"), after[moved]
    assert after[moved]["fetch_url"] == moved


def test_a_redirect_address_two_feeds_share_or_shown_redacted(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two feeds moved to one address: pausing by it picked one silently. An address shown
    redacted (`?sid=***`) and copied back was "no feed"."""
    one = rss([{"title": "One", "link": "https://e.test/1"}])
    feed_server.add("/new.xml", one)
    feed_server.add("/tok.xml?sid=abc123", one)
    feed_server.add_redirect("/a.xml", "/new.xml")
    feed_server.add_redirect("/b.xml", "/new.xml")
    feed_server.add_redirect("/c.xml", "/tok.xml?sid=abc123")
    urls = [feed_server.url(p) for p in ("/a.xml", "/b.xml", "/c.xml")]
    config = write_config(tmp_path, urls)
    cli(config, "once")
    code, _, err = run(config, capsys, "feeds", "pause", feed_server.url("/new.xml"))
    assert code == 1 and "several feeds moved" in err and urls[0] in err and urls[1] in err, err
    shown = feed_server.url("/tok.xml?sid=***")
    code, out, _ = run(config, capsys, "feeds", "pause", shown)
    assert code == 0 and f"paused {urls[2]}" in out


def test_feed_commands_never_print_the_credentials_in_a_url(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """The README: credentials inside URLs are redacted wherever a URL is shown. The feed
    commands' own messages (cron mail, CI logs, scrollback) showed them."""
    feed_server.add("/sec.xml", rss([{"title": "One", "link": "https://e.test/1"}]))
    secret = feed_server.url("/sec.xml").replace("http://", "http://user:pw-123@") + "?token=abc9"
    config = write_config(tmp_path, [])
    outputs = []
    for args in (
        ["feeds", "add", secret],
        ["feeds", "add", secret],  # already added: an error naming it
        ["feeds", "pause", secret],
        ["feeds", "resume", secret],
        ["feeds", "remove", secret],
        ["feeds", "remove", "http://127.0.0.1:1/x.xml?api_key=SECRETKEY"],
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "monitor", "--config", str(config), *args],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        outputs.append(proc.stdout + proc.stderr)
    text = "\n".join(outputs)
    assert "pw-123" not in text and "abc9" not in text and "SECRETKEY" not in text, text
    assert "added" in outputs[0] and "already added" in outputs[1], outputs


def test_the_listing_follows_config_toml_without_writing(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README: a `[[feeds]]` table added to or deleted from config.toml counts at the next
    command. `monitor feeds` (a report: it only reads) listed the database's copy until a
    command that writes brought it in line."""
    for name in ("a", "b", "c"):
        feed_server.add(
            f"/{name}.xml", rss([{"title": f"{name} item", "link": f"https://e/{name}"}])
        )
    a, b, c = (feed_server.url(f"/{n}.xml") for n in ("a", "b", "c"))
    config = write_config(tmp_path, [a, b])
    assert cli(config, "once") == 0
    assert run(config, capsys, "feeds", "add", c, "--name", "C")[0] == 0
    database = tmp_path / "monitor.db"
    with sqlite3.connect(database) as db:
        before = sorted(db.execute("SELECT url, name, source FROM feeds"))
    db.close()

    # b deleted, a renamed, d added: listed as the config has them
    d = feed_server.url("/d.xml")
    write_config(tmp_path, [d], extra=f'[[feeds]]\nurl = "{a}"\nname = "Renamed A"')
    rows = feeds(config, capsys)
    assert set(rows) == {a, c, d}, rows
    assert (rows[a]["name"], rows[a]["source"], rows[a]["items_seen"]) == ("Renamed A", "config", 1)
    assert rows[c]["source"] == "cli"
    new = rows[d]
    assert (new["source"], new["health"], new["last_status"], new["items_seen"]) == (
        "config", "not polled yet", None, 0,
    ), new  # fmt: skip
    assert new["interval"] == "10m" and new["paused"] is False
    code, table, _ = run(config, capsys, "feeds")
    assert code == 0 and "Renamed A" in table and "127.0.0.1" in table and "/b.xml" not in table
    with sqlite3.connect(database) as db:  # a report: nothing written
        assert sorted(db.execute("SELECT url, name, source FROM feeds")) == before
    db.close()

    # a database file this user cannot write is read as it is
    database.chmod(0o444)
    try:
        proc = subprocess.run(
            [*_without_write_access(), sys.executable, "-m", "monitor",
             "--config", str(config), "feeds", "--format", "json"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        database.chmod(0o600)
    assert proc.returncode == 0, proc.stderr
    assert {row["url"] for row in json.loads(proc.stdout)} == {a, c, d}

    # b back in the file: its row comes back with its state
    write_config(tmp_path, [a, b])
    assert feeds(config, capsys)[b]["items_seen"] == 1


def test_feeds_told_apart_only_by_a_secret_are_chosen_by_name(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two feeds whose addresses differ only in a `?token=`: the address as listed names
    both. The error showed them redacted alike, said they had "moved" there (no redirect) and
    lost its closing parenthesis; the name, which tells them apart, was not accepted."""
    one = rss([{"title": "One", "link": "https://e.test/1"}])
    feed_server.add("/feed?token=AAA", one)
    feed_server.add("/feed?token=BBB", one)
    alpha, beta = feed_server.url("/feed?token=AAA"), feed_server.url("/feed?token=BBB")
    shown = feed_server.url("/feed?token=***")
    tables = (f'[[feeds]]\nurl = "{alpha}"\nname = "Alpha"\n'
              f'[[feeds]]\nurl = "{beta}"\nname = "Beta"\n')  # fmt: skip
    config = write_config(tmp_path, [], extra=tables)
    assert cli(config, "once") == 0
    for verb in ("pause", "remove"):
        code, _, err = run(config, capsys, "feeds", verb, shown)
        assert code == 1 and "ambiguous" in err and "moved" not in err, err
        assert "'Alpha'" in err and "'Beta'" in err and "by its name" in err, err
        assert err.count("(") == err.count(")"), err
        assert "AAA" not in err and "BBB" not in err, err
    code, out, _ = run(config, capsys, "feeds", "pause", "Beta")
    assert code == 0 and "paused" in out and "BBB" not in out, out
    listed = {
        row["name"]: row for row in json.loads(run(config, capsys, "feeds", "--format", "json")[1])
    }
    assert (listed["Alpha"]["paused"], listed["Beta"]["paused"]) == (False, True)
    assert run(config, capsys, "feeds", "resume", beta)[0] == 0  # the full address, as ever
    code, _, err = run(config, capsys, "feeds", "pause", "Gamma")
    assert code == 1 and "no feed 'Gamma'" in err

    # no names of their own: the same default name too, so the full address it is
    write_config(tmp_path, [alpha, beta])
    code, _, err = run(config, capsys, "feeds", "pause", shown)
    assert code == 1 and "ambiguous" in err and "full address" in err, err
    assert "by its name" not in err and err.count("(") == err.count(")"), err


def _paused(config: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, bool]:
    rows = json.loads(run(config, capsys, "feeds", "--format", "json")[1])
    return {row["url"]: row["paused"] for row in rows}


def test_an_address_that_is_another_feeds_name_is_ambiguous(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A feed named with another feed's address: `feeds pause ADDRESS` paused the feed at
    that address, and the first feed could never be picked by its name. The argument names
    both: nothing is changed, the error lists them and what names each alone."""
    s4, s5 = feed_server.url("/s4.xml"), feed_server.url("/s5.xml")
    tables = (f'[[feeds]]\nname = "{s5}"\nurl = "{s4}"\n'
              f'[[feeds]]\nname = "Five"\nurl = "{s5}"\n')  # fmt: skip
    config = write_config(tmp_path, [], extra=tables)
    code, _, err = run(config, capsys, "feeds", "pause", s5)
    assert code == 1 and "ambiguous" in err and "2 feeds" in err, err
    assert f"'Five' at {s5} (its address" in err and f"at {s4} (its name" in err, err
    assert f"by its address, {s4}" in err and "by its name, 'Five'" in err, err
    assert err.count("(") == err.count(")"), err
    assert _paused(config, capsys) == {s4: False, s5: False}
    assert run(config, capsys, "feeds", "pause", s4)[0] == 0
    assert run(config, capsys, "feeds", "pause", "Five")[0] == 0
    assert _paused(config, capsys) == {s4: True, s5: True}


def test_no_feed_says_the_secret_or_credentials_match_none(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """`feeds pause '…/s1.xml?token=CCC'` beside `?token=AAA` and `?token=BBB` said "no feed
    '…/s1.xml?token=***' (see monitor feeds)", the very address the listing shows. It says
    the secret matches none of the feeds there and how to choose one; the hints never lead
    back to an address or name that is ambiguous too."""
    alpha, beta = feed_server.url("/s1.xml?token=AAA"), feed_server.url("/s1.xml?token=BBB")
    shown = feed_server.url("/s1.xml?token=***")
    tables = (f'[[feeds]]\nurl = "{alpha}"\nname = "Alpha"\n'
              f'[[feeds]]\nurl = "{beta}"\nname = "Beta"\n')  # fmt: skip
    config = write_config(tmp_path, [], extra=tables)
    code, _, err = run(config, capsys, "feeds", "pause", feed_server.url("/s1.xml?token=CCC"))
    assert code == 1 and f"no feed '{shown}': its secret matches none of the 2 feeds" in err, err
    assert "by its name, 'Alpha'" in err and "by its name, 'Beta'" in err, err
    assert "CCC" not in err and "AAA" not in err and err.count("(") == err.count(")"), err

    # one feed there: its address as listed names it
    write_config(tmp_path, [], extra=f'[[feeds]]\nurl = "{alpha}"\nname = "Alpha"\n')
    code, _, err = run(config, capsys, "feeds", "pause", feed_server.url("/s1.xml?token=CCC"))
    assert code == 1 and "its secret matches no feed" in err, err
    assert "'Alpha'" in err and "by its name, 'Alpha'" in err, err

    # credentials: a config feed and an added one at one address, under one name. Neither
    # the name nor the address as listed tells them apart: the full address it is
    url = feed_server.url("/c.xml")
    one, two, three = (url.replace("http://", f"http://u:{pw}@") for pw in ("p1", "p2", "p3"))
    write_config(tmp_path, [one])
    listed = {row["name"]: row for row in json.loads(run(config, capsys, "feeds", "--format",
                                                          "json")[1])}  # fmt: skip
    (name,) = listed
    assert run(config, capsys, "feeds", "add", two, "--name", name)[0] == 0
    shown = url.replace("http://", "http://***@")
    code, _, err = run(config, capsys, "feeds", "pause", three)
    assert code == 1 and f"no feed '{shown}': its credentials match none of the 2" in err, err
    for wanted in (three, shown, name):
        code, _, err = run(config, capsys, "feeds", "pause", wanted)
        assert code == 1 and "by its full address, credentials included" in err, err
        assert "by its name" not in err and "by its address" not in err, err
    assert run(config, capsys, "feeds", "pause", two)[0] == 0


def test_the_table_shows_the_address_the_commands_take(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """`feeds pause|resume|remove` take a feed's address, which the table did not show (only
    `--format json` had it). It shows it now, whole (a cut one cannot be copied back) and
    with its secrets redacted, as every report shows a URL; as shown, the commands take it."""
    one = rss([{"title": "One", "link": "https://e.test/1"}])
    long_path = "/news/a-rather-long-feed-path/with/several/levels/rss.xml?token=abc9"
    feed_server.add(long_path, one)
    feed_server.add("/plain.xml", one)
    secret, plain = feed_server.url(long_path), feed_server.url("/plain.xml")
    config = write_config(tmp_path, [plain])
    assert run(config, capsys, "feeds", "add", secret, "--name", "Long")[0] == 0
    code, table, _ = run(config, capsys, "feeds")
    assert code == 0 and "abc9" not in table, table
    shown = secret.replace("abc9", "***")
    assert len(shown) > 60 and shown in table and plain in table, table
    assert "url" in table.splitlines()[0].split(), table
    for address in (shown, plain):
        code, out, err = run(config, capsys, "feeds", "pause", address)
        assert code == 0 and "paused" in out, err


def test_the_listing_before_any_database_shows_the_configured_feeds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`monitor feeds` before the first `monitor once` failed ("no database yet") instead of
    listing the feeds config.toml configures. It lists them as never polled, as it lists a
    feed added to the file since the last write, and creates no database (it only reads)."""
    named, plain = "https://news.example/a.xml?token=SECRET1", "https://news.example/b.xml"
    config = write_config(tmp_path, [plain], extra=f'[[feeds]]\nurl = "{named}"\nname = "Alpha"')
    code, out, err = run(config, capsys, "feeds", "--format", "json")
    assert code == 0, err
    rows = {row["name"]: row for row in json.loads(out)}
    assert set(rows) == {"Alpha", "news.example/b.xml"}, rows
    alpha = rows["Alpha"]
    assert alpha["url"] == "https://news.example/a.xml?token=***", alpha
    for row in rows.values():
        assert (row["source"], row["health"], row["last_status"], row["items_seen"]) == (
            "config", "not polled yet", None, 0,
        ), row  # fmt: skip
        assert (row["interval"], row["next_poll"], row["paused"], row["topics"]) == (
            "10m", None, False, None,
        ), row  # fmt: skip
    code, table, _ = run(config, capsys, "feeds")
    assert code == 0 and "Alpha" in table and plain in table and "SECRET1" not in table, table
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]  # no database made

    # the database's folder is still checked: a mistyped path is a config error, not a list
    write_config(tmp_path, [plain], monitor='database = "nowhere/m.db"')
    config.write_text(
        config.read_text(encoding="utf-8").replace('database = "monitor.db"\n', ""),
        encoding="utf-8",
    )
    code, _, err = run(config, capsys, "feeds")
    assert code == 2 and "monitor.database: the folder" in err, err


def test_hits_name_a_renamed_feed_as_config_toml_does_now(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A `[[feeds]]` entry renamed in config.toml (same URL, another `name`): `monitor hits`
    showed the old name until a command that writes synced the feeds table. The config is
    where names come from; the report follows it without writing."""
    urls = serve_items(feed_server, ITEMS)
    tables = "".join(
        f'[[feeds]]\nurl = "{url}"\nname = "Old {n}"\n' for n, url in enumerate(urls.values())
    )
    config = write_config(tmp_path, [], extra=tables, threshold=TOY_THRESHOLD)
    assert cli(config, "once") == 0
    code, out, _ = run(config, capsys, "hits", "--format", "json")
    assert code == 0 and {h["feed"] for h in json.loads(out)} <= {
        f"Old {n}" for n in range(len(urls))
    }, out
    database = tmp_path / "monitor.db"
    with sqlite3.connect(database) as db:
        before = sorted(db.execute("SELECT url, name, source FROM feeds"))
    db.close()

    # renamed, one of them written in another spelling of its URL
    spelt = [url.replace("http://", "HTTP://") if n == 0 else url
             for n, url in enumerate(urls.values())]  # fmt: skip
    write_config(
        tmp_path,
        [],
        extra="".join(f'[[feeds]]\nurl = "{u}"\nname = "New {n}"\n' for n, u in enumerate(spelt)),
        threshold=TOY_THRESHOLD,
    )
    code, out, _ = run(config, capsys, "hits", "--format", "json")
    hits = json.loads(out)
    assert code == 0 and hits, out
    assert {h["feed"] for h in hits} <= {f"New {n}" for n in range(len(urls))}, hits
    assert "feed_url" not in hits[0], hits[0]  # the output's shape is unchanged
    code, table, _ = run(config, capsys, "hits")
    assert code == 0 and "New " in table and "Old " not in table, table
    code, out, _ = run(config, capsys, "hits", "--format", "csv")
    assert code == 0 and "New " in out and "Old " not in out, out
    # so do the other reports that name a hit's or an item's feed
    word = hits[0]["title"].split()[0]
    code, out, _ = run(config, capsys, "search", word, "--format", "json")
    found = json.loads(out)
    assert (
        code == 0 and found and {r["feed"] for r in found} <= {f"New {n}" for n in range(len(urls))}
    )
    assert "feed_url" not in found[0], found[0]
    code, atom, _ = run(config, capsys, "atom")
    assert code == 0 and "<name>New " in atom and "Old " not in atom, atom[:2000]
    with sqlite3.connect(database) as db:  # a report: nothing written
        assert sorted(db.execute("SELECT url, name, source FROM feeds")) == before
    db.close()

    # a feed no longer in the config keeps the name it was stored under
    write_config(tmp_path, list(urls.values())[1:], threshold=TOY_THRESHOLD)
    code, out, _ = run(config, capsys, "hits", "--format", "json")
    names = {h["feed"] for h in json.loads(out)}
    assert code == 0 and not any(name.startswith("New ") for name in names), names
