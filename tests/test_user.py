"""What a user runs into (issue 11): one meaning per input, clear errors, no traceback."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from monitor._config import load_config
from monitor._errors import ConfigError
from monitor._relevance import read_seeds
from tests.feedserver import FeedServer, rss
from tests.helpers import DATA, cli, load_items, serve_items, write_config

ITEMS = load_items(DATA / "clear_items.jsonl")


def _run(config: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), *args],
        capture_output=True, text=True, timeout=60,
        input=None if stdin is None else stdin.decode("latin-1"),
    )  # fmt: skip


def test_config_positions_count_from_one(tmp_path: Path) -> None:
    config = write_config(tmp_path, ["http://a.example/1", "http://a.example/2"], extra="")
    text = config.read_text().replace(
        'url = "http://a.example/2"', 'url = "http://a.example/2"\ninterval = "soon"'
    )
    config.write_text(text)
    with pytest.raises(ConfigError, match=r"\[\[feeds\]\]\[2\]\.interval"):
        load_config(config)
    # a list's items too: the first Apprise URL is 1, as the sender's own check says
    config.write_text(
        config.read_text().replace('interval = "soon"', "")
        + '[alerts.apprise]\nurls = ["ntfy://ok.example/t", "not-a-url"]\n'
    )
    with pytest.raises(ConfigError, match=r"alerts\.apprise\.urls\[2\]"):
        load_config(config)


def test_feed_urls_differing_only_in_case_or_default_port_are_one_feed(tmp_path: Path) -> None:
    config = write_config(tmp_path, ["HTTP://News.Example:80/feed", "http://news.example/feed"])
    with pytest.raises(ConfigError, match=r"\[\[feeds\]\]\[2\]\.url: this feed is listed twice"):
        load_config(config)


@pytest.fixture
def stored(tmp_path: Path, feed_server: FeedServer) -> Path:
    urls = serve_items(feed_server, ITEMS)
    config = write_config(tmp_path, list(urls.values()))
    assert cli(config, "once") == 0
    return config


def test_hits_limit_must_be_positive(stored: Path) -> None:
    proc = _run(stored, "hits", "--limit", "-3")
    assert proc.returncode == 2 and "--limit" in proc.stderr and "Traceback" not in proc.stderr


def test_hits_of_an_unknown_topic_is_an_error(stored: Path) -> None:
    proc = _run(stored, "hits", "--topic", "no-such-topic")
    assert proc.returncode == 1 and "no topic 'no-such-topic'" in proc.stderr


def test_feedback_remove_takes_the_same_ids_as_judging(
    stored: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`feedback 2 --relevant` judges item 2; `feedback --remove 1` must mean item 1 (which
    has no judgement), never "feedback number 1" (item 2's judgement)."""
    assert cli(stored, "feedback", "2", "--relevant") == 0
    assert cli(stored, "feedback", "--remove", "1") == 1
    capsys.readouterr()
    assert cli(stored, "feedback", "--list", "--format", "json") == 0
    [judgement] = json.loads(capsys.readouterr().out)
    assert judgement["item_id"] == 2
    assert cli(stored, "feedback", "--remove", "2") == 0
    capsys.readouterr()
    assert cli(stored, "feedback", "--list", "--format", "json") == 0
    assert json.loads(capsys.readouterr().out) == []
    # "²" and "２" are digits to str.isdigit(), not to int(): `--remove fb_²` was a traceback
    for ident in ("fb_\u00b2", "\u00b2", "\uff12", "fb_\uff12"):
        capsys.readouterr()
        assert cli(stored, "feedback", "--remove", ident) == 1
        assert f"no feedback for {ident!r}" in capsys.readouterr().err
        assert cli(stored, "feedback", ident, "--relevant") == 1
        assert cli(stored, "explain", ident) == 1


def test_read_only_commands_need_no_alert_secrets(stored: Path) -> None:
    stored.write_text(
        stored.read_text()
        + "[alerts.webhook]\nurl = 'http://127.0.0.1:9/hook'\nsecret_env = 'NO_SUCH_SECRET_VAR'\n"
    )
    for args in (["hits"], ["feeds"], ["deliveries"], ["feedback", "--list"]):
        proc = _run(stored, *args)
        assert proc.returncode == 0, (args, proc.stderr)
    assert _run(stored, "once").returncode == 2  # the daemon's commands still need them


