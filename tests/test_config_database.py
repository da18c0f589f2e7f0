"""[monitor] database: a SQLite file, or PostgreSQL by URL (database) or from the environment
(database_env); a password never in the file. Errors name file, key and expectation."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from monitor._config import load_config
from monitor._errors import ConfigError
from tests.helpers import cli

FEED = '[[feeds]]\nurl = "http://127.0.0.1:1/a.xml"\n'


def write(tmp_path: Path, monitor: str) -> Path:
    (tmp_path / "seeds").mkdir(exist_ok=True)
    path = tmp_path / "config.toml"
    path.write_text(f"[monitor]\n{monitor}\n{FEED}", encoding="utf-8")
    return path


def error_of(tmp_path: Path, monitor: str) -> str:
    path = write(tmp_path, monitor)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: monitor."), message
    return message


def test_a_file_is_sqlite(tmp_path: Path) -> None:
    settings = load_config(write(tmp_path, 'database = "data/m.db"')).settings
    assert settings.dsn is None and settings.database == (tmp_path / "data/m.db").resolve()


def test_a_path_under_the_home_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``~`` is the home folder, as in a shell (it was a folder named "~" beside the config)."""
    home = tmp_path / "home"
    (home / "news" / "seeds").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    path = tmp_path / "config.toml"
    path.write_text(
        '[monitor]\ndatabase = "~/news/m.db"\n[[topics]]\nname = "t"\nseeds = "~/news/seeds"\n'
        + FEED,
        encoding="utf-8",
    )
    config = load_config(path)
    assert config.settings.database == home / "news" / "m.db"
    assert config.topics[0].seeds == home / "news" / "seeds"


def test_a_path_under_another_users_home_that_does_not_exist_is_a_config_error(
    tmp_path: Path,
) -> None:
    """``~name`` is name's home folder; for a user who does not exist it raised "Could not
    determine home directory" as a traceback, for every command."""
    user = "~no-such-user-here-4711"
    message = error_of(tmp_path, f'database = "{user}/m.db"')
    assert f"monitor.database: no user {user[1:]!r} for {user}/m.db" in message, message
    path = tmp_path / "config.toml"
    (tmp_path / "seeds").mkdir(exist_ok=True)
    for table, key in (
        (f'[[topics]]\nname = "t"\nseeds = "{user}/seeds"', "[[topics]][1].seeds"),
        (
            f'[alerts.webhook]\nurl = "http://127.0.0.1:9/h"\nsecret_file = "{user}/s"',
            "alerts.webhook.secret_file",
        ),
    ):
        path.write_text(f"{table}\n{FEED}", encoding="utf-8")
        with pytest.raises(ConfigError, match=re.escape(f"{key}: no user")):
            load_config(path)
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(path), "once"],  # reads secrets
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr


def test_a_postgresql_url_without_password(tmp_path: Path) -> None:
    url = "postgresql://monitor@db.example.org/monitor"
    assert load_config(write(tmp_path, f'database = "{url}"')).settings.dsn == url


def test_a_url_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql://monitor:secret@db.example.org/monitor"
    monkeypatch.setenv("MONITOR_DSN", url)
    config = load_config(write(tmp_path, 'database_env = "MONITOR_DSN"'))
    assert config.settings.dsn == url


def test_database_errors_name_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    message = error_of(tmp_path, 'database = "postgresql://u:hunter2@db/monitor"')
    assert "monitor.database: a password never goes in the config" in message
    assert "hunter2" not in message
    monkeypatch.delenv("NO_SUCH_DSN", raising=False)
    assert "monitor.database_env: the environment variable NO_SUCH_DSN is not set" in error_of(
        tmp_path, 'database_env = "NO_SUCH_DSN"'
    )
    monkeypatch.setenv("NOT_A_URL", "/var/lib/monitor.db")
    assert "expected NOT_A_URL to hold a postgresql:// URL" in error_of(
        tmp_path, 'database_env = "NOT_A_URL"'
    )
    assert "give only one of database, database_env" in error_of(
        tmp_path, 'database = "m.db"\ndatabase_env = "X"'
    )
    assert "monitor.database: expected a file path" in error_of(tmp_path, "database = 3")


