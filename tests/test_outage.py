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
    outage = Outage("claims")
    outage.ok()  # no outage: nothing to say
    assert caplog.records == []
    error = StorageError("db: terminating connection due to administrator command")
    assert [outage.failed(error) for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    levels = [r.levelname for r in caplog.records]
    assert levels == ["ERROR"] + ["WARNING"] * 5
    assert "claims paused: db: terminating connection" in caplog.records[0].getMessage()
    caplog.clear()
    outage.ok()
    [line] = caplog.records
    assert line.levelname == "INFO" and "claims resumed" in line.getMessage()
    assert "after 6 failed attempts" in line.getMessage()
    assert outage.failed(error) == 0.5  # the next outage starts over
