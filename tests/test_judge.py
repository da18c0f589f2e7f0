"""One-click judgements: the signed links alerts carry with `[feedback]`, and the pages a real
`monitor run` serves for them on 127.0.0.1 (real feeds, SMTP, webhook receiver, SQLite)."""

from __future__ import annotations

import json
import logging
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from monitor._config import Config, load_config
from monitor._digest_plan import digest_message
from monitor._errors import ConfigError, MonitorError
from monitor._judge import linker, links, parse_path, sign, valid
from monitor._judge_server import JudgeServer, judge_server
from monitor._storage import Store, open_store
from tests.feedserver import FeedServer
from tests.helpers import (
    DATA,
    cli,
    load_items,
    serve_items,
    sqlite_write_lock,
    start_daemon,
    stop_daemon,
    write_config,
)
from tests.pg import table_lock
from tests.receivers import SmtpServer, WebhookReceiver
from tests.test_alerts import mail_cfg, make_alert
from tests.test_postgres_cycle import pg_config

ITEMS = load_items(DATA / "clear_items.jsonl")
ON_TOPIC = {i["title"] for i in ITEMS if i["label"] == 2}
SECRET = "s3cret-for-the-judge-links"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def feedback_table(port: int, url: str = "") -> str:
    lines = ["[feedback]", f'listen = "127.0.0.1:{port}"', 'secret_env = "MONITOR_JUDGE_SECRET"']
    return "\n".join([*lines, f'url = "{url}"'] if url else lines)


# ----------------------------------------------------------------------------- pure


def test_a_link_judges_one_hit_one_way() -> None:
    irrelevant, relevant = links("https://news.example/monitor/", SECRET, "hit_ab12")
    assert irrelevant.startswith("https://news.example/monitor/judge/hit_ab12/irrelevant?sig=")
    assert relevant.startswith("https://news.example/monitor/judge/hit_ab12/relevant?sig=")
    sig = irrelevant.rsplit("=", 1)[1]
    assert valid(SECRET, "hit_ab12", "irrelevant", sig)
    assert not valid(SECRET, "hit_ab12", "relevant", sig)  # not a link for the other verdict
    assert not valid(SECRET, "hit_ab13", "irrelevant", sig)  # nor for another hit
    assert not valid("another secret entirely", "hit_ab12", "irrelevant", sig)
    assert not valid(SECRET, "hit_ab12", "delete", sign(SECRET, "hit_ab12", "delete"))


def test_judge_paths_are_read_under_any_prefix_and_nothing_else_is() -> None:
    assert parse_path("/judge/hit_1/relevant") == ("hit_1", "relevant")
    assert parse_path("/monitor/judge/hit_1/irrelevant/?sig=x") == ("hit_1", "irrelevant")
    for path in (
        "/judge/hit_1/maybe",
        "/judge//relevant",
        "/hit_1/relevant",
        "/judge/a.b/relevant",
    ):
        assert parse_path(path) is None, path


def test_only_hit_alerts_get_links_and_only_with_feedback_configured(tmp_path: Path) -> None:
    hit, health = make_alert(), make_alert(kind="feed_health")
    assert linker(None)(hit) is hit
    config = write_config(tmp_path, [], extra=feedback_table(8787, "https://desk.example/m"))
    cfg = load_config(config, secrets=False).feedback
    assert cfg is not None and cfg.secret is None  # reports do not read the secret ...
    assert linker(cfg)(hit) is hit  # ... and make no links
    cfg = replace(cfg, secret=SECRET)
    assert linker(cfg)(health) is health
    assert linker(cfg)(hit).judge == links("https://desk.example/m", SECRET, hit.id)


def test_a_digest_gives_each_copy_its_not_about_the_topic_link() -> None:
    alerts = [
        make_alert(id=f"hit_{n}", story_id=f"s{n}", judge=links("http://h:1", SECRET, f"hit_{n}"))
        for n in range(2)
    ]
    message = digest_message(alerts, mail_cfg(25), ident="digest_x", now=datetime.now(UTC))
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for alert in alerts:
        assert alert.judge is not None
        assert f"not about the topic: {alert.judge[0]}" in text
        assert alert.judge[0].replace("&", "&amp;") in html