def test_classify_says_which_line_has_a_title_that_is_not_text(tmp_path: Path) -> None:
    """`"title": 5` used to be read as the text "5" and scored 0 without a word."""
    config = write_config(tmp_path, [])
    items = tmp_path / "items.jsonl"
    items.write_text('{"title": "Military chiefs meet in Paris"}\n{"title": 5, "summary": "x"}\n')
    proc = _run(config, "classify", str(items))
    assert proc.returncode == 0, proc.stderr
    assert "line 2: not a JSON object" not in proc.stderr
    assert "line 2:" in proc.stderr and "`title` must be a string, not 5" in proc.stderr
    assert len(proc.stdout.splitlines()) == 2  # the bad line is still answered, with its error


def test_non_utf8_input_to_classify_and_eval_is_a_clear_error(tmp_path: Path) -> None:
    config = write_config(tmp_path, [])
    bad = tmp_path / "items.jsonl"
    bad.write_bytes(b'{"title": "caf\xe9", "label": 0}\n')
    for args in (["classify", str(bad)], ["eval", str(bad)]):
        proc = _run(config, *args)
        assert proc.returncode == 1, proc.stderr
        assert "Traceback" not in proc.stderr and "UTF-8" in proc.stderr, proc.stderr
        assert str(bad) in proc.stderr


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"\x00\x01\x02\xff\xfe binary", "not a text file"),
        (b"caf\xe9 au lait, cr\xe8me", "not UTF-8"),
    ],
)
def test_unusable_seed_files_name_the_file(tmp_path: Path, content: bytes, says: str) -> None:
    (tmp_path / "good.txt").write_text("Military chiefs meet in Paris on a Ukraine force.")
    (tmp_path / "bad.txt").write_bytes(content)
    with pytest.raises(ConfigError, match=says) as caught:
        read_seeds(tmp_path)
    assert "bad.txt" in str(caught.value)


def test_a_seed_saved_as_utf16_is_read(tmp_path: Path) -> None:
    """Windows editors save "Unicode" text as UTF-16 with a byte-order mark."""
    text = "Military chiefs meet in Paris on a Ukraine force, says l’Élysée."
    (tmp_path / "le.txt").write_bytes(text.encode("utf-16"))  # little-endian, with its BOM
    (tmp_path / "be.txt").write_bytes(b"\xfe\xff" + text.encode("utf-16-be"))
    assert read_seeds(tmp_path) == [text, text]


def test_links_in_seeds_count_only_their_path_words(tmp_path: Path) -> None:
    """A pasted article's links: the host ("https", "www", "bbc", "co", "uk") is nobody's
    topic; the path's words ("military chiefs meet") often are its headline."""
    (tmp_path / "a.txt").write_text(
        "Military chiefs meet in Paris.\n"
        "Source: https://www.example.co.uk/news/2025/03/11/military-chiefs-meet-in-paris.html?utm_source=x#top\n"
        "See also www.bbc.com/news/world-europe-68483291 and http://t.co/AbC123xyz."
    )
    [text] = read_seeds(tmp_path)
    words = set(text.lower().replace(".", " ").split())
    assert not words & {"https", "http", "www", "example", "co", "uk", "bbc", "com", "utm", "html"}
    assert "military chiefs meet in paris" in text.lower().split("source:")[1]
    assert "world europe" in text
    assert "abc123xyz" not in text.lower()  # an id of letters and digits is not a word


