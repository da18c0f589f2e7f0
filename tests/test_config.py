"""Config loading: valid files load; every mistake names the file, the key and the expectation."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor._config import DEFAULT_RETRY_SCHEDULE, load_config
from monitor._errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "seeds").mkdir(exist_ok=True)
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    return message


def test_shipped_config_loads() -> None:
    config = load_config(ROOT / "config.toml")
    assert 10 <= len(config.feeds) <= 20
    assert all(f.url.startswith("https://") for f in config.feeds)
    assert config.topics[0].seeds == (ROOT / "seeds").resolve()
    assert config.settings.database == (ROOT / "monitor.db").resolve()


def test_defaults_and_relative_paths(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[[feeds]]\nurl = "http://127.0.0.1:1/a.xml"\n'))
    assert config.settings.database == (tmp_path / "monitor.db").resolve()
    assert config.settings.interval == 600
    assert config.feeds[0].interval == 600
    assert config.feeds[0].name == "127.0.0.1:1/a.xml"
    assert [t.name for t in config.topics] == ["default"]
    assert config.retry_schedule == DEFAULT_RETRY_SCHEDULE
    assert config.webhook is None and config.email is None
    assert config.settings.outbox_poll == 5.0


def test_outbox_poll_is_a_duration(tmp_path: Path) -> None:
    text = '[monitor]\noutbox_poll = "1h"\n'
    assert load_config(write(tmp_path, text)).settings.outbox_poll == 3600.0


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ('interval = "10000000d"', "monitor.interval: at most 36500d (100 years), got '10000000d'"),
        ("interval = 1e300", "monitor.interval: at most 36500d (100 years)"),
        ("interval = inf", "monitor.interval: at most 36500d (100 years)"),
        ("interval = nan", "monitor.interval: expected a duration"),
        ('keep_items = "99999999w"', "monitor.keep_items: at most 36500d (100 years)"),
    ],
)
def test_a_duration_beyond_any_date_is_refused(tmp_path: Path, line: str, says: str) -> None:
    """An interval of 10,000,000 days was accepted, then the scheduler's date overflowed and
    `monitor run` crashed at every start."""
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, f"[monitor]\n{line}\n"))
    assert says in str(err.value), str(err.value)


def test_full_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "hunter2")
    (tmp_path / "hook.secret").write_text("whsec_c2VjcmV0\n")
    config = load_config(
        write(
            tmp_path,
            """
