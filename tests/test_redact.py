"""Credentials in URLs go nowhere but the request (issue 11): a feed URL's user:password and
``?token=`` and a webhook URL's token are redacted in logs, `monitor feeds`/`hits`/
`deliveries`, alert payloads, `last_error` and the database's disabled-channel record."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.feedserver import FeedServer, rss
from tests.helpers import DATA, load_items, write_config
from tests.receivers import WebhookReceiver

ITEMS = load_items(DATA / "clear_items.jsonl")
ON = [i for i in ITEMS if i["label"] == 2]


def _monitor(config: Path, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return proc.stdout + proc.stderr


def test_credentials_in_urls_are_redacted_everywhere_shown(
    tmp_path: Path, feed_server: FeedServer, webhook_receiver: WebhookReceiver
) -> None:
    entries = [
        {"title": i["title"], "summary": i["summary"], "link": f"https://n.example/{n}"}
        for n, i in enumerate(ON)
    ]
    feed_server.add("/good?token=feed-tok", rss(entries))  # routes include the query
    feed_server.add_behaviour("/bad?api_key=bad-key", "status", status=500)
    feed_server.add_redirect("/moved", "http://who:redir-pass@127.0.0.1:9/x?token=redir-tok")
    base = f"127.0.0.1:{feed_server.port}"
    urls = [
        f"http://alice:feed-pass@{base}/good?token=feed-tok",
        f"http://bob:bad-pass@{base}/bad?api_key=bad-key",
        f"http://carol:moved-pass@{base}/moved",
    ]
    hook = webhook_receiver.url + "?token=hook-tok"
    config = write_config(tmp_path, urls)
    config.write_text(config.read_text() + f"[alerts.webhook]\nurl = '{hook}'\n")
    webhook_receiver.respond_with(410)
    out = _monitor(config, "--log-level", "debug", "once")
    out += _monitor(config, "--log-level", "debug", "once")
    for args in (("feeds", "--format", "json"), ("feeds",), ("hits", "--format", "json"),
                 ("deliveries", "--format", "csv")):  # fmt: skip
        out += _monitor(config, *args)
    out += "\n".join(r.body.decode() for r in webhook_receiver.received)
    with sqlite3.connect(tmp_path / "monitor.db") as db:
        stored = [
            *db.execute("SELECT name, title, last_error, warning FROM feeds"),
            *db.execute("SELECT * FROM channels"),
            *db.execute("SELECT last_error FROM deliveries"),
        ]
    db.close()
    out += "\n".join(map(str, stored))
    assert "feed_url" in out and "HTTP 500" in out and webhook_receiver.received  # all ran
    for secret in ("feed-pass", "feed-tok", "bad-pass", "bad-key", "moved-pass",
                   "redir-pass", "redir-tok", "hook-tok"):  # fmt: skip
        assert secret not in out, secret


def test_a_mistyped_scheme_still_hides_the_password(tmp_path: Path) -> None:
    """`htp://user:pw@…` in the config is refused: the refusal quoted the URL with its
    password (user-info was redacted for http(s) URLs only)."""
    for url in ("htp://user:SECRETPW@hooks.example.org/x", "ftp://u:SECRETPW@h.example/?token=T1"):
        config = write_config(
            tmp_path, [], extra=f'[alerts.webhook]\nurl = "{url}"\nsecret_env = "S"'
        )
        out = _monitor(config, "once")
        assert "expected an http(s) URL" in out, out
        assert "SECRETPW" not in out and "T1" not in out, out


def test_user_info_is_hidden_in_urls_mistyped_any_way() -> None:
    """`http:/user:pw@host`, `http//…`, `//user:pw@…` and a bare `user:pw@host/feed`
    reach the error that refuses them; the password must not."""
    from monitor._redact import redact_text

    for url in (
        "http:/user:s3cret@host/feed",
        "http//user:s3cret@host/feed",
        "http:user:s3cret@host/feed",
        "https;//user:s3cret@host/feed",
        "//user:s3cret@host/feed",
        "user:s3cret@host/feed",
    ):
        shown = redact_text(f"expected an http(s) URL, got {url!r}")
        assert "s3cret" not in shown and "host/feed" in shown, shown
    kept = "mail desk@example.org at 12:30; see https://example.org/a?b=c"
    assert redact_text(kept) == kept  # an address, a time, a plain URL: left alone


def test_the_punctuation_after_a_redacted_secret_stays_in_a_message() -> None:
    """A message listing redacted URLs lost the comma between them and the parenthesis after
    the last: the secret's value ran to the next space. A secret with dots or commas inside
    (a JWT, a list) is still hidden whole."""
    from monitor._redact import redact_text

    listed = "https://x.example/feed?token=AAA, https://x.example/feed?token=BBB"
    assert redact_text(f"two feeds ({listed}): name one") == (
        "two feeds (https://x.example/feed?token=***, https://x.example/feed?token=***): name one"
    )
    assert redact_text("at https://x.example/f?token=eyJ.eyJ.c2ln.") == (
        "at https://x.example/f?token=***."
    )
    assert redact_text("see https://x.example/f?key=a,b,c) now") == (
        "see https://x.example/f?key=***) now"
    )


def test_secret_parameters_are_known_by_the_words_in_their_names() -> None:
    """Only exact names were hidden (`token`, `key`, …): GitLab's private feeds' `feed_token`,
    a private tracker's `passkey` or `torrent_pass`, `X-Api-Key`, `sessionid` were shown in
    listings, webhooks and logs. A name made of a secret word (snake, kebab or camel case) is
    hidden; other words that merely contain one are not."""
    from monitor._redact import redact_text, redact_url

    for name in (
        "feed_token", "api_token", "private_token", "api-key", "X-Api-Key", "passkey",
        "rsskey", "authkey", "torrent_pass", "sessionid", "hash", "key_id", "accessToken",
        "token", "key", "apikey", "apiKey", "sig", "session", "code", "client_secret",
    ):  # fmt: skip
        shown = redact_url(f"https://x.example/feed?a=1&{name}=S3CR3T&b=2")
        assert shown == f"https://x.example/feed?a=1&{name}=***&b=2", (name, shown)
        assert "S3CR3T" not in redact_text(f"feed url='https://x.example/f?{name}=S3CR3T': x")
    for name in ("keyword", "monkey", "page", "format", "lang", "category", "passage"):
        url = f"https://x.example/feed?{name}=ukraine"
        assert redact_url(url) == url, name
