"""Progress on stderr for ``opml import`` and ``eval``: drawn on a terminal (a real
pseudo-terminal here), absent when stderr is piped."""

from __future__ import annotations

import io
import os
import pty
import select
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from monitor._progress import Progress
from tests.helpers import DATA, cli, write_config

OPML = DATA / "opml" / "miniflux.opml"
ITEMS = DATA / "clear_items.jsonl"


@contextmanager
def terminal_stderr(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bytes]]:
    """sys.stderr on a pseudo-terminal; what it showed is in the yielded list afterwards."""
    master, slave = pty.openpty()
    stream = io.TextIOWrapper(os.fdopen(slave, "wb", buffering=0), encoding="utf-8")
    monkeypatch.setattr(sys, "stderr", stream)
    shown: list[bytes] = []
    try:
        yield shown
    finally:
        stream.flush()
        while select.select([master], [], [], 0.2)[0]:
            chunk = os.read(master, 65536)
            if not chunk:
                break
            shown.append(chunk)
        monkeypatch.undo()
        stream.close()
        os.close(master)


def test_progress_draws_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    ticks = iter(float(n) for n in range(100))
    with (
        terminal_stderr(monkeypatch) as shown,
        Progress("work", 3, unit="feeds", clock=lambda: next(ticks)) as progress,
    ):
        assert progress.enabled
        for _ in range(3):
            progress.advance()
    text = b"".join(shown).decode()
    assert "\rwork: 1/3 feeds (33%)" in text and "\rwork: 3/3 feeds (100%)" in text
    piped = io.StringIO()
    with Progress("work", 3, stream=piped) as progress:
        progress.advance(3)
    assert not progress.enabled and piped.getvalue() == ""


def test_opml_import_shows_progress_on_a_terminal_and_none_when_piped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, [])
    with terminal_stderr(monkeypatch) as shown:
        assert cli(config, "opml", "import", str(OPML)) == 0
    text = b"".join(shown).decode()
    assert "\ropml import: " in text and " feeds (100%)" in text
    capsys.readouterr()
    (tmp_path / "monitor.db").unlink()
    assert cli(config, "opml", "import", str(OPML)) == 0
    out, err = capsys.readouterr()
    assert "imported" in out and "opml import:" not in err and "\r" not in err


def test_eval_shows_progress_on_a_terminal_and_none_when_piped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, [])
    count = len(ITEMS.read_text(encoding="utf-8").splitlines())
    with terminal_stderr(monkeypatch) as shown:
        assert cli(config, "eval", str(ITEMS)) == 0
    assert f"\reval: {count} items" in b"".join(shown).decode()
    capsys.readouterr()
    assert cli(config, "eval", str(ITEMS)) == 0
    out, err = capsys.readouterr()
    assert "F1" in out and "eval:" not in err and "\r" not in err