# ----------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('listen = "127.0.0.1:1"', r"feedback\.secret_env: the links must be signed"),
        ('listen = "127.0.0.1:1"\nsecret = "x" ', r"feedback\.secret: put the secret in the env"),
        ('secret_env = "MONITOR_JUDGE_SECRET"', r"feedback\.listen: expected an address"),
        ('listen = "1"\nsecret_env = "MONITOR_JUDGE_SECRET"', r"feedback\.listen: expected"),
        (
            'listen = "127.0.0.1:1"\nsecret_env = "MONITOR_JUDGE_SECRET"\nurl = "ftp://x"',
            r"feedback\.url: expected an http\(s\) URL",
        ),
        ('listen = "127.0.0.1:1"\nsecret_env = "NO_SUCH_VARIABLE_HERE"', r"is not set"),
        ('listen = "127.0.0.1:1"\nsecret_env = "SHORT_JUDGE_SECRET"', r"at least 16 characters"),
        ('listen = "127.0.0.1:1"\nsecret_env = "MONITOR_JUDGE_SECRET"\nport = 1', r"port"),
    ],
)
def test_feedback_config_errors_name_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, table: str, message: str
) -> None:
    monkeypatch.setenv("MONITOR_JUDGE_SECRET", SECRET)
    monkeypatch.setenv("SHORT_JUDGE_SECRET", "short")
    monkeypatch.delenv("NO_SUCH_VARIABLE_HERE", raising=False)
    config = write_config(tmp_path, [], extra=f"[feedback]\n{table}")
    with pytest.raises(ConfigError, match=r"config\.toml: .*" + message):
        load_config(config)


def test_the_links_point_at_the_listen_address_unless_a_url_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONITOR_JUDGE_SECRET", SECRET)
    feedback = load_config(write_config(tmp_path, [], extra=feedback_table(8787))).feedback
    assert feedback is not None and feedback.url == "http://127.0.0.1:8787"
    assert feedback.secret == SECRET and SECRET not in repr(feedback)
    table = feedback_table(8787, "https://desk.example/monitor/")
    feedback = load_config(write_config(tmp_path, [], extra=table)).feedback
    assert feedback is not None and feedback.url == "https://desk.example/monitor"


# ----------------------------------------------------------------------------- daemon


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_running_monitor_takes_a_judgement_from_the_alerts_link(
    tmp_path: Path,
    feed_server: FeedServer,
    smtp_server: SmtpServer,
    webhook_receiver: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    backend: str,
    request: pytest.FixtureRequest,
) -> None:
    """The email's link opens a page that changes nothing (mail scanners open links); its
    button records the judgement, as `monitor feedback` would; a forged link gets 403."""
    monkeypatch.setenv("MONITOR_JUDGE_SECRET", SECRET)
    port = free_port()
    feeds, table = list(serve_items(feed_server, ITEMS).values()), feedback_table(port)
    if backend == "postgres":  # the pages write where the daemon's workers read
        monkeypatch.setenv("MONITOR_E2E_DSN", request.getfixturevalue("pg_schema_dsn"))
        config = pg_config(
            tmp_path, feeds, webhook_receiver, smtp=smtp_server, extra=table, threshold=None
        )
    else:
        config = write_config(
            tmp_path, feeds, smtp=smtp_server, webhook=webhook_receiver, extra=table
        )
    proc = start_daemon(config)
    try:
        mails = smtp_server.wait_for(len(ON_TOPIC), timeout=30)
        hooks = webhook_receiver.wait_for(len(ON_TOPIC), timeout=30)
        text = mails[0].message.get_body(("plain",)).get_content()
        pattern = (
            r"Not about the topic: +(http://127\.0\.0\.1:\d+/judge/(hit_\w+)/irrelevant\?sig=\w+)"
        )
        [(link, hit_id)] = re.findall(pattern, text)
        assert link.startswith(f"http://127.0.0.1:{port}/judge/")
        html = mails[0].message.get_body(("html",)).get_content()
        assert link.replace("&", "&amp;") in html
        hook = next(h for h in hooks if h.json["id"] == hit_id)
        assert hook.json["judge"]["irrelevant"] == link

        with httpx.Client(timeout=10) as client:
            shown = client.get(link)
            assert shown.status_code == 200 and '<form method="post">' in shown.text
            assert "Not about the topic" in shown.text
            assert _judgements(config, capsys) == []  # opening the link records nothing
            forged = link[:-4] + ("0000" if not link.endswith("0000") else "1111")
            assert client.get(forged).status_code == 403
            other = link.replace("/irrelevant?", "/relevant?")  # that verdict's link differs
            assert client.post(other, data={"sig": link.rsplit("=", 1)[1]}).status_code == 403
            assert _judgements(config, capsys) == []

            sig = link.rsplit("=", 1)[1]
            done = client.post(link.split("?")[0], data={"sig": sig})
            assert (
                done.status_code == 200 and "Recorded: irrelevant to paris-coalition" in done.text
            )
            [judged] = _judgements(config, capsys)
            assert judged["relevant"] is False

            relevant = next(h for h in hooks if h.json["id"] == hit_id).json["judge"]["relevant"]
            sig = relevant.rsplit("=", 1)[1]
            assert client.post(relevant.split("?")[0], data={"sig": sig}).status_code == 200
            [judged] = _judgements(config, capsys)  # the later verdict replaces the earlier
            assert judged["relevant"] is True

            gone = links(f"http://127.0.0.1:{port}", SECRET, "hit_000000000000000000000000")[0]
            assert client.get(gone).status_code == 404
            assert client.get(f"http://127.0.0.1:{port}/metrics").status_code == 404
    finally:
        err = stop_daemon(proc)
    assert proc.returncode == 0, err
    assert "from a judge link" in err and SECRET not in err
    with pytest.raises(httpx.ConnectError):  # the pages closed with the daemon
        httpx.get(link, timeout=2)


