"""Metrics for ``monitor eval``: hand-checked small cases."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from monitor._config import load_config
from monitor._evaluate import (
    best_threshold,
    evaluate,
    keyword_hit,
    metrics,
    metrics_at,
    pr_curve,
    report_table,
)
from tests.helpers import write_config


def test_metrics_count_and_ratios() -> None:
    labels = [2, 2, 2, 2, 0, 0, 0, 0, 0, 0]
    hits = [True, True, True, False, True, False, False, False, False, False]
    m = metrics(labels, hits, 0.5)
    assert (m.tp, m.fp, m.fn, m.tn) == (3, 1, 1, 5)
    assert m.precision == pytest.approx(0.75)
    assert m.recall == pytest.approx(0.75)
    assert m.f1 == pytest.approx(0.75)
    assert m.p_miss == pytest.approx(0.25)
    assert m.p_fa == pytest.approx(1 / 6)
    assert m.cnorm == pytest.approx(0.25 + 4.9 / 6)
    assert m.threshold == 0.5
    assert m.scored == 10


def test_brief_items_are_not_scored() -> None:
    with_briefs = metrics([2, 1, 1, 0], [True, True, False, False])
    without = metrics([2, 0], [True, False])
    assert with_briefs == without
    assert with_briefs.scored == 2


def test_metrics_without_positives_or_hits_are_zero_not_errors() -> None:
    m = metrics([0, 0, 1], [False, False, True])
    assert (m.precision, m.recall, m.f1, m.p_miss, m.p_fa, m.cnorm) == (0, 0, 0, 0, 0, 0)
    never = metrics([2, 0], [False, False])
    assert never.cnorm == pytest.approx(1.0)  # saying no to everything costs 1.0


def test_lengths_must_match() -> None:
    with pytest.raises(ValueError, match="length"):
        metrics([2, 0], [True])
    with pytest.raises(ValueError, match="length"):
        best_threshold([2, 0], [0.3])


def test_metrics_at_threshold_is_inclusive() -> None:
    m = metrics_at([2, 0], [0.5, 0.49], 0.5)
    assert (m.tp, m.fp) == (1, 0)


def test_best_threshold_maximises_f1_and_minimises_cnorm() -> None:
    labels = [2, 2, 0, 2, 0, 0, 1]
    scores = [0.9, 0.8, 0.7, 0.6, 0.3, 0.1, 0.95]
    best = best_threshold(labels, scores)
    assert best.threshold == pytest.approx(0.6)
    assert best.f1 == pytest.approx(2 * 3 / (3 + 1 + 3))
    by_cost = best_threshold(labels, scores, by="cnorm")
    # A false alarm among 3 negatives costs 4.9 / 3; missing 1 of 3 positives costs 1 / 3.
    assert by_cost.threshold == pytest.approx(0.8)
    assert by_cost.cnorm == pytest.approx(1 / 3)
    only_sure = best_threshold([2, 0, 0, 0, 0], [0.9, 0.5, 0.4, 0.3, 0.2], by="cnorm")
    assert only_sure.threshold == pytest.approx(0.9)
    assert only_sure.cnorm == 0.0
    with pytest.raises(ValueError, match="by"):
        best_threshold(labels, scores, by="auc")


def test_best_threshold_ties_go_to_the_higher_threshold() -> None:
    best = best_threshold([2, 0, 2], [0.9, 0.5, 0.5])
    # 0.9 gives F1 2/3; 0.5 gives P 2/3, R 1 -> F1 0.8.
    assert best.threshold == pytest.approx(0.5)
    assert best_threshold([2, 0], [0.9, 0.9]).threshold == pytest.approx(0.9)


def test_best_threshold_without_scored_items() -> None:
    m = best_threshold([1, 1], [0.2, 0.3])
    assert m.threshold is None
    assert m.scored == 0


def test_pr_curve_runs_from_high_to_low_threshold() -> None:
    labels = [2, 0, 2, 0, 0]
    scores = [0.9, 0.8, 0.7, 0.2, 0.1]
    curve = pr_curve(labels, scores)
    thresholds = [t for t, _, _ in curve]
    assert thresholds == sorted(thresholds, reverse=True)
    assert curve[0] == (0.9, 1.0, 0.5)
    assert curve[-1][2] == 1.0
    recalls = [r for _, _, r in curve]
    assert recalls == sorted(recalls)
    assert pr_curve([], []) == ()
    assert len(pr_curve([0] * 500, [i / 500 for i in range(500)], points=20)) <= 21


@pytest.mark.parametrize(
    ("title", "summary", "expected"),
    [
        ("Leaders join the Coalition of the Willing", "", True),
        ("", "Ministers arrive for PARIS TALKS on aid", True),
        ("Coalition\u00a0of the  willing", "", True),
        ("Coalition talks in Berlin", "A willing partner", False),
        ("Talks in Paris", "", False),
    ],
)
def test_keyword_baseline(title: str, summary: str, expected: bool) -> None:
    keywords = ("coalition of the willing", "paris  talks")
    assert keyword_hit(title, summary, keywords) is expected
    assert keyword_hit(title, summary, ()) is False  # no keywords, no alert


def test_evaluate_puts_model_and_baseline_side_by_side() -> None:
    items = [(2, 0.9, True), (2, 0.4, False), (0, 0.6, True), (1, 0.8, True), (0, 0.1, False)]
    texts = [
        ("Coalition of the willing meets", ""),
        ("Peacekeepers for Ukraine", ""),
        ("Paris talks on trade", ""),
        ("Brief mention", ""),
        ("Weather", ""),
    ]
    report = evaluate(items, texts, 0.5, ("coalition of the willing", "paris talks"))
    assert (report.at_threshold.tp, report.at_threshold.fp, report.at_threshold.fn) == (1, 1, 1)
    assert report.best.f1 >= report.at_threshold.f1
    assert (report.keyword.tp, report.keyword.fp, report.keyword.fn) == (1, 1, 1)
    assert report.curve
    assert all(0.0 <= p <= 1.0 and 0.0 <= r <= 1.0 for _, p, r in report.curve)
    assert not math.isnan(report.best.cnorm)
    with pytest.raises(ValueError, match="length"):
        evaluate(items, texts[:2], 0.5, ())


def test_the_configured_threshold_is_printed_as_written() -> None:
    """``threshold = 0.98266`` read "configured 0.983" in ``monitor eval`` while ``topic
    check`` printed 0.98266: the configured threshold is printed as the config writes it."""
    items = [(2, 0.99, True), (0, 0.5, False)]
    report = evaluate(items, [("a", ""), ("b", "")], 0.98266, ("a",))
    table = report_table(report, "t", {0: 1, 1: 0, 2: 1}, 0)
    (row,) = [line for line in table.splitlines() if line.startswith("configured")]
    assert row.split()[1] == "0.98266", row
    report = evaluate(items, [("a", ""), ("b", "")], 0.5, ("a",))
    (row,) = [
        line
        for line in report_table(report, "t", {0: 1, 1: 0, 2: 1}, 0).splitlines()
        if line.startswith("configured")
    ]
    assert row.split()[1] == "0.5", row


@pytest.mark.parametrize(
    ("best", "shown"), [(0.99971, "0.999"), (0.7346, "0.734"), (0.5, "0.500"), (0.0002, "0.0002")]
)
def test_the_best_threshold_is_printed_as_a_threshold_that_keeps_its_hits(
    best: float, shown: str, tmp_path: Path
) -> None:
    """Printed rounded, 0.99971 read "1.000", which `threshold` refuses, and 0.7346 read
    0.735, which would miss the item that set it: it is printed rounded down, never to 0."""
    items = [(2, best, True), (0, best / 2, False)]
    report = evaluate(items, [("a", ""), ("b", "")], 0.5, ("a",))
    assert report.best.threshold == best
    table = report_table(report, "t", {0: 1, 1: 0, 2: 1}, 0)
    (row,) = [line for line in table.splitlines() if line.startswith("best threshold")]
    assert row.split()[3] == shown, row
    config = write_config(tmp_path, [], threshold=float(shown))  # the value loads
    assert load_config(config).topics[0].threshold == float(shown) <= best
