"""A claimed feed's next due moment (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor._lease import JITTER_CAP, jitter_seconds, next_due

NOW = datetime(2025, 3, 11, 12, 0, 30, tzinfo=UTC)
DUE = datetime(2025, 3, 11, 12, 0, tzinfo=UTC)


def test_the_next_poll_keeps_the_feeds_rhythm_not_the_claims_lateness() -> None:
    assert next_due(DUE, NOW, 600) == DUE + timedelta(minutes=10)


def test_a_feed_that_waited_more_than_an_interval_is_due_an_interval_from_now() -> None:
    assert next_due(DUE - timedelta(hours=1), NOW, 600) == NOW + timedelta(minutes=10)
    assert next_due(None, NOW, 600) == NOW + timedelta(minutes=10)


def test_a_poll_that_started_late_is_not_followed_by_another_within_half_an_interval() -> None:
    """A feed due at 12:00 (interval 10 min) whose poll ended only at 12:08 (a busy worker)
    would be due again at 12:10, two minutes later: it is due an interval from now instead."""
    late = DUE + timedelta(minutes=8)
    assert next_due(DUE, late, 600) == late + timedelta(minutes=10)
    on_time = DUE + timedelta(minutes=4)  # the rhythm's slot is 6 minutes away: kept
    assert next_due(DUE, on_time, 600) == DUE + timedelta(minutes=10)


def test_jitter_is_a_drawn_fraction_of_the_interval_capped() -> None:
    assert jitter_seconds(600, 0.1, 0.5) == 30
    assert jitter_seconds(86400, 0.1, 1.0) == JITTER_CAP
    assert next_due(DUE, NOW, 600, 30) == DUE + timedelta(minutes=10, seconds=30)
