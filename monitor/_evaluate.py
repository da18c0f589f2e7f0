"""Metrics for ``monitor eval`` (pure: no I/O).

Labels follow the TDT convention: ``2`` on topic, ``0`` off topic, ``1`` brief (not scored:
neither a hit nor a miss on it counts). Precision, recall and F1 are over labels 2 and 0;
the normalised detection cost is ``Cnorm = P_miss + 4.9 * P_FA``
(C_miss = 1, C_FA = 0.1, P_target = 0.02).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "C_FA",
    "C_MISS",
    "P_TARGET",
    "Metrics",
    "Report",
    "best_threshold",
    "evaluate",
    "keyword_hit",
    "keyword_query",
    "metrics",
    "metrics_at",
    "pr_curve",
    "report_json",
    "report_table",
]

C_MISS = 1.0
C_FA = 0.1
P_TARGET = 0.02
_FA_FACTOR = C_FA * (1.0 - P_TARGET) / (C_MISS * P_TARGET)  # 4.9

ON_TOPIC = 2
BRIEF = 1
OFF_TOPIC = 0

_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Metrics:
    """Detection figures over scored items (brief items excluded)."""

    threshold: float | None
    tp: int
    fp: int
    fn: int
    tn: int
    precision: float
    recall: float
    f1: float
    p_miss: float
    p_fa: float
    cnorm: float

    @property
    def scored(self) -> int:
        return self.tp + self.fp + self.fn + self.tn


@dataclass(frozen=True, slots=True)
class Report:
    """Everything ``monitor eval`` prints: configured and best threshold, the keyword baseline,
    and precision-recall curve points ``(threshold, precision, recall)``."""

    at_threshold: Metrics
    best: Metrics
    keyword: Metrics
    curve: tuple[tuple[float, float, float], ...]
    keywords: tuple[str, ...] = ()


def metrics(labels: Sequence[int], hits: Sequence[bool], threshold: float | None = None) -> Metrics:
    """Figures for hard decisions ``hits`` against ``labels`` (label 1 items are skipped)."""
    if len(labels) != len(hits):
        raise ValueError("labels and hits differ in length")
    tp = fp = fn = tn = 0
    for label, hit in zip(labels, hits, strict=True):
        if label == BRIEF:
            continue
        positive = label == ON_TOPIC
        if hit and positive:
            tp += 1
        elif hit:
            fp += 1
        elif positive:
            fn += 1
        else:
            tn += 1
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    p_miss = fn / (tp + fn) if tp + fn else 0.0
    p_fa = fp / (fp + tn) if fp + tn else 0.0
    return Metrics(
        threshold=threshold,
        tp=tp,
        fp=fp,
        fn=fn,
        tn=tn,
        precision=precision,
        recall=recall,
        f1=f1,
        p_miss=p_miss,
        p_fa=p_fa,
        cnorm=p_miss + _FA_FACTOR * p_fa,
    )


def metrics_at(labels: Sequence[int], scores: Sequence[float], threshold: float) -> Metrics:
    """Figures when an item is a hit iff its score is at least ``threshold``."""
    return metrics(labels, [s >= threshold for s in scores], threshold)


def _candidates(scores: Iterable[float]) -> list[float]:
    return sorted(set(scores))


def best_threshold(labels: Sequence[int], scores: Sequence[float], *, by: str = "f1") -> Metrics:
    """The threshold (among the observed scores) that maximises F1 (``by="f1"``) or
    minimises Cnorm (``by="cnorm"``); ties go to the higher threshold. One sorted sweep."""
    if by not in ("f1", "cnorm"):
        raise ValueError("by must be 'f1' or 'cnorm'")
    if len(labels) != len(scores):
        raise ValueError("labels and scores differ in length")
    pairs = sorted(
        ((s, label == ON_TOPIC) for s, label in zip(scores, labels, strict=True) if label != BRIEF),
        reverse=True,
    )
    if not pairs:
        return metrics(labels, [False] * len(labels), None)
    positives = sum(1 for _, pos in pairs if pos)
    negatives = len(pairs) - positives
    tp = fp = 0
    best_t: float | None = None
    best_key = -math.inf
    for i, (s, pos) in enumerate(pairs):
        if pos:
            tp += 1
        else:
            fp += 1
        if i + 1 < len(pairs) and pairs[i + 1][0] == s:
            continue  # all items with this score are hits together
        if by == "f1":
            key = 2 * tp / (tp + fp + positives) if positives else 0.0
        else:
            p_miss = (positives - tp) / positives if positives else 0.0
            p_fa = fp / negatives if negatives else 0.0
            key = -(p_miss + _FA_FACTOR * p_fa)
        if key > best_key:
            best_key, best_t = key, s
    assert best_t is not None
    return metrics_at(labels, scores, best_t)


def pr_curve(
    labels: Sequence[int], scores: Sequence[float], *, points: int = 50
) -> tuple[tuple[float, float, float], ...]:
    """Up to ``points`` (threshold, precision, recall) triples, highest threshold first."""
    cands = sorted(_candidates(scores), reverse=True)
    if not cands:
        return ()
    step = max(1, len(cands) // points)
    chosen = cands[::step]
    if chosen[-1] != cands[-1]:
        chosen.append(cands[-1])
    out = []
    for t in chosen:
        m = metrics_at(labels, scores, t)
        out.append((t, m.precision, m.recall))
    return tuple(out)


def keyword_hit(title: str, summary: str, keywords: Sequence[str]) -> bool:
    """The keyword baseline: any of ``keywords`` in the text (case-insensitive, whitespace
    runs as one space)."""
    if not keywords:
        return False
    pattern = "|".join(re.escape(_SPACES.sub(" ", k.strip())) for k in keywords)
    text = _SPACES.sub(" ", f"{title} {summary}".replace("\u00a0", " "))
    return re.search(pattern, text, re.IGNORECASE) is not None


def keyword_query(keywords: Sequence[str]) -> str:
    """The keyword baseline as a user would type it: ``"a" OR "b"``."""
    return " OR ".join(f'"{k}"' for k in keywords) or "(none)"


def evaluate(
    items: Sequence[tuple[int, float, bool]],
    texts: Sequence[tuple[str, str]],
    threshold: float,
    keywords: Sequence[str] = (),
) -> Report:
    """Full report for ``items`` = (label, score, hit) with their (title, summary) ``texts``;
    the keyword baseline alerts on any of ``keywords``."""
    if len(items) != len(texts):
        raise ValueError("items and texts differ in length")
    labels = [label for label, _, _ in items]
    scores = [score for _, score, _ in items]
    hits = [hit for _, _, hit in items]
    return Report(
        at_threshold=metrics(labels, hits, threshold),
        best=best_threshold(labels, scores),
        keyword=metrics(labels, [keyword_hit(t, s, keywords) for t, s in texts], None),
        keywords=tuple(keywords),
        curve=pr_curve(labels, scores, points=400),
    )


def report_json(
    report: Report,
    topic: str,
    counts: dict[int, int],
    unlabelled: int,
    judgements: int | None = None,
) -> dict[str, Any]:
    """``monitor eval --format json``: the report with the item counts by label and the
    number of stored ``judgements`` of the topic applied (None: ``--no-feedback``, 0)."""
    return {
        "topic": topic,
        "items": {
            "on_topic": counts[2],
            "brief": counts[1],
            "off_topic": counts[0],
            "unlabelled": unlabelled,
        },
        "judgements_applied": judgements or 0,
        "configured": asdict(report.at_threshold),
        "best": asdict(report.best),
        "keyword": asdict(report.keyword),
        "keyword_query": keyword_query(report.keywords),
    }


def report_table(
    report: Report,
    topic: str,
    counts: dict[int, int],
    unlabelled: int,
    judgements: int | None = None,
) -> str:
    """``monitor eval``'s table: configured threshold, best threshold, keyword baseline; and
    whether stored ``judgements`` of the topic were applied (None: ``--no-feedback``)."""
    lines = [
        f"topic {topic}: {counts[2]} on topic, {counts[0]} off topic, {counts[1]} brief "
        f"(not scored){f', {unlabelled} unlabelled (stream only)' if unlabelled else ''}",
    ]
    if judgements is None:
        lines.append("stored judgements left out (--no-feedback)")
    elif judgements:
        plural = "s" if judgements != 1 else ""
        lines.append(
            f"{judgements} stored judgement{plural} of {topic} applied (an item judged, or a "
            "near copy, scores as judged; --no-feedback leaves them out)"
        )
    lines += [
        "",
        f"{'':<20} {'threshold':>9} {'precision':>9} {'recall':>7} {'F1':>6} {'Cnorm':>6} "
        f"{'TP':>4} {'FP':>4} {'FN':>4}",
    ]
    rows = (
        ("configured", report.at_threshold),
        ("best threshold (F1)", report.best),
        ("keyword baseline", report.keyword),
    )
    for name, m in rows:
        threshold = "-" if m.threshold is None else f"{m.threshold:.3f}"
        if m is report.at_threshold and m.threshold is not None:
            threshold = repr(m.threshold)  # as the config writes it (0.98266, not 0.983)
        elif m is report.best and m.threshold is not None:
            threshold = _at_most(m.threshold)  # a value to set: it keeps the hits it counts
        lines.append(
            f"{name:<20} {threshold:>9} {m.precision:>9.3f} {m.recall:>7.3f} {m.f1:>6.3f} "
            f"{m.cnorm:>6.3f} {m.tp:>4} {m.fp:>4} {m.fn:>4}"
        )
    lines += ["", "keyword baseline: " + keyword_query(report.keywords)]
    return "\n".join(lines) + "\n"


def _at_most(threshold: float) -> str:
    """``threshold`` rounded down, to 3 decimals or as many as keep it above 0: set as a
    topic's ``threshold``, every item it counts as a hit still is one (0.7346 rounded to
    0.735 would miss the item that set it, 0.99971 to 1.000 is refused as a threshold)."""
    for digits in range(3, 10):
        scale = 10**digits
        text = f"{math.floor(threshold * scale) / scale:.{digits}f}"
        if float(text) > 0:
            return text
    return repr(threshold)
