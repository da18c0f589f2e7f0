"""The pure deciders: backoff, Retry-After, start-up due-ness, retry schedule, dedup."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor._decide import (
    SAVE_BUDGET,
    STATE_SAVE_MAX,
    backoff,
    is_due,
    may_poll,
    next_retry,
    retry_until,
    state_save_due,
    state_save_wait,
)
from monitor._dedup import sort_entries
from monitor._models import Entry
from monitor._storage import FeedState

NOW = datetime(2025, 3, 11, 12, 0, tzinfo=UTC)


def state(**kw: object) -> FeedState:
    base: dict[str, object] = dict(
        id=1,
        url="u",
        fetch_url="u",
        name="n",
        etag=None,
        last_modified=None,
        body_hash=None,
        last_polled=None,
        last_status=None,
        error_count=0,
        retry_until=None,
    )
    base.update(kw)
    return FeedState(**base)  # type: ignore[arg-type]


def test_backoff_grows_and_is_capped() -> None:
    assert backoff(0) == 0
    assert [backoff(n) for n in (1, 2, 3)] == [60, 120, 240]
    assert backoff(50) == 6 * 3600


def test_retry_after_wins_when_longer() -> None:
    assert retry_until(NOW, 1, 3600) == NOW + timedelta(hours=1)
    assert retry_until(NOW, 3, 10) == NOW + timedelta(minutes=4)


def test_may_poll_respects_waits_and_gone() -> None:
    assert may_poll(state(), NOW)
    assert not may_poll(state(retry_until=NOW + timedelta(seconds=1)), NOW)
    assert may_poll(state(retry_until=NOW), NOW)
    assert not may_poll(state(last_status="gone"), NOW)


def test_is_due_at_startup() -> None:
    assert is_due(state(), NOW, 600)
    assert not is_due(state(last_polled=NOW - timedelta(minutes=5)), NOW, 600)
    assert is_due(state(last_polled=NOW - timedelta(minutes=10)), NOW, 600)


def test_next_retry_follows_schedule_then_gives_up() -> None:
    schedule = (5.0, 300.0)
    assert next_retry(NOW, 1, schedule) == NOW + timedelta(seconds=5)
    assert next_retry(NOW, 2, schedule) == NOW + timedelta(minutes=5)
    assert next_retry(NOW, 3, schedule) is None


def entry(key: str, fp: str, minute: int = 0) -> Entry:
    return Entry(key, "t", "s", "http://x/" + key, NOW + timedelta(minutes=minute), fp)


def test_sort_entries() -> None:
    entries = [
        entry("a", "A", 3),
        entry("b", "B2", 2),
        entry("c", "C", 1),
        entry("d", "A"),
        entry("a", "A"),
        entry("e", "E", 0),
        entry("f", "E"),
    ]
    known = {"b": ("old title", "s"), "c": ("t", "s")}
    result = sort_entries(entries, known=known, known_prints={"B", "C"})
    assert [e.key for e in result.new] == ["e", "a"]  # oldest first
    assert [e.key for e in result.duplicates] == ["d", "f"]  # same story, other link
    assert [e.key for e in result.edited] == ["b"]  # known key, new text: never alerts


def test_state_save_waits_longer_when_a_save_is_costly() -> None:
    """A state save that takes more than its budget of the daemon's time pushes the next one
    back in proportion, up to an hour; a cheap one keeps the base interval."""
    assert state_save_wait(0.05, 300.0) == 300.0
    assert state_save_wait(0.0, 300.0) == 300.0
    assert state_save_wait(2.0, 300.0) == pytest.approx(2.0 / SAVE_BUDGET)
    assert state_save_wait(3600.0 * SAVE_BUDGET, 300.0) == pytest.approx(3600.0)
    assert state_save_wait(60.0, 300.0) == STATE_SAVE_MAX
    assert state_save_wait(60.0, 7200.0) == 7200.0  # never shorter than the base interval


def test_a_cheap_state_save_runs_at_every_interval() -> None:
    """The periodic job runs every ``interval`` (its runs a hair early or late): a cheap save
    is due at each run, a costly one at the first run past its wait."""
    assert state_save_due(None, 5.0, 300.0)
    assert state_save_due((1000.0, 0.05), 1299.99, 300.0)
    assert state_save_due((1000.0, 0.05), 1300.01, 300.0)
    costly = (1000.0, 1.1)  # waits 1,100 s: the run at +1,200 s is the nearest
    assert not state_save_due(costly, 1899.99, 300.0)
    assert state_save_due(costly, 2199.99, 300.0)
