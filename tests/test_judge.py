"""One-click judgements: the signed links alerts carry with `[feedback]`, and the pages a real
`monitor run` serves for them on 127.0.0.1 (real feeds, SMTP, webhook receiver, SQLite)."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from monitor._config import load_config
from monitor._digest_plan import digest_message
from monitor._errors import ConfigError
from monitor._judge import linker, links, parse_path, sign, valid
from tests.feedserver import FeedServer
from tests.helpers import DATA, cli, load_items, serve_items, write_config
from tests.receivers import SmtpServer, WebhookReceiver
from tests.test_alerts import mail_cfg, make_alert

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
    urls = serve_items(feed_server, ITEMS)
    config = write_config(
        tmp_path,
        list(urls.values()),
        smtp=smtp_server,
        webhook=webhook_receiver,
        extra=feedback_table(port),
    )
    if backend == "postgres":  # the pages write where the daemon's workers read
        monkeypatch.setenv("MONITOR_E2E_DSN", request.getfixturevalue("pg_schema_dsn"))
        text = config.read_text(encoding="utf-8")
        config.write_text(
            text.replace('database = "monitor.db"', 'database_env = "MONITOR_E2E_DSN"')
        )
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
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
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
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