[monitor]
database = "data/m.db"
interval = "5m"
max_size_mib = 2
[[topics]]
name = "t"
seeds = "seeds"
threshold = 0.3
phrases = ["a b"]
exclude = ["c"]
[[feeds]]
url = "https://example.org/feed"
name = "Example"
interval = "1h"
[alerts]
retry_schedule = ["1s", "2m"]
[alerts.webhook]
url = "https://hooks.example.org/x"
secret_file = "hook.secret"
[alerts.email]
host = "localhost"
tls = "none"
sender = "m@example.org"
recipients = ["a@example.org"]
username = "u"
password_env = "TEST_SMTP_PASSWORD"
""",
        )
    )
    assert config.settings.max_bytes == 2 * 2**20
    assert config.feeds[0].interval == 3600
    assert config.topics[0].threshold == 0.3
    assert config.topics[0].phrases == ("a b",)
    assert config.retry_schedule == (1.0, 120.0)
    assert config.webhook is not None and config.webhook.secret == "whsec_c2VjcmV0"
    assert config.email is not None and config.email.port == 25
    assert config.email.password == "hunter2"
    assert "hunter2" not in repr(config) and "c2VjcmV0" not in repr(config)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[monitor]\nintervl = '5m'\n", "monitor.intervl: unknown key"),
        ("[monitor]\ninterval = 'soon'\n", "monitor.interval: expected a duration"),
        ("[monitor]\ninterval = 5\nconcurrency = 0\n", "monitor.concurrency: expected a positive"),
        ("[monitor]\nstory_window = '0s'\n", "monitor.story_window: must be at least 1s"),
        ("[monitor]\noutbox_poll = 'often'\n", "monitor.outbox_poll: expected a duration"),
        ("[[feeds]]\nurl = 'ftp://x/y'\n", "[[feeds]][1].url: expected an http(s) URL"),
        ("[[feeds]]\nname = 'x'\n", "[[feeds]][1].url: missing"),
        (  # an impossible port loaded, and failed only when polled ("Invalid port")
            "[[feeds]]\nurl = 'http://127.0.0.1:8801:80/d.xml'\n",
            "[[feeds]][1].url: expected an http(s) URL whose port is a number from 1 to 65535",
        ),
        ("[[feeds]]\nurl = 'http://127.0.0.1:99999/d.xml'\n", "[[feeds]][1].url: expected an"),
        ("[[feeds]]\nurl = 'http://a/b'\n[[feeds]]\nurl = 'http://a/b'\n", "listed twice"),
        ("[[topics]]\nname = 't'\nseeds = 'nope'\n", "[[topics]][1].seeds: expected a folder"),
        ("[[topics]]\nname = 't'\nthreshold = 2\n", "[[topics]][1].threshold: expected a number"),
        (
            "[[topics]]\nname = 't'\nthreshold = 1.0\n",
            "threshold: expected a number above 0 and below 1",
        ),
        ("[[topics]]\nname = 't'\nphrases = 'x'\n", "[[topics]][1].phrases: expected a list"),
        ("[alerts]\nretry_schedule = ['5s', 'x']\n", "alerts.retry_schedule: expected a list"),
        (
            "[alerts.webhook]\nurl = 'http://h/x'\nsecret_env = 'NO_SUCH_VAR_FOR_TEST'\n",
            "alerts.webhook.secret_env: the environment variable NO_SUCH_VAR_FOR_TEST is not set",
        ),
        (
            "[alerts.email]\nhost = 'h'\nsender = 'a@b'\nrecipients = ['x@y']\ntls = 'yes'\n",
            "alerts.email.tls: expected",
        ),
        (
            "[alerts.email]\nhost = 'h'\nsender = 'a@b'\nrecipients = ['x@y']\npassword = 'p'\n",
            "alerts.email.password: put the secret in the environment",
        ),
        (
            "[alerts.email]\nhost = 'h'\nsender = 'a@b'\nrecipients = ['x@y\\nBcc: z@q']\n",
            "alerts.email.recipients: expected a plain email address",
        ),
        (  # an empty host only failed at every send, as a name lookup error
            "[alerts.email]\nhost = ' '\nsender = 'a@b'\nrecipients = ['x@y']\n",
            "alerts.email.host: expected an SMTP host name",
        ),
        (  # a password without a user name was never used
            "[alerts.email]\nhost = 'h'\nsender = 'a@b'\nrecipients = ['x@y']\n"
            "password_file = 'pw'\n",
            "alerts.email.password_file: a password needs username",
        ),
        (  # ... and a user name without a password logged in with an empty one
            "[alerts.email]\nhost = 'h'\nsender = 'a@b'\nrecipients = ['x@y']\nusername = 'u'\n",
            "alerts.email.username: needs password_env or password_file",
        ),
        (  # a misspelt key lists the keys the table has, read or not
            "[alerts]\nretry_shedule = ['1m']\n",
            "unknown key (known keys here: apprise, email, feed_health, retry_schedule, webhook)",
        ),
        (  # ... and not a key that is always refused
            "[alerts.email]\nhost = 'h'\nsender = 'a@b'\nrecipients = ['x@y']\nport_ = 25\n",
            "known keys here: digest_at, digest_every, host, mode, password_env, password_file,",
        ),
        (  # an unclosed IPv6 bracket: a traceback on every command
            "[[feeds]]\nurl = 'http://u:pw@[::1/x'\n",
            "[[feeds]][1].url: expected an http(s) URL",
        ),
        (  # a blank user name
            "[alerts.email]\nhost = 'h'\nsender = 'a@b'\nrecipients = ['x@y']\n"
            "username = '  '\npassword_env = 'X'\n",
            "alerts.email.username: expected a user name",
        ),
        (  # an inline password beside password_env: the inline one is what is wrong
            "[alerts.email]\nhost = 'h'\nsender = 'a@b'\nrecipients = ['x@y']\n"
            "username = 'u'\npassword = 'x'\npassword_env = 'X'\n",
            "alerts.email.password: put the secret in the environment",
        ),
        (  # a required key missing because it is misspelt
            "[alerts.email]\nhots = 'h'\nsender = 'a@b'\nrecipients = ['x@y']\n",
            "alerts.email.host: missing; expected an SMTP host name (is 'hots' a misspelling",
        ),
        (
            "[alerts.email]\nhost = 'h'\nsender = 'a@b'\nrecipents = ['x@y']\n",
            "at least one email address (is 'recipents' a misspelling of 'recipients'?)",
        ),
        ("[alerts.apprise]\nulrs = ['json://x']\n", "(is 'ulrs' a misspelling of 'urls'?)"),
        (  # the closest known key, not the first one close enough
            "[alerts.apprise]\nurls_evn = 'X'\n",
            "(is 'urls_evn' a misspelling of 'urls_env'?)",
        ),
        (  # a user name whose password key is misspelt: the hint, not only "needs"
            "[alerts.email]\nhost = 'h'\nsender = 'a@b'\nrecipients = ['x@y']\n"
            "username = 'u'\npassword_evn = 'P'\n",
            "(is 'password_evn' a misspelling of 'password_env'?)",
        ),
        (  # ... and the other way round
            "[alerts.email]\nhost = 'h'\nsender = 'a@b'\nrecipients = ['x@y']\n"
            "usernme = 'u'\npassword_env = 'P'\n",
            "(is 'usernme' a misspelling of 'username'?)",
        ),
        (  # a key in capitals
            "[alerts.email]\nhost = 'h'\nsender = 'a@b'\nrecipients = ['x@y']\n"
            "username = 'u'\nPASSWORD_ENV = 'P'\n",
            "(is 'PASSWORD_ENV' a misspelling of 'password_env'?)",
        ),
        ("[monitor\n", "not valid TOML"),
        ("feeds = 3\n", "feeds: expected an array"),
    ],
)
def test_errors_name_file_key_and_expectation(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in error_of(tmp_path, text)


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match=r"bad\.toml: cannot read config"):
        load_config(bad)


def test_secret_value_never_in_error(tmp_path: Path) -> None:
    message = error_of(
        tmp_path,
        "[alerts.email]\nhost = 'h'\nsender = 'a@b'\nrecipients = ['x@y']\n"
        "password = 'topsecret-value'\n",
    )
    assert "topsecret-value" not in message


def test_malformed_webhook_secret_is_a_config_error(tmp_path: Path) -> None:
    message = error_of(tmp_path, "[alerts.webhook]\nurl = 'http://h/x'\nsecret = 'whsec_%%%'\n")
    assert "alerts.webhook.secret: expected 'whsec_<base64>'" in message
    assert "%%%" not in message


def test_webhook_secret_without_whsec_prefix_is_refused(tmp_path: Path) -> None:
    """Standard Webhooks libraries base64-decode any secret: a plain string used as raw bytes
    here could never be verified by a receiver using one. Refused, naming the key."""
    message = error_of(tmp_path, "[alerts.webhook]\nurl = 'http://h/x'\nsecret = 'plain-secret'\n")
    assert "alerts.webhook.secret: expected 'whsec_<base64>'" in message
    assert "must start with 'whsec_'" in message and "plain-secret" not in message


@pytest.mark.parametrize("content", [b"", b"\n", b"whsec_notbase64!!\n", b"\xff\xfe binary"])
def test_a_bad_secret_file_is_named_with_the_key_the_user_wrote(
    tmp_path: Path, content: bytes
) -> None:
    (tmp_path / "hook.secret").write_bytes(content)
    message = error_of(
        tmp_path, "[alerts.webhook]\nurl = 'http://h/x'\nsecret_file = 'hook.secret'\n"
    )
    assert "alerts.webhook.secret_file:" in message, message
    assert str(tmp_path / "hook.secret") in message, message
    assert "notbase64" not in message


def test_an_empty_password_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "smtp.secret").write_text("\n", encoding="utf-8")
    message = error_of(
        tmp_path,
        "[alerts.email]\nhost = 'h'\nsender = 'a@b'\nrecipients = ['x@y']\n"
        "username = 'u'\npassword_file = 'smtp.secret'\n",
    )
    assert "alerts.email.password_file:" in message and "is empty" in message, message
