"""Fetch edge cases from issue 11: an impossible port in a redirect is that feed's clean
error (in the config it is a config error), a 304 to an unconditional request is an error,
raw deflate whose first chunk is one byte decodes."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from monitor._inflate import Inflater
from tests.feedserver import FeedServer, RawServer, rss
from tests.helpers import write_config


def _feeds_json(config: Path) -> dict[str, dict[str, object]]:
    out = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), "feeds", "--format", "json"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return {row["url"].rsplit("/", 1)[1]: row for row in json.loads(out.stdout)}


def test_an_impossible_port_is_one_feeds_error(tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.add("/good", rss([{"title": "fine", "link": "https://e.test/1"}]))
    feed_server.add_redirect("/moved", "http://127.0.0.1:99999/elsewhere")
    urls = [feed_server.url("/good"), feed_server.url("/moved")]
    config = write_config(tmp_path, urls)
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), "once"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    feeds = _feeds_json(config)
    assert feeds["good"]["last_status"] == "ok"
    assert feeds["moved"]["last_status"] == "error"
    assert "port" in str(feeds["moved"]["last_error"]), feeds["moved"]


def test_a_redirect_to_port_0_names_the_target_and_why(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """The feed's recorded error (what `monitor feeds` shows, the daemon logs at 5 failures
    and a health alert quotes) names where the redirect led, its credentials and token
    redacted, and why in plain words; no traceback, no httpx internals."""
    feed_server.add_redirect("/moved", "http://user:pw@127.0.0.1:0/feed.xml?token=SECRET")
    config = write_config(tmp_path, [feed_server.url("/moved")])
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), "once"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 3 and "Traceback" not in proc.stderr, proc.stderr
    row = _feeds_json(config)["moved"]
    assert row["last_error"] == (
        "invalid redirect target 'http://***@127.0.0.1:0/feed.xml?token=***': "
        "port 0 is out of range"
    )
    assert row["health"] == "failing: 1 poll in a row"
    stored = sqlite3.connect(tmp_path / "monitor.db")
    try:
        (error,) = stored.execute("SELECT last_error FROM feeds").fetchone()
    finally:
        stored.close()
    assert error == row["last_error"]  # stored redacted: no secret in the database either
    assert "pw" not in proc.stderr and "SECRET" not in proc.stderr


def test_304_to_an_unconditional_request_is_an_error(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    feed_server.add_behaviour("/always304", "status", status=304)
    config = write_config(tmp_path, [feed_server.url("/always304")])
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), "once"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 3  # its only feed failed
    row = _feeds_json(config)["always304"]
    assert row["last_status"] == "error"
    assert "304" in str(row["last_error"]) and "conditional" in str(row["last_error"])


@pytest.mark.parametrize("first", [1, 2, 3])
def test_raw_deflate_with_a_tiny_first_chunk_decodes(first: int) -> None:
    body = b"<rss>" + b"words and more words " * 200 + b"</rss>"
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)  # raw deflate, no zlib header
    raw = compressor.compress(body) + compressor.flush()
    inflater = Inflater.for_encoding("deflate")
    out = inflater.inflate(raw[:first], 10**6) + inflater.inflate(raw[first:], 10**6)
    out += inflater.flush(10**6)
    assert out == body


def test_private_addresses_refused_when_not_allowed(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """`[monitor] allow_private = false` (Miniflux's option): a feed whose host resolves to a
    loopback or private address is refused, checked on the resolved address (a name such as
    `localhost`) and for every redirect hop; the default allows them (tests, intranets)."""
    feed_server.add("/f", rss([{"title": "fine", "link": "https://e.test/1"}]))
    feed_server.add_redirect("/hop", feed_server.url("/f"))
    port = feed_server.port
    urls = [f"http://localhost:{port}/f", f"http://127.0.0.1:{port}/hop"]
    config = write_config(tmp_path, urls, monitor="allow_private = false")
    subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), "once"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    feeds = _feeds_json(config)
    for name in ("f", "hop"):
        assert feeds[name]["last_status"] == "error"
        assert "private" in str(feeds[name]["last_error"]), feeds[name]
    assert feed_server.count("/f") == 0 and feed_server.count("/hop") == 0  # never asked
    allowed = write_config(tmp_path / "ok", urls) if (tmp_path / "ok").mkdir() is None else None
    assert allowed is not None
    subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(allowed), "once"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert {row["last_status"] for row in _feeds_json(allowed).values()} == {"ok"}


def test_a_failed_tls_handshake_and_an_answer_not_http_are_said_plainly(tmp_path: Path) -> None:
    """Ports that do not speak HTTP, asked over ``https://`` (the handshake meets bytes that
    are not TLS) and over ``http://`` (binary bytes, a line that is no status line, a banner
    and the connection closed): `monitor feeds` says which in plain words, not the TLS
    library's or the HTTP parser's raw text (``[SSL: WRONG_VERSION_NUMBER] … (_ssl.c:1006)``,
    ``illegal status line: bytearray(b'…')``, ``illegal request line``)."""
    with (
        RawServer(b"\x15\x03\x01\x00\x02\x02\x50") as binary,  # a TLS alert
        RawServer(b"hello world\r\n\r\n") as text,
        RawServer(b"SSH-2.0-OpenSSH_9.6\r\n") as banner,
    ):
        urls = [
            text.url("/tls.xml", "https"),
            binary.url("/binary.xml"),
            text.url("/text.xml"),
            banner.url("/banner.xml"),
        ]
        config = write_config(tmp_path, urls)
        proc = subprocess.run(
            [sys.executable, "-m", "monitor", "--config", str(config), "once"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = {name: str(row["last_error"]) for name, row in _feeds_json(config).items()}
    assert errors == {
        "tls.xml": "TLS handshake failed: wrong version number",
        "binary.xml": "the answer is not HTTP",
        "text.xml": "the answer is not HTTP",
        "banner.xml": "the server closed the connection without an HTTP answer",
    }
    assert "bytearray" not in proc.stderr and "_ssl.c" not in proc.stderr, proc.stderr
