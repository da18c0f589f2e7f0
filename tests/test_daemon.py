"""`monitor run` as a real process: polls at start, alerts, refuses a second daemon, stops
cleanly on SIGTERM/SIGINT within seconds, and resumes pending alerts on the next start."""

from __future__ import annotations

import asyncio
import logging
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from monitor._config import load_config
from monitor._feedjobs import reload_feeds
from monitor._runtime import open_runtime
from tests.feedserver import FeedServer
from tests.helpers import DATA, TOY_THRESHOLD, load_items, serve_items, write_config
from tests.receivers import WebhookReceiver

ITEMS = load_items(DATA / "clear_items.jsonl")
ON_TOPIC = {i["title"] for i in ITEMS if i["label"] == 2}


def start(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(proc: subprocess.Popen[str], signum: int = signal.SIGTERM) -> tuple[int, str, float]:
    began = time.monotonic()
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=15)
    return proc.returncode, err, time.monotonic() - began


def test_daemon_polls_alerts_and_stops_cleanly(
    tmp_path: Path,
    feed_server: FeedServer,
    webhook_receiver: WebhookReceiver,
) -> None:
    urls = serve_items(feed_server, ITEMS)
    config = write_config(
        tmp_path,
        list(urls.values()),
        webhook=webhook_receiver,
        # 30 quick retries: the first run must not exhaust them on a loaded machine
        extra="[alerts]\nretry_schedule = [" + ", ".join(['"1s"'] * 30) + "]",
        threshold=TOY_THRESHOLD,
    )
    webhook_receiver.refuse()  # alerts wait in the outbox
    proc = start(config)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(
            feed_server.count(u.rsplit("/", 1)[1] and "/" + u.rsplit("/", 1)[1]) == 0
            for u in urls.values()
        ):
            time.sleep(0.1)
        assert all(feed_server.count("/" + u.rsplit("/", 1)[1]) == 1 for u in urls.values())
        second = subprocess.run(
            [sys.executable, "-m", "monitor", "--config", str(config), "once"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 1
        assert "already running" in second.stderr and "Traceback" not in second.stderr
    finally:
        code, err, took = stop(proc)
    assert code == 0, err
    assert took < 5
    assert "Traceback" not in err
    assert "status=ok" in err  # one structured line per feed per poll
    assert webhook_receiver.received == []

    webhook_receiver.accept()
    proc = start(config)  # feeds are not due again; pending alerts resume
    try:
        received = webhook_receiver.wait_for(len(ON_TOPIC), timeout=20)
    finally:
        code, err, took = stop(proc, signal.SIGINT)
    assert code == 0 and took < 5, err
    assert {r.json["title"] for r in received} == ON_TOPIC
    assert all(feed_server.count("/" + u.rsplit("/", 1)[1]) == 1 for u in urls.values())


def test_stopping_with_a_poll_in_flight_logs_no_error(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """The README: polls in flight at a stop are abandoned (their feed's state was not
    advanced, so the next start fetches the same items). That is a normal stop, not an error:
    no ERROR line for log-based alerting to trip on at every restart."""
    feed_server.add_behaviour("/hang", "hold", body=b"<rss/>", delay=60.0)
    config = write_config(tmp_path, [feed_server.url("/hang")])
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--log-format", "json", "--config", str(config), "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and feed_server.count("/hang") == 0:
            time.sleep(0.05)
        assert feed_server.count("/hang") == 1
    finally:
        code, err, took = stop(proc)
    assert code == 0 and took < 5, err
    assert '"stopping: 1 polls in flight"' in err, err
    errors = [line for line in err.splitlines() if '"level":"error"' in line.replace(" ", "")]
    assert errors == [], errors


def test_sighup_says_when_the_seed_files_changed_or_cannot_be_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """SIGHUP reloads only feeds. An edited seed file (same folder, so the config is the same)
    takes effect at the next restart: the log must say so, and say before that restart
    when the seeds no longer read."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "1.txt").write_text("Military chiefs meet in Paris on a Ukraine force.")
    config_path = tmp_path / "config.toml"
    config_path.write_text(
        f'[monitor]\ndatabase = "monitor.db"\n[[topics]]\nname = "t"\nseeds = "{seeds}"\n'
    )

    async def hup_three_times() -> None:
        async with open_runtime(load_config(config_path)) as rt:
            assert reload_feeds(rt)  # nothing changed: nothing to say
            (seeds / "2.txt").write_text("Coalition of the willing plans a Ukraine force.")
            assert reload_feeds(rt)
            (seeds / "3.txt").write_bytes(b"\x00\x01 binary")
            assert reload_feeds(rt)

    caplog.set_level(logging.INFO, logger="monitor")
    asyncio.run(hup_three_times())
    said = [r.getMessage() for r in caplog.records if "seed files" in r.getMessage()]
    assert len(said) == 2, said
    assert "topic t: its seed files changed: takes effect at the next restart" in said[0]
    assert "topic t: its seed files cannot be read" in said[1] and "3.txt" in said[1]
    assert "the next restart would fail" in said[1]


def test_sighup_names_the_keys_that_wait_for_a_restart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """[monitor] interval (and the adaptive bounds) reach the feeds at once; other changed
    keys wait for a restart, and the log names them, not "settings"."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "1.txt").write_text("Military chiefs meet in Paris on a Ukraine force.")
    config_path = tmp_path / "config.toml"
    text = (
        '[monitor]\ndatabase = "monitor.db"\ninterval = "5m"\n'
        f'[[topics]]\nname = "t"\nseeds = "{seeds}"\n'
    )
    config_path.write_text(text)

    async def hup() -> float:
        async with open_runtime(load_config(config_path)) as rt:
            config_path.write_text(
                text.replace('interval = "5m"', 'interval = "15m"\nkeep_items = "30d"')
            )
            assert reload_feeds(rt)
            return rt.config.settings.interval

    caplog.set_level(logging.INFO, logger="monitor")
    assert asyncio.run(hup()) == 900.0
    said = [r.getMessage() for r in caplog.records if "next restart" in r.getMessage()]
    assert len(said) == 1 and "[monitor] keep_items" in said[0], said
    assert "[monitor] interval" not in said[0] and "settings" not in said[0], said


def test_sighup_names_the_changed_keys_of_topics_and_alerts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The README says SIGHUP names the changed keys that wait for a restart: it named tables
    ("[[topics]], [alerts.webhook] changed"). It names the keys, a topic by its name."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "1.txt").write_text("Military chiefs meet in Paris on a Ukraine force.")
    config_path = tmp_path / "config.toml"
    text = (
        '[monitor]\ndatabase = "monitor.db"\n'
        f'[[topics]]\nname = "a"\nseeds = "{seeds}"\n'
        f'[[topics]]\nname = "b"\nseeds = "{seeds}"\nthreshold = 0.5\n'
        '[alerts.webhook]\nurl = "http://127.0.0.1:9/hook"\ntimeout = "10s"\n'
    )
    config_path.write_text(text)
    edited = (
        text.replace("threshold = 0.5", "threshold = 0.6")
        .replace('timeout = "10s"', 'timeout = "20s"')
        .replace("[alerts.webhook]", f'[[topics]]\nname = "c"\nseeds = "{seeds}"\n[alerts.webhook]')
    )

    async def hup() -> None:
        async with open_runtime(load_config(config_path)) as rt:
            config_path.write_text(edited)
            assert reload_feeds(rt)

    caplog.set_level(logging.INFO, logger="monitor")
    asyncio.run(hup())
    said = [r.getMessage() for r in caplog.records if "next restart" in r.getMessage()]
    assert len(said) == 1, said
    named = said[0].split("SIGHUP: ")[1].split(": takes effect")[0]
    assert (
        named == "[[topics]] 'b'.threshold, [alerts.webhook] timeout changed; [[topics]] 'c' added"
    )


def test_sighup_names_a_removed_topic_by_its_name_not_the_last_position(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Deleting the first of three topics was logged as "[[topics]][1].name, [[topics]][1].seeds,
    [[topics]][2].name, [[topics]][2].threshold, [[topics]][3] removed changed": the third one
    said removed, the others changed, and "removed changed". Topics have unique names: they
    are compared by name, and the sentence says what changed and what was removed apart."""
    folders = {}
    for name in ("paris", "second", "third"):
        folders[name] = tmp_path / name
        folders[name].mkdir()
        (folders[name] / "1.txt").write_text(f"Military chiefs meet in Paris: {name} story.")
    config_path = tmp_path / "config.toml"
    tables = {
        name: f'[[topics]]\nname = "{name}"\nseeds = "{folders[name]}"\nthreshold = {t}\n'
        for name, t in (("paris", 0.5), ("second", 0.6), ("third", 0.7))
    }
    text = '[monitor]\ndatabase = "monitor.db"\n' + "".join(tables.values())
    config_path.write_text(text)

    async def hup(edited: str) -> None:
        async with open_runtime(load_config(config_path)) as rt:
            config_path.write_text(edited)
            assert reload_feeds(rt)
        config_path.write_text(text)

    caplog.set_level(logging.INFO, logger="monitor")
    asyncio.run(hup(text.replace(tables["paris"], "")))
    third = tables["third"].replace("0.7", "0.75")
    asyncio.run(hup(text.replace(tables["paris"], "").replace(tables["third"], third)))
    said = [r.getMessage() for r in caplog.records if "next restart" in r.getMessage()]
    assert len(said) == 2, said
    named = [line.split("SIGHUP: ")[1].split(": takes effect")[0] for line in said]
    assert named == [
        "[[topics]] 'paris' removed",
        "[[topics]] 'third'.threshold changed; [[topics]] 'paris' removed",
    ], said


def test_sighup_refuses_a_database_in_a_missing_folder(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A reload naming `database = "nodir/m.db"` was taken ("database changed: takes effect at
    the next restart", "reloaded"), and that restart failed on it. As at start, a missing
    folder is a config error: logged, the running config stays, nothing is reloaded."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "1.txt").write_text("Military chiefs meet in Paris on a Ukraine force.")
    config_path = tmp_path / "config.toml"
    text = f'[monitor]\ndatabase = "monitor.db"\n[[topics]]\nname = "a"\nseeds = "{seeds}"\n'
    config_path.write_text(text)
    feed = '[[feeds]]\nurl = "http://127.0.0.1:9/a.xml"\n'

    async def hup() -> None:
        async with open_runtime(load_config(config_path)) as rt:
            config_path.write_text(text.replace("monitor.db", "nodir/m.db") + feed)
            assert not reload_feeds(rt)
            assert rt.config.feeds == ()  # the running config stays: the feed is not taken

    caplog.set_level(logging.INFO, logger="monitor")
    asyncio.run(hup())
    said = [r.getMessage() for r in caplog.records if "SIGHUP" in r.getMessage()]
    folder = tmp_path.resolve() / "nodir"
    assert len(said) == 1 and "config not reloaded, the running one stays" in said[0], said
    assert f"monitor.database: the folder {folder} does not exist" in said[0], said


def test_ctrl_c_while_the_command_loads_ends_it_without_a_traceback(tmp_path: Path) -> None:
    """A Ctrl-C in the first tenths of a second (the CLI's modules loading) printed a traceback
    of the imports; later it gives a one-line exit. Interrupted at several moments of the
    start, the command never prints a traceback."""
    config = write_config(tmp_path, [])
    for delay in (0.06, 0.1, 0.15, 0.2, 0.3):  # loading takes ~0.25 s, the interpreter 0.01
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(config), "feeds"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert "Traceback" not in err, (delay, err)
