"""Apprise as a channel, against a real loopback target (Apprise's json:// service posting to
the test receiver on 127.0.0.1): delivered through the outbox, retried on failure, and the
URL's token never shown."""

from __future__ import annotations

import importlib.util
import json
import logging
from pathlib import Path

import pytest

from monitor._apprise import AppriseSender
from monitor._config import load_config
from monitor._errors import ConfigError
from tests.feedserver import FeedServer
from tests.helpers import DATA, cli, load_items, serve_items, write_config
from tests.receivers import StallingSmtp, WebhookReceiver

ITEMS = load_items(DATA / "clear_items.jsonl")
ON_TOPIC = {i["title"] for i in ITEMS if i["label"] == 2}
TOKEN = "sekrit-token-42"

needs_apprise = pytest.mark.skipif(
    importlib.util.find_spec("apprise") is None,
    reason="apprise is not installed (pip install -e '.[test]' installs it)",
)


def apprise_config(tmp_path: Path, urls: dict[str, str], receiver: WebhookReceiver) -> Path:
    target = f"json://monitor:{TOKEN}@127.0.0.1:{receiver.port}/hook"
    return write_config(
        tmp_path,
        list(urls.values()),
        extra=f'[alerts]\nretry_schedule = ["0s"]\n[alerts.apprise]\nurls = ["{target}"]',
    )


@needs_apprise
def test_apprise_delivers_each_hit_once(
    tmp_path: Path,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = apprise_config(tmp_path, serve_items(feed_server, ITEMS), webhook_receiver)
    assert cli(config, "once") == 0
    received = webhook_receiver.wait_for(len(ON_TOPIC))
    assert len(received) == len(ON_TOPIC)
    titles = {r.json["title"] for r in received}
    assert titles == {f"[monitor:paris-coalition] {t}" for t in ON_TOPIC}
    for r in received:
        assert "Score" in r.json["message"] and "https://" in r.json["message"]
        assert r.headers["authorization"].startswith("Basic ")  # the URL's user:token
    capsys.readouterr()
    assert cli(config, "deliveries", "--format", "json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert {(r["channel"], r["status"]) for r in rows} == {("apprise", "delivered")}
    assert cli(config, "once") == 0
    assert len(webhook_receiver.received) == len(ON_TOPIC)  # nothing twice


@needs_apprise
def test_apprise_failure_is_retried_and_the_token_never_shown(
    tmp_path: Path,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    story = [i for i in ITEMS if i["label"] == 2][:1]
    config = apprise_config(tmp_path, serve_items(feed_server, story), webhook_receiver)
    webhook_receiver.respond_with(500)
    assert cli(config, "once") == 0  # fails, retried at once ("0s"), fails: no retries left
    capsys.readouterr()
    assert cli(config, "deliveries", "--format", "json") == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["channel"], row["status"], row["attempts"]) == ("apprise", "failed", 2)
    assert "did not accept" in row["last_error"]
    webhook_receiver.respond_with(200)
    assert cli(config, "redeliver", row["hit_id"]) == 0
    assert cli(config, "once") == 0
    assert len(webhook_receiver.received) == 3  # two failed tries and the redelivery
    capsys.readouterr()
    assert cli(config, "deliveries", "--status", "delivered", "--format", "json") == 0
    assert len(json.loads(capsys.readouterr().out)) == 1
    shown = (
        caplog.text
        + capsys.readouterr().err
        + (tmp_path / "monitor.db").read_bytes().decode("latin-1")
    )
    assert TOKEN not in shown


@needs_apprise
def test_alerts_waiting_on_apprise_are_not_reported_as_an_unconfigured_channel(
    tmp_path: Path,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    story = [i for i in ITEMS if i["label"] == 2][:1]
    config = apprise_config(tmp_path, serve_items(feed_server, story), webhook_receiver)
    config.write_text(config.read_text().replace('["0s"]', '["1h"]'))  # a failure waits
    webhook_receiver.respond_with(500)
    assert cli(config, "once") == 0  # fails: pending, due in an hour
    assert cli(config, "once") == 0  # starts with an apprise alert waiting
    assert "the config no longer has" not in caplog.text


@needs_apprise
def test_a_target_that_never_answers_fails_at_the_configured_timeout(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """``[alerts.apprise] timeout`` bounds a send even when Apprise's own read timeout (``rto``)
    is longer: the delivery is recorded as failed with the reason, to be retried."""
    story = [i for i in ITEMS if i["label"] == 2][:1]
    silent = StallingSmtp(mode="silent")
    try:
        config = write_config(
            tmp_path,
            list(serve_items(feed_server, story).values()),
            extra=(
                '[alerts]\nretry_schedule = []\n[alerts.apprise]\ntimeout = "0.5s"\n'
                f'urls = ["json://127.0.0.1:{silent.port}/hook?rto=3"]'
            ),
        )
        assert cli(config, "once") == 0
    finally:
        silent.close()
    assert silent.connections >= 1
    capsys.readouterr()
    assert cli(config, "deliveries", "--format", "json") == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["channel"], row["status"]) == ("apprise", "failed")
    assert row["last_error"] == "apprise: no answer within 0.5 s"


def test_apprise_urls_from_env_and_errors_name_the_key_not_the_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APPRISE_URLS", f"ntfy://{TOKEN}@ntfy.example/topic\njson://x/y")
    config = write_config(tmp_path, [], extra='[alerts.apprise]\nurls_env = "APPRISE_URLS"')
    loaded = load_config(config).apprise
    assert loaded is not None and len(loaded.urls) == 2
    assert TOKEN not in repr(loaded)
    bad = write_config(tmp_path, [], extra=f'[alerts.apprise]\nurls = ["{TOKEN}"]')
    with pytest.raises(
        ConfigError, match=r"alerts\.apprise\.urls\[1\]: expected an Apprise URL"
    ) as e:
        load_config(bad)
    assert TOKEN not in str(e.value)
    both = write_config(tmp_path, [], extra='[alerts.apprise]\nurls = ["a://b"]\nurls_env = "X"')
    with pytest.raises(ConfigError, match="exactly one of urls, urls_env, urls_file"):
        load_config(both)


def test_a_misspelt_service_is_refused_without_apprise_logging_its_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Apprise logged its own ERROR "Unparseable URL slak://T000/B000/<token>" before our
    error (which names the key, not the URL)."""
    secret = "SLACKSECRETXYZ"  # (Apprise shortens some path parts in its log, not this one)
    monkeypatch.setenv("APPRISE_URLS", f"slak://T000/B000/{secret}")
    config = write_config(tmp_path, [], extra='[alerts.apprise]\nurls_env = "APPRISE_URLS"')
    with (
        caplog.at_level(logging.DEBUG),
        pytest.raises(ConfigError, match="not one Apprise understands") as e,
    ):
        AppriseSender(load_config(config))
    assert secret not in str(e.value) and secret not in caplog.text, caplog.text