def _judgements(config: Path, capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    capsys.readouterr()
    assert cli(config, "feedback", "--list", "--format", "json") == 0
    rows: list[dict[str, object]] = json.loads(capsys.readouterr().out)
    return rows


def test_the_judge_address_in_use_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONITOR_JUDGE_SECRET", SECRET)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = write_config(tmp_path, [], extra=feedback_table(port))
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "monitor", "--config", str(config), "run"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert f"feedback.listen: cannot listen on 127.0.0.1:{port}" in proc.stderr
    assert "Traceback" not in proc.stderr and time.monotonic() - started < 60


# ----------------------------------------------------------------------------- the pages alone


def _store_a_hit(storage: Store, topic: str) -> str:
    """One hit of ``topic`` stored as a poll stores it (the daemon's write, not a mock); its
    id."""
    from monitor._config import FeedConfig
    from monitor._models import Entry, Judgement
    from monitor._storage import NewItem

    feed = FeedConfig("http://127.0.0.1:1/feed.xml", "Feed", 600)
    storage.sync_feeds([feed])
    now = datetime(2025, 3, 11, 12, 0, tzinfo=UTC)
    item = NewItem(
        Entry("id:a", "Chiefs meet in Paris", "On a force.", "http://x/a", now, "fp-a"),
        (Judgement(topic, 0.9, True, ()),),
        story_id="s1",
    )
    [hit_id] = storage.store_poll(
        storage.feed_state(feed.url), now, title="T", fetch_url=feed.url, etag=None,
        last_modified=None, body_hash=None, warning=None, items=[item], edited=[],
        channels=["webhook"],
    )  # fmt: skip
    return hit_id


@pytest.fixture
def pages(tmp_path: Path) -> Iterator[tuple[JudgeServer, str]]:
    """Judge pages over a real SQLite file holding one hit of topic "t", on a free port;
    yields (server, that hit's id)."""
    from monitor._storage import Storage

    storage = Storage(tmp_path / "m.db")
    hit_id = _store_a_hit(storage, "t")
    storage.close()
    server = JudgeServer(
        ("127.0.0.1", 0), SECRET, lambda: Storage(tmp_path / "m.db"), pickup=30, topics={"t"}
    )
    server.start()
    try:
        yield server, hit_id
    finally:
        server.stop()


def _link(server: JudgeServer, hit_id: str, verdict: str = "irrelevant") -> str:
    host, port = server.address
    irrelevant, relevant = links(f"http://{host}:{port}", SECRET, hit_id)
    return irrelevant if verdict == "irrelevant" else relevant


def test_a_button_may_post_to_the_link_itself(pages: tuple[JudgeServer, str]) -> None:
    """Chat buttons (ntfy's `http` action, Slack's) POST to the URL they are given, with no
    form: the webhook's `judge` link was refused as "not a valid link"."""
    server, hit_id = pages
    with httpx.Client(timeout=10) as client:
        done = client.post(_link(server, hit_id))
        assert done.status_code == 200 and "Recorded: irrelevant to t" in done.text
        assert client.post(_link(server, hit_id), json={}).status_code == 200


@pytest.mark.parametrize("sig", ["%E2%82%AC", "%C3%A9" * 16, "é"])
def test_a_signature_that_is_not_ascii_is_refused_not_a_traceback(
    pages: tuple[JudgeServer, str], sig: str, capsys: pytest.CaptureFixture[str]
) -> None:
    server, hit_id = pages
    base = _link(server, hit_id).split("?")[0]
    with httpx.Client(timeout=10) as client:
        assert client.get(f"{base}?sig={sig}").status_code == 403
        assert client.post(base, data={"sig": sig}).status_code == 403
        non_ascii_id = base.replace(hit_id, "hit_\u00e9")
        assert client.get(f"{non_ascii_id}?sig=00").status_code == 404
    assert "Traceback" not in capsys.readouterr().err


def test_a_link_of_a_topic_no_longer_configured_records_nothing(
    pages: tuple[JudgeServer, str], tmp_path: Path
) -> None:
    server, hit_id = pages
    server.topics = frozenset({"renamed"})
    with httpx.Client(timeout=10) as client:
        shown = client.post(_link(server, hit_id))
    assert shown.status_code == 410 and "no longer" in shown.text, shown.text
    assert (
        "Its topic, t, is no longer in the monitor&#x27;s config: nothing was recorded"
        in shown.text
    )
    from monitor._storage import Storage

    storage = Storage(tmp_path / "m.db")
    assert storage.feedback() == []
    storage.close()


def test_many_clicks_at_once_are_all_answered(pages: tuple[JudgeServer, str]) -> None:
    """The stdlib server's accept queue of 5 reset about one connection in nine under 100
    concurrent clients."""
    import concurrent.futures

    server, hit_id = pages
    link = _link(server, hit_id)
    limits = httpx.Limits(max_connections=100)
    with (
        httpx.Client(timeout=30, limits=limits) as client,
        concurrent.futures.ThreadPoolExecutor(100) as pool,
    ):
        codes = list(pool.map(lambda _: client.get(link).status_code, range(200)))
    assert codes == [200] * 200


def test_the_pages_serve_on_ipv6(tmp_path: Path) -> None:
    from monitor._storage import Storage

    try:
        server = JudgeServer(
            ("::1", 0), SECRET, lambda: Storage(tmp_path / "m.db"), pickup=30, topics={"t"}
        )
    except MonitorError as exc:  # a machine without IPv6 on loopback says so, clearly
        pytest.skip(str(exc))
    server.start()
    try:
        host, port = server.address
        assert httpx.get(f"http://[{host}]:{port}/nothing", timeout=5).status_code == 404
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('listen = "http://127.0.0.1:1"', r"feedback\.listen: expected an address"),
        ('listen = "a b:8787"', r"feedback\.listen: expected an address"),
        ('listen = "127.0.0.1:1"\nurl = "https://h/p?x=1"', r"feedback\.url: .*no query"),
        ('listen = "127.0.0.1:1"\nurl = "https://h/p#f"', r"feedback\.url: .*no query"),
        ('listen = "127.0.0.1:1"\nurl = "https://exa mple.org/m"', r"feedback\.url: .*host"),
        ('listen = "127.0.0.1:1"\nurl = "https://h:99999/m"', r"feedback\.url: .*port"),
        ('listen = "127.0.0.1:1"\nurl = "https://u:pw@h/m"', r"feedback\.url: .*credentials"),
        ('listen = "127.0.0.1:1"\nsecret_env = "BLANK_SECRET"', r"secret_env: .*only blanks"),
        ('listen = "0.0.0.0:8787"', r"feedback\.url: .*every address"),
        ('listen = "[::]:8787"', r"feedback\.url: .*every address"),
        ('listen = "127.0.0.1:1"\nsecret_env = "SHORT_JUDGE_SECRET"', r"secret_env: .*16 char"),
        ('listen = "127.0.0.1:1"\nsecret_env = "X"\nurlx = 1', r"known keys here: .*url"),
    ],
)
def test_feedback_addresses_that_make_broken_links_are_config_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, table: str, message: str
) -> None:
    monkeypatch.setenv("MONITOR_JUDGE_SECRET", SECRET)
    monkeypatch.setenv("X", SECRET)
    monkeypatch.setenv("SHORT_JUDGE_SECRET", "short")
    monkeypatch.setenv("BLANK_SECRET", " " * 20)
    if "secret_env" not in table:
        table += '\nsecret_env = "MONITOR_JUDGE_SECRET"'
    config = write_config(tmp_path, [], extra=f"[feedback]\n{table}")
    with pytest.raises(ConfigError, match=message):
        load_config(config)