def test_a_seed_that_is_a_link_alone_reads_as_its_path_words(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("https://www.example.com/world/military-chiefs-meet-in-paris")
    assert read_seeds(tmp_path) == ["world military chiefs meet in paris"]
    (tmp_path / "a.txt").write_text("https://t.co/AbC123xyz")
    with pytest.raises(ConfigError, match="no usable text"):
        read_seeds(tmp_path)


def test_hidden_files_in_a_seed_folder_are_not_seeds(tmp_path: Path) -> None:
    """macOS leaves "._name" files (binary resource forks) beside copied files; editors and
    sync tools leave other hidden files. None of them is a seed the user wrote."""
    (tmp_path / "a.txt").write_text("Military chiefs meet in Paris on a Ukraine force.")
    (tmp_path / "._a.txt").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X")
    (tmp_path / ".draft.md").write_text("Unrelated notes about a wildfire.")
    assert read_seeds(tmp_path) == ["Military chiefs meet in Paris on a Ukraine force."]


def test_unreadable_seed_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("Military chiefs meet in Paris on a Ukraine force.")
    (tmp_path / "gone.txt").symlink_to(tmp_path / "nowhere")  # listed, cannot be read
    with pytest.raises(ConfigError, match=r"gone\.txt"):
        read_seeds(tmp_path)


def test_a_topic_with_no_usable_text_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("!!! ... --- ???")
    (tmp_path / "b.html").write_text("<p> <br> &nbsp; </p>")
    (tmp_path / "c.txt").write_text("the and of it is")  # stopwords only: nothing to learn
    with pytest.raises(ConfigError, match="no usable text"):
        read_seeds(tmp_path)


@pytest.mark.parametrize("command", [["once"], ["topic", "check", "second"]])
@pytest.mark.parametrize(
    ("content", "says"), [(None, "no seed articles"), (b"\x00\x01 binary", "not a text file")]
)
def test_an_unusable_seed_folder_names_the_config_key(
    tmp_path: Path, command: list[str], content: bytes | None, says: str
) -> None:
    """As a missing seed folder does: the config file, then the topic's key, then the folder
    and what is wrong with it."""
    config = write_config(tmp_path, [])
    (tmp_path / "empty").mkdir()
    if content is not None:
        (tmp_path / "empty" / "bad.txt").write_bytes(content)
    config.write_text(
        config.read_text() + '[[topics]]\nname = "second"\nseeds = "empty"\n', encoding="utf-8"
    )
    proc = _run(config, *command)
    assert proc.returncode == 2, proc.stderr
    assert f"{config}: [[topics]][2].seeds: seed folder {tmp_path / 'empty'}" in proc.stderr
    assert says in proc.stderr and "Traceback" not in proc.stderr
    # the start stopped before it made anything: no database, no lock file
    assert not list(tmp_path.glob("monitor.db*")), list(tmp_path.glob("monitor.db*"))


def test_all_feeds_failing_warns_and_once_exits_3(tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.add_behaviour("/a", "status", status=500)
    feed_server.add_behaviour("/b", "status", status=404)
    config = write_config(tmp_path, [feed_server.url("/a"), feed_server.url("/b")])
    proc = _run(config, "once")
    assert proc.returncode == 3, proc.stderr
    assert "WARNING" in proc.stderr and "every feed failed" in proc.stderr
    # at once again: both wait out their backoff, so still no feed is read (cron must see it)
    feed_server.add("/a", rss([{"title": "fine", "link": "https://e.test/1"}]))
    proc = _run(config, "once")
    assert proc.returncode == 3, proc.stderr
    assert "WARNING" in proc.stderr and "no feed was read" in proc.stderr, proc.stderr
    feed_server.add("/c", rss([{"title": "fine", "link": "https://e.test/2"}]))
    config = write_config(tmp_path, [feed_server.url(u) for u in ("/a", "/b", "/c")])
    assert _run(config, "once").returncode == 0  # one feed read: 0


def test_a_feed_stored_under_another_spelling_keeps_its_row(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """A database written before URLs were canonicalised holds `HTTP://127.0.0.1:…`: the
    same feed, so its row (and what it has seen) is kept, not started again from nothing."""
    urls = serve_items(feed_server, ITEMS)
    config = write_config(tmp_path, list(urls.values()))
    assert cli(config, "once") == 0
    db = sqlite3.connect(tmp_path / "monitor.db", isolation_level=None)
    db.execute("UPDATE feeds SET url = replace(url, 'http://', 'HTTP://')")
    (hits_before,) = db.execute("SELECT count(*) FROM hits").fetchone()
    db.close()
    feed_server.add("/unrelated", b"")  # nothing else changes
    assert cli(config, "once") == 0
    with sqlite3.connect(tmp_path / "monitor.db") as db:
        urls_now = [row[0] for row in db.execute("SELECT url FROM feeds")]
        (hits_after,) = db.execute("SELECT count(*) FROM hits").fetchone()
    db.close()
    assert sorted(urls_now) == sorted(urls.values())  # the rows renamed, none added
    assert hits_after == hits_before


def test_one_shot_commands_do_not_log_the_judgements_they_read(stored: Path) -> None:
    """`explain`, `topic check`, `classify` print their answer; "topic=… feedback: 1
    judgements" on stderr is noise there. The daemon (`once`, `run`) still says it."""
    assert cli(stored, "feedback", "2", "--relevant") == 0
    for args in (["explain", "2"], ["topic", "check", "paris-coalition", "--items", "10"]):
        proc = _run(stored, *args)
        assert proc.returncode == 0 and "judgements" not in proc.stderr, (args, proc.stderr)
    proc = _run(stored, "once")
    assert "topic=paris-coalition feedback: 1 judgements" in proc.stderr, proc.stderr


def test_fatal_errors_are_json_lines_with_json_logs(tmp_path: Path) -> None:
    """The systemd unit logs JSON: its most important line, why the daemon would not start,
    must be one JSON object too."""
    bad = tmp_path / "bad.toml"
    bad.write_text("[monitor\n")
    for args, code in ((["once"], 2), (["hits"], 2)):
        proc = subprocess.run(
            [sys.executable, "-m", "monitor", "--log-format", "json", "--config", str(bad), *args],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert proc.returncode == code, proc.stderr
        lines = [json.loads(line) for line in proc.stderr.splitlines()]
        assert lines and lines[-1]["level"] == "error", lines
        assert "config error" in lines[-1]["message"] and str(bad) in lines[-1]["message"]
    # a command line argparse refuses (a unit file's typo) is one JSON object as well
    for first, args in (
        ("--log-format=json", ["hits", "--limit", "x"]),
        ("--log-format=json", ["nosuchcommand"]),
        ("--log-format=json", ["--log-level", "loud", "once"]),
        ("--log-f=json", ["hitz"]),  # an abbreviation argparse accepts
        ("--log-format=text", ["--log-format", "json", "hitz"]),  # the last one given wins
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "monitor", first, "--config", str(bad), *args],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert proc.returncode == 2, proc.stderr
        lines = [json.loads(line) for line in proc.stderr.splitlines()]
        assert len(lines) == 1 and lines[0]["level"] == "error", proc.stderr
        assert lines[0]["message"].startswith("usage error: "), lines


def test_python_warnings_are_json_lines_with_json_logs(tmp_path: Path) -> None:
    """A Python warning (multiprocessing's "resource_tracker: process died unexpectedly,
    relaunching" after an out-of-memory kill) came out as two plain lines among the JSON."""
    config = write_config(tmp_path, [])
    script = (
        "import sys, warnings\n"
        "import monitor._cli as cli\n"
        "def hits(args):\n"
        "    warnings.warn('resource_tracker: process died unexpectedly, relaunching')\n"
        "    return 0\n"
        "cli.cmd_hits = hits\n"
        "sys.exit(cli.main(['--log-format', 'json', '--config', sys.argv[1], 'hits']))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(config)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stderr.splitlines()]  # every line is JSON
    assert any("resource_tracker" in line["message"] for line in lines), lines


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["search", "paris", "--topic", "nope"], 1, "no topic 'nope'"),
        (["search", "paris", "--limit", "0"], 2, "--limit"),
        (["atom", "--limit", "0"], 2, "--limit"),
        (["atom", "--since", "bogus"], 2, "expected a duration such as 2h or 3d"),
        (["hits", "--since", "bogus"], 2, "expected a duration such as 2h or 3d"),
        (["hits", "--since", "10000000d"], 2, "at most 36500d (100 years)"),
        (["hits", "--since", "0001-01-01T00:00+05:00"], 2, "out of range"),
        (["atom", "--since", "9999-12-31T23:59-05:00"], 2, "out of range"),
        (["explain", "http://[::1/x"], 1, "no hit, item or link 'http://[::1/x'"),
        (["feeds", "add", "http://[::1/x"], 1, "'http://[::1/x': expected an http(s) URL whose"),
        (["feedback", "http://[::1/x", "--irrelevant"], 1, "no hit, item or link 'http://[::1/x'"),
        (["atom", "--since", "999999999999999d"], 2, "at most 36500d (100 years)"),
        (["hits", "--limit", "9223372036854775808"], 2, "expected a whole number from 1"),
        (["search", "paris", "--limit", "9223372036854775808"], 2, "--limit"),
    ],
)
def test_commands_check_the_same_options_the_same_way(
    stored: Path, args: list[str], code: int, says: str
) -> None:
    proc = _run(stored, *args)
    assert proc.returncode == code and says in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
