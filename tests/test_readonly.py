"""Commands that send nothing work without the alert secrets in the environment; the ones
that send (`once`, `run`) still refuse, naming the key and the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.feedserver import FeedServer, rss
from tests.helpers import cli, write_config


def test_read_only_commands_need_no_secrets(
    tmp_path: Path,
    feed_server: FeedServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("MONITOR_TEST_HOOK_SECRET", "MONITOR_TEST_SMTP", "MONITOR_TEST_APPRISE"):
        monkeypatch.delenv(name, raising=False)
    feed_server.add("/f.xml", rss([{"title": "Hello", "link": "https://e/1"}]))
    config = write_config(
        tmp_path,
        [feed_server.url("/f.xml")],
        extra=(
            '[alerts.webhook]\nurl = "http://127.0.0.1:9/hook"\n'
            'secret_env = "MONITOR_TEST_HOOK_SECRET"\n'
            '[alerts.email]\nhost = "127.0.0.1"\nsender = "a@b.c"\nrecipients = ["d@e.f"]\n'
            'username = "u"\npassword_env = "MONITOR_TEST_SMTP"\n'
            '[alerts.apprise]\nurls_env = "MONITOR_TEST_APPRISE"'
        ),
    )
    capsys.readouterr()
    assert cli(config, "once") == 2
    err = capsys.readouterr().err
    assert "alerts.webhook.secret_env" in err and "MONITOR_TEST_HOOK_SECRET is not set" in err
    assert not (tmp_path / "monitor.db").exists()

    assert cli(config, "feeds", "add", feed_server.url("/g.xml")) == 0  # creates the database
    with_alerts = config.read_text(encoding="utf-8")
    write_config(tmp_path, [feed_server.url("/f.xml")])  # the same database, no alerts
    assert cli(config, "once") == 0  # stores item 1, for `explain`
    config.write_text(with_alerts, encoding="utf-8")
    for command in (
        ["explain", "1"],
        ["topic", "check", "paris-coalition"],
        ["hits"],
        ["feeds"],
        ["deliveries"],
        ["search", "hello"],
        ["atom"],
        ["opml", "export"],
        ["feedback", "--list"],
        ["datasette-metadata"],
    ):
        capsys.readouterr()
        assert cli(config, *command) == 0, (command, capsys.readouterr().err)