def test_a_client_that_hangs_up_early_leaves_no_traceback(
    pages: tuple[JudgeServer, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A reader closing the tab, a probe timing out: the stdlib server printed ~15 lines of
    traceback for each, plain text amid JSON logs. (The same server base serves /metrics.)"""
    import socket
    import struct

    server, hit_id = pages
    host, port = server.address
    path = _link(server, hit_id).split(f"{port}", 1)[1]
    for _ in range(5):
        with socket.create_connection((host, port)) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    time.sleep(0.5)
    assert httpx.get(_link(server, hit_id), timeout=5).status_code == 200  # still serving
    err = capsys.readouterr().err
    assert "Traceback" not in err and "Exception occurred" not in err, err


def test_a_blank_secret_in_the_environment_is_refused_as_an_empty_file_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BLANK_SECRET", " " * 20)
    table = '[alerts.webhook]\nurl = "http://127.0.0.1:9/h"\nsecret_env = "BLANK_SECRET"'
    with pytest.raises(ConfigError, match=r"secret_env: the environment variable BLANK_SECRET"):
        load_config(write_config(tmp_path, [], extra=table))


# ----------------------------------------------------------------------------- a locked database


@contextmanager
def _judge_pages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: str, request: pytest.FixtureRequest
) -> Iterator[tuple[Config, JudgeServer, str]]:
    """The pages `monitor run` serves for a config of ``backend`` (built as the daemon builds
    them), over a database holding one hit of the config's topic; yields (config, server,
    that hit's id)."""
    monkeypatch.setenv("MONITOR_JUDGE_SECRET", SECRET)
    table = feedback_table(free_port())
    if backend == "postgres":
        monkeypatch.setenv("MONITOR_E2E_DSN", request.getfixturevalue("pg_schema_dsn"))
        config = load_config(pg_config(tmp_path, [], None, extra=table, threshold=None))
    else:
        config = load_config(write_config(tmp_path, [], extra=table))
    with closing(open_store(config)) as storage:
        hit_id = _store_a_hit(storage, config.topics[0].name)
    server = judge_server(config, 30)
    assert server is not None
    server.start()
    try:
        yield config, server, hit_id
    finally:
        server.stop()


@contextmanager
def _foreign_write_lock(config: Config) -> Iterator[None]:
    """Another session or process holds what a judgement writes: on PostgreSQL an admin's
    `LOCK TABLE feedback` in an open transaction, on SQLite another process's open write
    transaction (`BEGIN IMMEDIATE`)."""
    if config.settings.dsn is not None:
        with table_lock(config.settings.dsn, "feedback"):
            yield
    else:
        with sqlite_write_lock(config.settings.database):
            yield


def _judgements_in(config: Config) -> list[dict[str, object]]:
    with closing(open_store(config)) as storage:
        return storage.feedback()


def _busy_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith("monitor")
    ]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_judgement_that_meets_a_lock_is_a_busy_page_in_seconds_and_records_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    backend: str,
    request: pytest.FixtureRequest,
) -> None:
    """A judgement whose write met a lock another session held: on PostgreSQL the POST waited
    with no bound (59 s, until the other session ended; the browser spun, the thread was held,
    and the judgement was written after the reader had given up); on SQLite, after the busy
    timeout, a 503 saying neither that nothing was recorded nor when to come back. Now both
    wait a few seconds, then answer 503 "busy, nothing was recorded" with Retry-After, in one
    warning line, and write nothing."""
    with _judge_pages(tmp_path, monkeypatch, backend, request) as (config, server, hit_id):
        link = _link(server, hit_id)
        with httpx.Client(timeout=30) as client:
            with _foreign_write_lock(config):
                caplog.clear()
                with caplog.at_level(logging.INFO, logger="monitor"):
                    shown = client.get(link)  # reading waits for no writer
                    busy = client.post(link)
            assert shown.status_code == 200, shown.text
            assert busy.status_code == 503, busy.text
            assert int(busy.headers["Retry-After"]) > 0
            assert "busy" in busy.text and "nothing was recorded" in busy.text, busy.text
            [warning] = _busy_warnings(caplog)
            assert hit_id in warning and "busy" in warning, warning
            assert "Traceback" not in caplog.text
            assert _judgements_in(config) == []  # nor later, when the lock went away

            done = client.post(link)  # trying again, as the page says
            assert done.status_code == 200 and "Recorded: irrelevant" in done.text, done.text
    [judged] = _judgements_in(config)
    assert judged["relevant"] is False


def test_a_judge_page_that_meets_a_locked_table_on_postgresql_is_busy_too(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    request: pytest.FixtureRequest,
) -> None:
    """The page's read of the hit waits for a table another session locked as the POST's
    write does: the same bounded wait, then the same busy page."""
    with _judge_pages(tmp_path, monkeypatch, "postgres", request) as (config, server, hit_id):
        assert config.settings.dsn is not None
        link = _link(server, hit_id)
        with (
            httpx.Client(timeout=30) as client,
            table_lock(config.settings.dsn, "items"),
            caplog.at_level(logging.INFO, logger="monitor"),
        ):
            shown = client.get(link)
        assert shown.status_code == 503 and "busy" in shown.text, shown.text
        assert int(shown.headers["Retry-After"]) > 0
        assert len(_busy_warnings(caplog)) == 1
