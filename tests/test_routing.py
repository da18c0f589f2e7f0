"""Per-topic routing of channels (``[[topics]] channels``): a hit is queued on its topic's
channels only, decided where the outbox rows are made; real SMTP and webhook on 127.0.0.1."""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import datetime
from pathlib import Path

import pytest

from monitor._config import TopicConfig, load_config
from monitor._errors import ConfigError
from monitor._routing import channels_for, topic_routes
from tests.feedserver import FeedServer
from tests.helpers import DATA, SEEDS, TOY_THRESHOLD, cli, load_items, serve_items
from tests.receivers import SmtpServer, WebhookReceiver

ITEMS = load_items(DATA / "clear_items.jsonl")
ON_TOPIC = {i["title"] for i in ITEMS if i["label"] == 2}


def routed_config(
    tmp_path: Path,
    urls: list[str],
    webhook: WebhookReceiver,
    smtp: SmtpServer,
    *,
    wire: str = '["webhook"]',
    desk: str = '["email"]',
    email_extra: str = "",
) -> Path:
    """Two topics from the same seeds (so both hit the same items), each with its channels."""
    lines = ['[monitor]\ndatabase = "monitor.db"\ninterval = "10m"']
    for name, channels in (("wire", wire), ("desk", desk), ("everywhere", None)):
        lines.append(
            f'[[topics]]\nname = "{name}"\nseeds = "{SEEDS}"\nthreshold = {TOY_THRESHOLD}'
            + (f"\nchannels = {channels}" if channels is not None else "")
        )
    lines += [f'[[feeds]]\nurl = "{url}"' for url in urls]
    lines += [
        '[alerts]\nretry_schedule = ["0s"]',
        f'[alerts.webhook]\nurl = "{webhook.url}"\nsecret = "{webhook.secret}"',
        f'[alerts.email]\nhost = "127.0.0.1"\nport = {smtp.port}\ntls = "none"\n'
        f'sender = "monitor@example.org"\nrecipients = ["desk@example.org"]\n{email_extra}',
    ]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def outbox(tmp_path: Path) -> set[tuple[str, str]]:
    with sqlite3.connect(tmp_path / "monitor.db") as db:
        rows = db.execute(
            "SELECT h.topic, d.channel FROM deliveries d JOIN hits h ON h.id = d.hit_id"
        ).fetchall()
    db.close()
    return {(topic, channel) for topic, channel in rows}


def test_routes_are_the_running_channels_a_topic_names() -> None:
    topics = [
        TopicConfig("a", Path("."), channels=("email",)),
        TopicConfig("b", Path(".")),
        TopicConfig("c", Path("."), channels=()),
        TopicConfig("d", Path("."), channels=("apprise", "webhook")),
    ]
    routes = topic_routes(topics, ["webhook", "email"])
    assert routes == {"a": ("email",), "c": (), "d": ("webhook",)}
    assert channels_for("a", ["webhook", "email"], routes) == ("email",)
    assert channels_for("b", ["webhook", "email"], routes) == ["webhook", "email"]
    assert channels_for("b", ["webhook"], None) == ["webhook"]


def test_each_topic_alerts_on_its_own_channels(
    tmp_path: Path,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    smtp_server: SmtpServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    urls = serve_items(feed_server, ITEMS)
    config = routed_config(tmp_path, list(urls.values()), webhook_receiver, smtp_server)
    assert cli(config, "once") == 0
    n = len(ON_TOPIC)
    assert outbox(tmp_path) == {
        ("wire", "webhook"),
        ("desk", "email"),
        ("everywhere", "webhook"),
        ("everywhere", "email"),
    }
    hooks = webhook_receiver.wait_for(2 * n)
    mails = smtp_server.wait_for(2 * n)
    time.sleep(0.3)
    assert len(webhook_receiver.received) == 2 * n and len(smtp_server.messages) == 2 * n
    hooked = sorted(r.json["topic"] for r in hooks)
    assert hooked == ["everywhere"] * n + ["wire"] * n
    subjects = [str(m.message["Subject"]).strip() for m in mails]
    assert sum(s.startswith("[monitor:wire]") for s in subjects) == 0
    assert sum(s.startswith("[monitor:desk]") for s in subjects) == n
    assert cli(config, "once") == 0  # nothing queued again, nothing sent twice
    time.sleep(0.3)
    assert len(webhook_receiver.received) == 2 * n and len(smtp_server.messages) == 2 * n
    # `explain` says each topic's hit was alerted (it named the first topic's hit for all
    # three, and said "not alerted" for the other two)
    link = hooks[0].json["link"]
    capsys.readouterr()
    assert cli(config, "explain", link, "--format", "json") == 0
    topics = {t["topic"]: t for t in json.loads(capsys.readouterr().out)["topics"]}
    assert {name: t["alerted"] for name, t in topics.items()} == {
        "wire": True, "desk": True, "everywhere": True,
    }  # fmt: skip
    assert len({t["alerted_as"] for t in topics.values()}) == 3, topics  # each its own hit


def test_the_digest_carries_only_the_topics_routed_to_email(
    tmp_path: Path,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    smtp_server: SmtpServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    urls = serve_items(feed_server, ITEMS)
    config = routed_config(
        tmp_path,
        list(urls.values()),
        webhook_receiver,
        smtp_server,
        desk='["email"]',
        wire='["webhook"]',
        email_extra='mode = "digest"\ndigest_every = "1s"',
    )
    assert cli(config, "once") == 0
    n = len(ON_TOPIC)
    with sqlite3.connect(tmp_path / "monitor.db") as db:
        (first,) = db.execute("SELECT min(detected_at) FROM hits").fetchone()
    db.close()
    due = datetime.fromisoformat(first.replace("Z", "+00:00")).timestamp() + 1.0
    time.sleep(max(0.0, due - time.time() + 0.2))
    assert cli(config, "once") == 0
    (mail,) = smtp_server.wait_for(1)
    text = mail.message.get_body(("plain",)).get_content()
    assert "== desk ==" in text and "== everywhere ==" in text and "== wire ==" not in text
    assert mail.message["Subject"].startswith(f"[monitor] {2 * n} new hits")
    assert len(webhook_receiver.wait_for(2 * n)) == 2 * n
    capsys.readouterr()
    assert cli(config, "deliveries", "--format", "json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 4 * n and {r["status"] for r in rows} == {"delivered"}
    assert cli(config, "once") == 0
    time.sleep(0.3)
    assert len(smtp_server.messages) == 1 and len(webhook_receiver.received) == 2 * n


def test_an_unknown_channel_is_a_config_error_naming_the_valid_ones(
    tmp_path: Path, webhook_receiver: WebhookReceiver, smtp_server: SmtpServer
) -> None:
    config = routed_config(tmp_path, [], webhook_receiver, smtp_server, desk='["mail"]')
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    message = str(caught.value)
    assert message.startswith(f"{config}: [[topics]][2].channels: unknown alert channel")
    assert "valid names: webhook, email" in message and "'mail'" in message
    config.write_text(
        f'[[topics]]\nname = "t"\nseeds = "{SEEDS}"\nchannels = ["webhook"]\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"no \[alerts\] channel is set"):
        load_config(config)
    config.write_text(f'[[topics]]\nname = "t"\nseeds = "{SEEDS}"\nchannels = []\n', "utf-8")
    assert load_config(config).topics[0].channels == ()
