"""Email digests on PostgreSQL: one message per slot for every pending hit, whichever worker
gets there first, never one per worker; a refused digest goes again whole. Real PostgreSQL
(``.ci/run`` starts one) and a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.feedserver import FeedServer
from tests.helpers import DATA, TOY_THRESHOLD, cli, load_items, serve_items, write_config
from tests.receivers import SmtpServer

ITEMS = load_items(DATA / "clear_items.jsonl")
ON_TOPIC = {i["title"] for i in ITEMS if i["label"] == 2}


def pg_digest_config(tmp_path: Path, urls: list[str], smtp: SmtpServer, retry: str) -> Path:
    path = write_config(
        tmp_path,
        urls,
        threshold=TOY_THRESHOLD,
        extra=(
            f'[alerts]\nretry_schedule = {retry}\n[alerts.email]\nhost = "127.0.0.1"\n'
            f'port = {smtp.port}\ntls = "none"\nsender = "monitor@example.org"\n'
            'recipients = ["desk@example.org"]\nmode = "digest"\ndigest_every = "1s"'
        ),
    )
    text = path.read_text().replace('database = "monitor.db"', 'database_env = "MONITOR_E2E_DSN"')
    path.write_text(text)
    return path


def test_two_workers_at_the_slot_send_one_digest(
    tmp_path: Path,
    pg_schema_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
    feed_server: FeedServer,
    smtp_server: SmtpServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Digests were refused on PostgreSQL at start. Two workers reach the slot together (the
    first still waiting for the server's answer): one message carries every hit."""
    monkeypatch.setenv("MONITOR_E2E_DSN", pg_schema_dsn)
    urls = serve_items(feed_server, ITEMS)
    config = pg_digest_config(tmp_path, list(urls.values()), smtp_server, '["0s"]')
    assert cli(config, "once") == 0  # the hits are stored; their slot is a second away
    assert smtp_server.messages == []
    time.sleep(1.2)
    smtp_server.hold_answers(2)
    workers = [_worker(config, "once") for _ in range(2)]
    for worker in workers:
        _, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err
    smtp_server.hold_answers(0)
    (mail,) = smtp_server.wait_for(1)
    time.sleep(0.5)
    assert len(smtp_server.messages) == 1
    text = mail.message.get_body(("plain",)).get_content()
    assert all(title in text for title in ON_TOPIC)
    capsys.readouterr()
    assert cli(config, "deliveries", "--format", "json") == 0
    assert {r["status"] for r in json.loads(capsys.readouterr().out)} == {"delivered"}


def test_a_refused_digest_goes_again_whole_on_postgresql(
    tmp_path: Path,
    pg_schema_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
    feed_server: FeedServer,
    smtp_server: SmtpServer,
) -> None:
    monkeypatch.setenv("MONITOR_E2E_DSN", pg_schema_dsn)
    urls = serve_items(feed_server, ITEMS)
    config = pg_digest_config(tmp_path, list(urls.values()), smtp_server, '["1s", "1h"]')
    assert cli(config, "once") == 0
    time.sleep(1.2)
    smtp_server.reject_next(1, code=451)
    assert cli(config, "once") == 0  # refused: again in a second
    assert smtp_server.messages == []
    time.sleep(1.2)
    assert cli(config, "once") == 0
    (mail,) = smtp_server.wait_for(1)
    text = mail.message.get_body(("plain",)).get_content()
    assert all(title in text for title in ON_TOPIC)


def test_migrate_db_carries_the_digests_sent(
    tmp_path: Path,
    pg_schema_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
    feed_server: FeedServer,
    smtp_server: SmtpServer,
) -> None:
    """The next digest's slot counts from the last one sent: after the move it still does."""
    from monitor._storage import Storage
    from monitor._storage._postgres import PostgresStorage

    monkeypatch.setenv("MONITOR_E2E_DSN", pg_schema_dsn)
    urls = serve_items(feed_server, ITEMS)
    pg = pg_digest_config(tmp_path, list(urls.values()), smtp_server, '["0s"]')
    lite = pg.with_name("lite.toml")
    lite.write_text(pg.read_text().replace('database_env = "MONITOR_E2E_DSN"', 'database = "m.db"'))
    assert cli(lite, "once") == 0
    time.sleep(1.2)
    assert cli(lite, "once") == 0
    smtp_server.wait_for(1)
    assert cli(lite, "migrate-db", "--to-env", "MONITOR_E2E_DSN") == 0
    sqlite, postgres = Storage(tmp_path / "m.db", readonly=True), PostgresStorage(pg_schema_dsn)
    assert postgres.last_digest() == sqlite.last_digest() is not None
    sqlite.close()
    postgres.close()


def test_a_worker_that_loses_its_session_mid_send_is_not_doubled(
    tmp_path: Path,
    pg_schema_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
    feed_server: FeedServer,
    smtp_server: SmtpServer,
) -> None:
    """The server ends a worker's session while its digest is with the mail server (a
    database restart): the lock went with the session, the rows were due, and a second worker
    sent the digest again at once. The sender records it once the database is back."""
    import psycopg

    monkeypatch.setenv("MONITOR_E2E_DSN", pg_schema_dsn)
    urls = serve_items(feed_server, ITEMS)
    config = pg_digest_config(tmp_path, list(urls.values()), smtp_server, '["0s"]')
    assert cli(config, "once") == 0
    time.sleep(1.2)
    smtp_server.hold_answers(3)
    first = _worker(config, "run")
    try:
        smtp_server.wait_for(1, timeout=30)  # kept, not yet answered
        with psycopg.connect(pg_schema_dsn, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE pid <> pg_backend_pid() AND datname = current_database()"
            )
        assert cli(config, "once") == 0  # a second worker, at the same moment
        time.sleep(4)  # the first one's answer, and its record once reconnected
        assert len(smtp_server.messages) == 1
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            rows = _deliveries(config)
            if {r["status"] for r in rows} == {"delivered"}:
                break
            time.sleep(0.5)
        assert {r["status"] for r in rows} == {"delivered"}, rows
    finally:
        first.terminate()
        first.communicate(timeout=30)
    assert len(smtp_server.messages) == 1


def _worker(config: Path, command: str) -> subprocess.Popen[str]:
    """A `monitor` process of its own (a worker), with this test's environment (the DSN)."""
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), command],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _deliveries(config: Path) -> list[dict[str, object]]:
    out = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), "deliveries",
         "--format", "json"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    rows: list[dict[str, object]] = json.loads(out.stdout)
    return rows
