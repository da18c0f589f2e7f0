"""Hits of a topic since removed from config.toml, on both backends, for real: a loopback feed
→ `monitor once` → the database, then the config loses the topic. A judgement for such a hit
is refused (nobody would learn from it); its stored hits stay history that `hits`, `atom` and
`explain` show."""

from __future__ import annotations

import json
from pathlib import Path

import feedparser
import pytest

from tests.feedserver import FeedServer
from tests.helpers import TOY_THRESHOLD, cli, write_config
from tests.test_expired_hits import LINK, ON, Backend, feed, make_backend

TOPIC = "paris-coalition"


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Backend:
    return make_backend(request.param, request, tmp_path, monkeypatch)


def removed_topic_config(
    tmp_path: Path, backend: Backend, feed_server: FeedServer
) -> tuple[Path, str]:
    """A hit of ``TOPIC`` stored, then the config's topic renamed: (config, hit id)."""
    feed_server.add("/f.xml", feed(ON["title"]))
    config = backend.point(
        write_config(tmp_path, [feed_server.url("/f.xml")], threshold=TOY_THRESHOLD)
    )
    assert cli(config, "once") == 0
    config.write_text(
        config.read_text(encoding="utf-8").replace(f'name = "{TOPIC}"', 'name = "harbours"'),
        encoding="utf-8",
    )
    return config, hit_ids(config)[0]


def hit_ids(config: Path, *args: str) -> list[str]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli(config, "hits", "--format", "json", *args) == 0
    return [h["id"] for h in json.loads(out.getvalue())]


def test_feedback_for_a_hit_of_a_removed_topic_is_refused_and_nothing_written(
    tmp_path: Path,
    backend: Backend,
    feed_server: FeedServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config, hit = removed_topic_config(tmp_path, backend, feed_server)
    capsys.readouterr()
    for ident in (hit, LINK):  # the hit, or its item (whose only hit it is)
        for verdict in ("--relevant", "--irrelevant"):
            assert cli(config, "feedback", ident, verdict) == 2, ident
            err = capsys.readouterr().err
            assert f"'{TOPIC}'" in err and "no longer in the config" in err, err
            assert "nothing recorded" in err, err
    assert cli(config, "feedback", "--list", "--format", "json") == 0
    assert json.loads(capsys.readouterr().out) == []
    # judged for a topic the config has, when the user says so
    assert cli(config, "feedback", hit, "--relevant", "--topic", "harbours") == 0
    assert "relevant to harbours" in capsys.readouterr().out


def test_hits_and_atom_of_a_removed_topic_show_its_stored_hits(
    tmp_path: Path,
    backend: Backend,
    feed_server: FeedServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config, hit = removed_topic_config(tmp_path, backend, feed_server)
    capsys.readouterr()
    assert hit_ids(config, "--topic", TOPIC) == [hit]
    assert "no longer in the config" in capsys.readouterr().err
    assert cli(config, "atom", "--topic", TOPIC) == 0
    captured = capsys.readouterr()
    atom = feedparser.parse(captured.out.encode())
    assert [e.title for e in atom.entries] == [ON["title"]]
    assert "no longer in the config" in captured.err
    # a name that neither the config nor the database has is still a mistake
    for command in ("hits", "atom"):
        assert cli(config, command, "--topic", "paris-coaliton") == 1
        assert "no topic 'paris-coaliton'" in capsys.readouterr().err
    # explain: the hit, and that its topic was removed
    assert cli(config, "explain", hit) == 0
    out = capsys.readouterr().out
    assert f"topic {TOPIC} (removed from the config): a hit" in out, out
    assert "the topic was removed from the config" in out, out
