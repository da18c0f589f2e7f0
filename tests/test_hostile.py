"""Hostile and broken feeds, all in ONE `monitor once` beside good feeds (issue 4, scenarios 1–7).

Every feed below is served for real by tests/feedserver.py on 127.0.0.1. The cycle runs as a
separate process (so its peak RSS is its own), then the test checks what each feed recorded,
that the good feeds' hits were delivered by webhook and email, that nothing hostile leaked into
the database or an alert, and that a second `monitor once` honours every backoff, Retry-After
and 410.
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.feedserver import FeedServer, gzip_bomb, rss
from tests.helpers import DATA, TOY_THRESHOLD, cli, load_items, serve_items, write_config
from tests.receivers import SmtpServer, WebhookReceiver

ITEMS = load_items(DATA / "clear_items.jsonl")
# The good feeds carry the "europe" items; the "world" stories on topic are used, with hostile
# titles, by the attack feed (distinct stories, so each of them alerts on its own).
GOOD_ITEMS = [i for i in ITEMS if i["feed"] == "europe" or i["label"] != 2]
GOOD_ON_TOPIC = {i["title"] for i in GOOD_ITEMS if i["label"] == 2}
WORLD = [i for i in ITEMS if i["feed"] == "world" and i["label"] == 2]
SECRET_MARKER = "TOP-SECRET-FILE-CONTENT-4242"
MAXRSS_LIMIT_MIB = 300

# Run the CLI in a child and report its own peak RSS (kB) on the last stderr line: VmHWM, the
# high-water mark of the child's own address space. Not getrusage's ru_maxrss: Linux carries
# the pre-exec maximum across exec, so it would report the forking pytest process's size
# whenever that is larger (it grows over a session: 304 "MiB" for a 150 MiB child).
_RUN_AND_MEASURE = (
    "import re, sys\n"
    "from monitor._cli import main\n"
    "code = main(sys.argv[1:])\n"
    "with open('/proc/self/status') as f:\n"
    "    hwm = re.search(r'^VmHWM:\\s+(\\d+) kB', f.read(), re.M).group(1)\n"
    "print('MAXRSS', hwm, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def run_once(config: Path) -> tuple[int, str, int]:
    proc = subprocess.run(
        [sys.executable, "-c", _RUN_AND_MEASURE, "--config", str(config), "once"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    match = re.search(r"^MAXRSS (\d+)$", proc.stderr, re.MULTILINE)
    assert match, proc.stderr[-2000:]
    return proc.returncode, proc.stderr, int(match.group(1)) // 1024


def xxe_feeds(tmp_path: Path) -> dict[str, bytes]:
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET_MARKER)
    dtd = tmp_path / "evil.dtd"
    dtd.write_text(f'<!ENTITY leak SYSTEM "{secret.as_uri()}">')
    item = (
        "<item><title>Leak &leak; here</title><description>&leak;</description>"
        "<link>https://e.test/xxe</link></item>"
    )
    docs = {
        "/xxe": f'<!DOCTYPE rss [<!ENTITY leak SYSTEM "{secret.as_uri()}">]>',
        "/xxe-dtd": f'<!DOCTYPE rss [<!ENTITY % ext SYSTEM "{dtd.as_uri()}"> %ext;]>',
    }
    return {
        path: (
            f'<?xml version="1.0"?>\n{doctype}\n<rss version="2.0"><channel><title>X</title>'
            f"{item}</channel></rss>"
        ).encode()
        for path, doctype in docs.items()
    }


def billion_laughs() -> bytes:
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    )
    return (
        f'<?xml version="1.0"?><!DOCTYPE rss [{entities}]><rss version="2.0"><channel>'
        "<title>Laughs</title><item><title>A &lol9; B</title><description>&lol9;</description>"
        "<link>https://e.test/laughs</link></item></channel></rss>"
    ).encode()


def attack_items() -> list[dict[str, Any]]:
    """On-topic stories whose titles attack the alert channels (CVE-2024-6923 and friends)."""
    crlf, encoded, html = WORLD
    word = base64.b64encode(b"x\r\nBcc: victim@example.org\r\nX-Evil: 1").decode()
    return [
        dict(
            crlf,
            title=crlf["title"] + "\r\nBcc: victim@example.org\r\nX-Evil: 1 "
            "=?utf-8?q?a=0d=0aBcc:_victim@example.org?=",
        ),
        dict(encoded, title=f"{encoded['title']} =?utf-8?b?{word}?= end"),
        # "&lt;script&gt;" in the feed is the text "<script>" once parsed: it must be escaped
        # again in the HTML mail. Then a 1 MB tail that must be cut.
        dict(html, title=f"{html['title']} &lt;script&gt;alert(1)&lt;/script&gt; {'y' * 10**6}"),
    ]


def serve_hostile(server: FeedServer, tmp_path: Path, now: datetime) -> dict[str, str]:
    """Serve every hostile feed; return {name: url}."""
    server.add_behaviour("/drip", "drip", body=rss([{"title": "slow"}]), interval=1.0)
    server.add_behaviour("/bomb", "gzip", compressed=gzip_bomb(1024))  # 1 MB → 1 GiB
    server.add("/big", b"<rss>" + b"x" * (50 * 2**20))  # 50 MB, Content-Length says so
    server.add_behaviour("/big-stream", "stream", body=b"<rss>" + b"y" * 1000, size=50 * 2**20)
    server.add("/author", rss([{"title": "t", "author": "a@" + "a." * 25_000}]))
    for path, body in xxe_feeds(tmp_path).items():
        server.add(path, body)
    server.add("/laughs", billion_laughs())
    server.add_redirect("/loop-a", "/loop-b", status=302)
    server.add_redirect("/loop-b", "/loop-a", status=302)
    server.add_redirect("/to-file", "file:///etc/passwd", status=301)
    server.add_behaviour("/500", "status", status=500)
    server.add_behaviour("/reset", "reset", body=rss([{"title": "cut"}]) * 50, sent=200)
    page = b"<!doctype html><html><body><p>Hi</p></body></html>"
    server.add("/html", page, content_type="text/html")
    server.add("/empty", b"")
    server.add("/garbage", bytes(range(256)) * 16, content_type="application/rss+xml")
    wrong = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Latin</title>'
        "<item><title>Café naïve été</title><link>https://e.test/latin</link></item>"
        "</channel></rss>"
    ).encode("latin-1")
    server.add("/wrong-encoding", wrong, content_type="application/rss+xml; charset=utf-8")
    server.add_behaviour("/429", "status", status=429, headers={"Retry-After": "3600"})
    later = format_datetime(now + timedelta(hours=2), usegmt=True)
    server.add_behaviour("/503", "status", status=503, headers={"Retry-After": later})
    server.add_behaviour("/gone", "status", status=410)
    server.add("/attack", rss(attack_items(), title="Attack"))
    paths = [
        "/drip", "/bomb", "/big", "/big-stream", "/author", "/xxe", "/xxe-dtd", "/laughs",
        "/loop-a", "/to-file", "/404", "/500", "/reset", "/html", "/empty", "/garbage",
        "/wrong-encoding", "/429", "/503", "/gone", "/attack",
    ]  # fmt: skip
    urls = {path: server.url(path) for path in paths}
    urls["tls"] = server.url("/attack").replace("http://", "https://")  # TLS to a plain server
    return urls


# What each hostile feed records after the cycle: (status, a pattern its last_error matches).
EXPECTED: dict[str, tuple[str, str | None]] = {
    "/drip": ("error", r"^deadline of 3 s exceeded"),
    "/bomb": ("error", r"^body larger than 15 MiB"),
    "/big": ("error", r"^body larger than 15 MiB"),
    "/big-stream": ("error", r"^body larger than 15 MiB"),
    "/author": ("error", r"^parsing took longer than 3 s"),
    "/xxe": ("ok", None),
    "/xxe-dtd": ("ok", None),
    # expat stops the expansion at its amplification limit and feedparser keeps the entity
    # unexpanded; that costs ~0.7 s of CPU, so on a loaded machine the parse timeout may fire
    # first. Either way the parse is bounded and nothing is expanded: both outcomes are right.
    "/laughs": ("ok", None),
    "/loop-a": ("error", r"^redirect loop"),
    "/to-file": ("error", r"only http and https"),
    "/404": ("error", r"^HTTP 404"),
    "/500": ("error", r"^HTTP 500"),
    "/reset": ("error", r"^(protocol|read) error"),
    "tls": ("error", r"^TLS handshake failed: "),
    "/html": ("error", r"^not a feed: an HTML page"),
    "/empty": ("error", r"^empty body"),
    "/garbage": ("error", r"^not a feed"),
    "/wrong-encoding": ("ok", None),
    "/429": ("error", r"^HTTP 429"),
    "/503": ("error", r"^HTTP 503"),
    "/gone": ("gone", r"^HTTP 410"),
    "/attack": ("ok", None),
}


def test_hostile_feeds_beside_good_ones_in_one_cycle(
    tmp_path: Path,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    smtp_server: SmtpServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    now = datetime.now(UTC)
    good = serve_items(feed_server, GOOD_ITEMS)
    hostile = serve_hostile(feed_server, tmp_path, now)
    assert set(hostile) == set(EXPECTED)
    config = write_config(
        tmp_path,
        [*hostile.values(), *good.values()],
        webhook=webhook_receiver,
        smtp=smtp_server,
        monitor='deadline = "3s"\nparse_timeout = "3s"\nper_host = 32\nmax_size_mib = 15',
        threshold=TOY_THRESHOLD,
    )

    started = time.monotonic()
    code, stderr, maxrss_mib = run_once(config)
    took = time.monotonic() - started
    assert code == 0, stderr[-3000:]
    assert "Traceback" not in stderr
    assert webhook_receiver.secret not in stderr
    assert took < 60, f"the cycle stalled: {took:.0f} s"  # generous: it takes a few seconds
    # Neither the 1 GiB bomb nor the 50 MB bodies were held: the process stays small.
    assert maxrss_mib < MAXRSS_LIMIT_MIB, f"peak RSS {maxrss_mib} MiB"
    # The streamed 50 MB body was abandoned soon after the 15 MiB cap (plus socket buffers).
    assert feed_server.sent["/big-stream"] < 40 * 2**20
    with capsys.disabled():  # the figures quoted in docs/reliability.md (pytest -s shows them)
        print(
            f"\nhostile cycle: {took:.1f} s, peak RSS {maxrss_mib} MiB, streamed before "
            f"abandon {feed_server.sent['/big-stream'] / 2**20:.1f} MiB"
        )

    capsys.readouterr()
    assert cli(config, "feeds", "--format", "json") == 0
    feeds = {f["url"]: f for f in json.loads(capsys.readouterr().out)}
    assert len(feeds) == len(hostile) + len(good)
    for name, url in hostile.items():
        status, pattern = EXPECTED[name]
        feed = feeds[url]
        if name == "/laughs" and feed["last_status"] == "error":
            status, pattern = "error", r"^parsing took longer than 3 s"
        assert feed["last_status"] == status, (name, feed["last_status"], feed["last_error"])
        if pattern is None:
            assert feed["last_error"] is None and feed["error_count"] == 0, (name, feed)
            continue
        assert re.search(pattern, feed["last_error"]), (name, feed["last_error"])
        assert "\n" not in feed["last_error"] and len(feed["last_error"]) <= 500
        assert feed["error_count"] == 1, name
        if status == "error":  # a backoff of at least a minute, or the server's longer wait
            polled = datetime.fromisoformat(feed["last_polled"])
            waited = datetime.fromisoformat(feed["retry_until"]) - polled
            assert waited >= timedelta(seconds=59), (name, waited)
    for url in good.values():
        assert feeds[url]["last_status"] == "ok" and feeds[url]["items_seen"] > 0
    assert feeds[hostile["/429"]]["retry_until"] >= (now + timedelta(seconds=3500)).isoformat()
    assert feeds[hostile["/503"]]["retry_until"] >= (now + timedelta(minutes=119)).isoformat()
    assert feeds[hostile["/gone"]]["retry_until"] is None  # never again, not "later"

    # The good feeds' hits and the attack feed's three stories were delivered, on both channels.
    expected_titles = GOOD_ON_TOPIC | {i["title"] for i in WORLD}
    hooks = webhook_receiver.wait_for(len(expected_titles))
    assert len(hooks) == len(expected_titles)
    assert all(r.signature_ok for r in hooks)
    delivered = {r.json["title"] for r in hooks}
    assert delivered >= GOOD_ON_TOPIC
    for title in {i["title"] for i in WORLD}:  # each attack title arrives, cleaned and cut
        (hook,) = [r for r in hooks if r.json["title"].startswith(title)]
        assert "\r" not in hook.json["title"] and "\n" not in hook.json["title"]
        assert len(hook.json["title"]) <= 1000
    mails = smtp_server.wait_for(len(expected_titles))
    allowed = {
        "From", "To", "Subject", "Date", "Message-ID", "Auto-Submitted", "MIME-Version",
        "Content-Type",
    }  # fmt: skip
    for mail in mails:
        assert set(mail.message.keys()) == allowed, mail.message.keys()
        assert mail.rcpt_tos == ["desk@example.org"]
        # cut to 200 characters (the stdlib's header folding may leave a space at a fold,
        # which reads as a double space once unfolded: compare with spaces collapsed)
        assert len(" ".join(mail.message["Subject"].split())) <= 200
        assert len(mail.raw) < 50_000
        head = mail.raw.split(b"\r\n\r\n", 1)[0].lower()
        assert b"\nbcc:" not in head and b"\nx-evil:" not in head
        html = mail.message.get_body(("html",))
        assert html is not None
        assert "<script" not in html.get_content().lower()
    (script_mail,) = [m for m in mails if "alert(1)" in m.message["Subject"]]
    html_part = script_mail.message.get_body(("html",))
    assert html_part is not None
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html_part.get_content()

    # Nothing from the local file, no entity expansion, the mis-declared text decoded sensibly.
    db = sqlite3.connect(tmp_path / "monitor.db")
    dump = "\n".join(db.iterdump())
    assert SECRET_MARKER not in dump
    assert "lollollol" not in dump
    everything_sent = b"".join(r.body for r in hooks) + b"".join(m.raw for m in mails)
    assert SECRET_MARKER.encode() not in everything_sent
    assert db.execute("select title from items where link = 'https://e.test/latin'").fetchone() == (
        "Café naïve été",
    )
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()

    # A second cycle: no request to any feed in backoff, waiting for Retry-After, or gone.
    counted = [p for p in hostile if p.startswith("/") and EXPECTED[p][0] != "ok"]
    before = {p: feed_server.count(p) for p in counted}
    assert all(before.values()), before
    good_before = sum(feed_server.count(urlsplit(u).path) for u in good.values())
    assert cli(config, "once") == 0
    assert {p: feed_server.count(p) for p in counted} == before
    good_after = sum(feed_server.count(urlsplit(u).path) for u in good.values())
    assert good_after == good_before + len(good)  # the good ones are polled again
    assert len(webhook_receiver.received) == len(expected_titles)  # and nothing is sent twice
    capsys.readouterr()
    assert cli(config, "feeds") == 0
    table = capsys.readouterr().out
    assert "gone" in table
