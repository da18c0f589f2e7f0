"""The backoff of loops that meet a database that is away (``_outage``): waits double from
0.5 s to 5 s, one ERROR line when the outage starts, one INFO line when it ends, and a new
outage starts again from the first wait."""

from __future__ import annotations

import logging

import pytest

from monitor._errors import StorageError
from monitor._outage import Outage


def test_waits_double_up_to_the_cap_and_the_log_says_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="monitor._outage")
    now = [1000.0]
    outage = Outage("claims", clock=lambda: now[0])
    outage.ok()  # no outage: nothing to say
    assert caplog.records == []
    error = StorageError("db: terminating connection due to administrator command")
    waits = []
    for _ in range(6):
        waits.append(outage.failed(error))
        now[0] += waits[-1]
    assert waits == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    # one ERROR when it starts; the retries in the first minute say nothing at INFO
    assert [r.levelname for r in caplog.records] == ["ERROR"]
    assert "claims paused: db: terminating connection" in caplog.records[0].getMessage()
    for _ in range(24):  # two minutes more, an attempt every 5 s: a WARNING each minute
        outage.failed(error)
        now[0] += 5.0
    reminders = [r.getMessage() for r in caplog.records[1:]]
    assert len(reminders) == 2 and all("claims still paused after" in m for m in reminders)
    caplog.clear()
    outage.ok()
    [line] = caplog.records
    assert line.levelname == "INFO" and "claims resumed" in line.getMessage()
    assert "after 30 failed attempts" in line.getMessage()
    assert outage.failed(error) == 0.5  # the next outage starts over


def test_a_database_server_that_never_answers_fails_the_call_instead_of_freezing() -> None:
    """A partition or a dead host: the TCP connection opens (or hangs) and nothing comes
    back. The worker must get an error it logs, not wait on the kernel for ever."""
    import socket
    import time

    pytest.importorskip("psycopg")
    from monitor._storage._pg_base import NETWORK_DEFAULTS, conninfo
    from monitor._storage._postgres import PostgresStorage

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts (the kernel does), never speaks
    port = silent.getsockname()[1]
    try:
        started = time.monotonic()
        with pytest.raises(StorageError, match="cannot use the database"):
            PostgresStorage(f"postgresql://monitor@127.0.0.1:{port}/monitor")
        waited = time.monotonic() - started
    finally:
        silent.close()
    assert waited < 3 * float(NETWORK_DEFAULTS["connect_timeout"]), waited
    # a DSN's own setting wins over the defaults
    assert "connect_timeout=3" in conninfo("postgresql://h/db?connect_timeout=3")
    assert "connect_timeout=10" in conninfo("postgresql://h/db")
