"""`/metrics` and `/healthz` scraped from a real `monitor run` process on 127.0.0.1, and the
JSON log format of that process."""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from monitor._config import load_config
from monitor._errors import ConfigError
from tests.feedserver import FeedServer
from tests.helpers import (
    DATA,
    cli,
    load_items,
    serve_items,
    start_daemon,
    stop_daemon,
    write_config,
)
from tests.receivers import WebhookReceiver

ITEMS = load_items(DATA / "clear_items.jsonl")
ON_TOPIC = {i["title"] for i in ITEMS if i["label"] == 2}

needs_prometheus = pytest.mark.skipif(
    importlib.util.find_spec("prometheus_client") is None,
    reason="prometheus-client is not installed (pip install -e '.[test]' installs it)",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    from prometheus_client.parser import text_string_to_metric_families

    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


@needs_prometheus
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_daemon_serves_metrics_and_health(
    tmp_path: Path,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
    backend: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    urls = serve_items(feed_server, ITEMS)
    port = free_port()
    feeds = [*urls.values(), feed_server.url("/missing.xml")]
    if backend == "sqlite":
        config = write_config(
            tmp_path, feeds, webhook=webhook_receiver, monitor=f'metrics = "127.0.0.1:{port}"'
        )
    else:  # the database gauges read PostgreSQL (the daemon's environment names it)
        from tests.test_postgres_cycle import pg_config

        monkeypatch.setenv("MONITOR_E2E_DSN", request.getfixturevalue("pg_schema_dsn"))
        config = pg_config(
            tmp_path, feeds, webhook_receiver, monitor=f'metrics = "127.0.0.1:{port}"'
        )
    base = f"http://127.0.0.1:{port}"
    proc = start_daemon(config, "--log-format", "json")
    try:
        webhook_receiver.wait_for(len(ON_TOPIC), timeout=30)
        deadline = time.monotonic() + 20
        while True:  # the three polls are counted when their tasks end
            try:
                status, text = get(base + "/metrics")
                got = samples(text)
                if got.get(("monitor_poll_duration_seconds_count", ()), 0) >= 3:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "no metrics for the three polls"
            time.sleep(0.2)
        status, text = get(base + "/metrics")
        assert status == 200
        got = samples(text)
        assert got[("monitor_polls_total", (("status", "ok"),))] == 2
        assert got[("monitor_polls_total", (("status", "error"),))] == 1
        assert got[("monitor_items_total", ())] == len(ITEMS)
        assert got[("monitor_hits_total", ())] == len(ON_TOPIC)
        assert got[("monitor_poll_duration_seconds_count", ())] == 3
        assert abs(got[("monitor_last_success_timestamp_seconds", ())] - time.time()) < 60
        # the outbox, read at the scrape: delivered by now (the deliverer records it after
        # the receiver answered, so wait for the record)
        deadline = time.monotonic() + 10
        while got.get(("monitor_outbox_backlog", ()), 1) != 0 and time.monotonic() < deadline:
            time.sleep(0.2)
            got = samples(get(base + "/metrics")[1])
        assert got[("monitor_alerts", (("channel", "webhook"), ("status", "delivered")))] == 5
        assert got[("monitor_outbox_backlog", ())] == 0
        assert got[("monitor_delivery_latency_seconds_count", ())] == 5
        le_60 = got[("monitor_delivery_latency_seconds_bucket", (("le", "60.0"),))]
        assert le_60 == 5  # loopback: delivered within seconds of detection
        assert 0 < got[("monitor_delivery_latency_seconds_sum", ())] < 5 * 60
        assert got[("monitor_feeds", (("state", "failing"),))] == 1
        assert got[("monitor_feeds", (("state", "active"),))] == 3
        assert webhook_receiver.secret not in text
        assert got[("process_resident_memory_bytes", ())] > 0

        status, body = get(base + "/healthz")
        health = json.loads(body)
        assert status == 200 and health["status"] == "ok"
        assert health["last_success"] == pytest.approx(time.time(), abs=60)
        assert get(base + "/other")[0] == 404
        # uptime checkers and load balancers ask with HEAD: the status, no body
        head = urllib.request.Request(base + "/healthz", method="HEAD")
        with urllib.request.urlopen(head, timeout=5) as response:
            assert response.status == 200 and response.read() == b""
            assert response.headers["Content-Type"] == "application/json"
    finally:
        err = stop_daemon(proc)
    assert proc.returncode == 0, err
    lines = [json.loads(line) for line in err.splitlines()]  # every line is one JSON object
    assert {"time", "level", "logger", "message"} <= set(lines[0])
    assert any(line["message"].startswith("poll feed=") for line in lines)
    assert any("metrics at http://127.0.0.1:" in line["message"] for line in lines)
    assert webhook_receiver.secret not in err
    with pytest.raises(OSError):  # the endpoint closed with the daemon
        get(base + "/healthz")


@pytest.mark.parametrize(
    "value", ['"9464"', '"host:"', '"127.0.0.1:99999"', "9464", '"127.0.0.1:\u00b2"']
)
def test_metrics_address_is_checked(tmp_path: Path, value: str) -> None:
    config = write_config(tmp_path, [], monitor=f"metrics = {value}")
    with pytest.raises(ConfigError, match=r"config\.toml: monitor\.metrics: expected an address"):
        load_config(config)


def test_metrics_address_forms(tmp_path: Path) -> None:
    for value, expected in (("127.0.0.1:9464", ("127.0.0.1", 9464)), ("[::1]:1", ("::1", 1))):
        config = write_config(tmp_path, [], monitor=f'metrics = "{value}"')
        assert load_config(config).settings.metrics == expected
    assert load_config(write_config(tmp_path, [])).settings.metrics is None


@needs_prometheus
def test_metrics_address_in_use_is_a_one_line_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = write_config(tmp_path, [], monitor=f'metrics = "127.0.0.1:{port}"')
        proc = subprocess.run(
            [sys.executable, "-m", "monitor", "--config", str(config), "run"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert proc.returncode == 1
    assert f"monitor.metrics: cannot listen on 127.0.0.1:{port}" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_event_loop_lag_is_how_late_the_loop_runs_not_the_time_since_a_beat() -> None:
    from monitor._exporter import HEARTBEAT_SECONDS, loop_lag

    assert loop_lag(0.9 * HEARTBEAT_SECONDS, 0.0) == 0.0  # idle, between two beats
    assert loop_lag(0.5, 0.25) == 0.25  # the last beat woke a quarter second late
    assert loop_lag(HEARTBEAT_SECONDS + 4.0, 0.0) == 4.0  # the next beat is 4 s overdue


def test_the_last_success_survives_a_restart(tmp_path: Path, feed_server: FeedServer) -> None:
    """`monitor_last_success_timestamp_seconds` read 0 (and /healthz `last_success` null) after
    every restart until the first poll, a whole interval later: the README's staleness alert
    fired on every deploy."""
    urls = serve_items(feed_server, ITEMS[:2])
    port = free_port()
    config = write_config(tmp_path, list(urls.values()), monitor=f'metrics = "127.0.0.1:{port}"')
    assert cli(config, "once") == 0
    polled = time.time()
    proc = start_daemon(config)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                got = samples(get(f"http://127.0.0.1:{port}/metrics")[1])
                health = json.loads(get(f"http://127.0.0.1:{port}/healthz")[1])
                break
            except OSError:
                assert time.monotonic() < deadline, "no metrics"
                time.sleep(0.2)
        last = got[("monitor_last_success_timestamp_seconds", ())]
        assert last == pytest.approx(polled, abs=30), last  # not 0: the stored time
        assert health["last_success"] == pytest.approx(polled, abs=30)
        assert feed_server.count(urlsplit(next(iter(urls.values()))).path) == 1  # not polled
    finally:
        stop_daemon(proc)
