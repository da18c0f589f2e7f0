"""`monitor init` writes a config that loads, a seeds folder that explains itself, and never
overwrites; the scaffold becomes a working monitor once seeds and a feed are added."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from monitor._cli import main
from monitor._config import load_config
from tests.feedserver import FeedServer, rss
from tests.helpers import DATA, SEEDS, load_items


def test_init_scaffold_to_first_cycle(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "mon"
    assert main(["init", str(folder), "--topic", "paris"]) == 0
    config = folder / "config.toml"
    loaded = load_config(config)
    assert [t.name for t in loaded.topics] == ["paris"] and loaded.feeds == ()
    assert loaded.topics[0].seeds == (folder / "seeds").resolve()
    readme = (folder / "seeds" / "README").read_text()
    # both kinds of seeds the relevance benchmark measures, and the check made for them
    assert "headline" in readme and "articles" in readme
    assert "title alone is too little" not in readme
    assert "monitor topic check" in readme and "monitor eval" in readme
    assert "monitor topic check" in config.read_text()

    capsys.readouterr()
    assert main(["--config", str(config), "once"]) == 2  # no seed yet: a config error
    assert "seed" in capsys.readouterr().err

    for seed in sorted(SEEDS.iterdir())[:3]:
        shutil.copy(seed, folder / "seeds" / seed.name)
    items = load_items(DATA / "clear_items.jsonl")
    entries = [
        {"title": i["title"], "summary": i["summary"], "link": f"https://e/{n}"}
        for n, i in enumerate(items)
    ]
    feed_server.add("/f.xml", rss(entries))
    assert main(["--config", str(config), "feeds", "add", feed_server.url("/f.xml")]) == 0
    assert main(["--config", str(config), "once"]) == 0
    assert feed_server.count("/f.xml") == 1
    capsys.readouterr()
    assert main(["--config", str(config), "hits", "--format", "csv"]) == 0
    assert len(capsys.readouterr().out.splitlines()) > 1  # some hits, from 3 seeds

    before = config.read_text()
    assert main(["init", str(folder)]) == 1
    assert "exists already" in capsys.readouterr().err
    assert config.read_text() == before


def test_every_key_the_scaffold_comments_loads_when_uncommented(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user turns the scaffold's commented keys on one by one: each must be a real key
    with a valid example value, all of them at once included."""
    import re

    from tests.receivers import TEST_SECRET

    pytest.importorskip("apprise")
    folder = tmp_path / "mon"
    assert main(["init", str(folder)]) == 0
    (folder / "seeds" / "one.txt").write_text("Military chiefs meet in Paris on a Ukraine force.")
    config = folder / "config.toml"
    key = re.compile(r"# (\[\[?[\w.]+\]\]?|\w+ = )")
    lines = [line[2:] if key.match(line) else line for line in config.read_text().splitlines()]
    assert sum(1 for line in config.read_text().splitlines() if key.match(line)) >= 25
    config.write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("MONITOR_WEBHOOK_SECRET", TEST_SECRET)
    monkeypatch.setenv("MONITOR_SMTP_PASSWORD", "pw")
    monkeypatch.setenv("MONITOR_APPRISE_URLS", "json://127.0.0.1:9/x")
    monkeypatch.setenv("MONITOR_FEEDBACK_SECRET", "a-secret-of-16-chars-or-more")
    loaded = load_config(config)
    assert loaded.webhook and loaded.email and loaded.apprise and loaded.feed_health
    assert loaded.feedback and loaded.feedback.url == "https://monitor.example.org"
    assert loaded.settings.keep_hits is not None and loaded.feeds


@pytest.mark.parametrize("name", ['dam "collapse"', "x\\y", "crue de la Seine ✓", "a\tb"])
def test_any_topic_name_init_accepts_is_written_so_that_it_loads(tmp_path: Path, name: str) -> None:
    """`init --topic 'dam "collapse"'` wrote `name = "dam "collapse""`: a config that the
    next command refused as not TOML."""
    assert main(["init", str(tmp_path / "m"), "--topic", name]) == 0
    assert [t.name for t in load_config(tmp_path / "m" / "config.toml").topics] == [name]


@pytest.mark.parametrize("name", ["", "   "])
def test_a_blank_topic_name_is_a_usage_error_before_anything_is_written(
    tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["init", str(tmp_path / "m"), "--topic", name])
    assert exit_.value.code == 2 and "--topic" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_an_empty_monitor_config_variable_means_the_default_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`MONITOR_CONFIG= monitor feeds` read the current directory as the config ("Is a
    directory: '.'"): set but empty is unset, as in a systemd unit's `Environment=`. (`hits`
    here: `feeds` lists the configured feeds, none, without a database.)"""
    assert main(["init", str(tmp_path)]) == 0
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MONITOR_CONFIG", "")
    capsys.readouterr()
    assert main(["hits"]) == 1  # the config read: it names its database, not made yet
    err = capsys.readouterr().err
    assert "monitor.db: no database yet" in err and "Is a directory" not in err