def test_without_psycopg_a_postgresql_database_is_one_clear_error(tmp_path: Path) -> None:
    path = write(tmp_path, 'database = "postgresql://monitor@127.0.0.1:1/monitor"')
    code = (
        "import sys; sys.modules['psycopg'] = None\n"  # as if monitor[postgres] were absent
        "from monitor._cli import main\n"
        f"sys.exit(main(['--config', {str(path)!r}, 'hits']))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 1
    assert "psycopg is not installed" in out.stderr and "install monitor[postgres]" in out.stderr
    assert "Traceback" not in out.stderr


def test_a_lease_must_outlast_one_poll_on_postgresql(tmp_path: Path) -> None:
    url = 'database = "postgresql://monitor@db/monitor"'
    assert load_config(write(tmp_path, url)).settings.lease == 120.0  # default: 2 minutes
    assert load_config(write(tmp_path, f'{url}\nlease = "5m"')).settings.lease == 300.0
    message = error_of(tmp_path, f'{url}\nlease = "50s"')  # deadline 30 s + parse 30 s
    assert "monitor.lease: expected a duration longer than deadline + parse_timeout" in message
    # SQLite has no leases: the key is not checked against the fetch deadline there
    assert load_config(write(tmp_path, 'lease = "50s"')).settings.lease == 50.0


def test_a_database_in_a_missing_folder_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`database = "data/m.db"` without a `data` folder: the first command that writes made
    the folder (a mistyped path started a new, empty database elsewhere, unnoticed). It is a
    config error naming the file, the key and the folder; nothing is made."""
    path = write(tmp_path, 'database = "data/m.db"')
    (tmp_path / "seeds" / "a.txt").write_text("Military chiefs meet in Paris on a Ukraine force")
    for args in (["once"], ["feeds", "add", "http://127.0.0.1:1/b.xml"]):
        capsys.readouterr()
        assert cli(path, *args) == 2, args
        err = capsys.readouterr().err
        folder = tmp_path.resolve() / "data"
        assert f"{path}: monitor.database: the folder {folder} does not exist" in err, err
    assert not (tmp_path / "data").exists()


WRITERS = (["once"], ["feeds", "add", "http://127.0.0.1:1/b.xml"])


def test_a_database_under_a_file_says_it_is_not_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`database = "afile/m.db"` with `afile` a regular file said "the folder …/afile does not
    exist": it exists, as a file. The error says it is not a folder, as deeper down too."""
    (tmp_path / "afile").write_text("not a folder")
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "a.txt").write_text("Military chiefs meet in Paris on a Ukraine force")
    for database in ("afile/m.db", "afile/sub/m.db"):
        path = write(tmp_path, f'database = "{database}"')
        for args in (*WRITERS, ["feeds"]):
            capsys.readouterr()
            assert cli(path, *args) == 2, args
            err = capsys.readouterr().err
            afile = tmp_path.resolve() / "afile"
            assert f"{path}: monitor.database: {afile} is a file, not a folder" in err, err
            assert "does not exist" not in err, err
    assert (tmp_path / "afile").read_text() == "not a folder"


@pytest.mark.parametrize("database", ["seeds", "./"])
def test_a_database_that_is_a_folder_is_a_config_error(
    tmp_path: Path, database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`database = "seeds"` (a folder) or `"./"`: `once` and `run` exited 1 with "cannot use
    the database: Is a directory", `monitor feeds` said "disk I/O error". Each command that
    writes or reads it says, as a config error, that a file path is expected."""
    path = write(tmp_path, f'database = "{database}"')
    (tmp_path / "seeds" / "a.txt").write_text("Military chiefs meet in Paris on a Ukraine force")
    folder = (tmp_path / database).resolve()
    for args in (*WRITERS, ["feeds"], ["hits"]):
        capsys.readouterr()
        assert cli(path, *args) == 2, args
        err = capsys.readouterr().err
        assert f"{path}: monitor.database: {folder} is a folder; expected a file path" in err, err
    assert sorted(p.name for p in (tmp_path / "seeds").iterdir()) == ["a.txt"]


REPORTS = (
    ["feeds"],
    ["hits"],
    ["deliveries"],
    ["search", "paris"],
    ["atom"],
    ["explain", "hit_0"],
    ["feedback", "--list"],
    ["topic", "check", "default"],
)


@pytest.mark.parametrize("args", REPORTS, ids=lambda args: " ".join(args))
def test_a_report_on_a_database_in_a_missing_folder_says_so(
    tmp_path: Path, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """The reports said "…/nodir/m.db: no database yet; run `monitor once` or `monitor run`
    first" (`topic check`: "backtest: no database yet"), and `monitor once` then gave the
    config error. A report gives that config error itself."""
    path = write(tmp_path, 'database = "nodir/m.db"')
    (tmp_path / "seeds" / "a.txt").write_text("Military chiefs meet in Paris on a Ukraine force")
    assert cli(path, *args) == 2
    out, err = capsys.readouterr()
    folder = tmp_path.resolve() / "nodir"
    assert f"{path}: monitor.database: the folder {folder} does not exist" in err, err
    assert "no database yet" not in out + err
    assert not folder.exists()
