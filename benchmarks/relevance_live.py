"""Relevance in live arrival order and across topics: the number relevance is tuned on.

    python benchmarks/relevance_live.py [--set name=value ...] [--topics a,b] [--loto]

Needs ../shared/eval beside the repository (skips with a message otherwise).

For every topic of ``_reldata`` the seeds-only tracker is run over the dev stream the way
``monitor classify`` runs it (batch by batch: every item of a batch judged, then learnt from),
once in publication order and in eight simulated live orders (a daemon starting on 1, 6, 11
or 16 March with a 48-hour backlog, hourly polls, feeds in a random order, two orders each;
see ``_reldata``). Decisions are taken at the tracker's default threshold; labels are used
only to count. Printed per topic: publication-order F1 and Cnorm, the live runs' mean F1,
worst F1 and mean Cnorm; then the means over topics. A live run counts for a topic only when
it sees at least ``MIN_ON_TOPIC`` of the topic's items (a start after a story's days sees
none, and F1 over two items is noise).

``--loto`` runs leave-one-topic-out over ``GRID`` (the defaults and one step either side of
the settings that matter most): for each topic group (the two seedings of the shipped topic
are one group: they share labels), the setting with the best mean live F1 on the *other*
groups is chosen and reported on the held-out group.
``--set`` overrides a ``Params`` field for the whole run (experiments). ``--headlines`` adds
the item-seeded topics seeded by their titles alone (four pasted headlines).

``--feedback K`` simulates a user of ``monitor feedback`` who judges the first K alerts as they
arrive (by their labels; "brief" items are left unjudged) and the tracker takes each batch's
new judgements before the next poll, as the daemon does within 30 s.

``--ceiling`` is a diagnostic, not a figure of the product: it runs the tracker again with its
adaptation told the labels, to show how much better admission alone could do. ``admit``: exactly
the labelled on-topic items enter the adaptation pool, whatever their score; ``veto``: the
tracker's own rule, except that no labelled off-topic item gets in.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _reldata
from _reldata import Batch, Topic

from monitor._classify import batch_moment
from monitor._evaluate import Metrics, best_threshold, metrics
from monitor._models import Tokens
from monitor._relevance import Params, Tracker, tokenise

# Leave-one-topic-out candidates: the defaults and one step either side of the settings that
# shape the seed profile, the adaptation's admission and the stream channel's weight (and the
# facets off).
GRID: list[tuple[str, ...]] = [
    (),
    ("core_power=2",),
    ("min_share=0.6",),
    ("title_weight=3",),
    ("adapt_z=3.8",),
    ("adapt_z=4.6",),
    ("adapt_weight=1.0",),
    ("adapt_weight=2.5",),
    ("adapt_floor=6",),
    ("adapt_floor=24",),
    ("near_weight=1.0",),
    ("context_weight=0.1",),
    ("idf_prior=50",),
    ("adapt_after=0",),
    ("adapt_after=100",),
    ("z_mid=3.6",),
    ("z_mid=4.4",),
    ("semantic_weight=0",),
    ("semantic_weight=1",),
    ("semantic_weight=2",),
    ("adapt_sem_z=0.5",),
    ("adapt_sem_z=1.5",),
    ("adapt_band=0",),
    ("adapt_band=0.5",),
    ("adapt_band=1.5",),
    ("band_weight=0.1",),
    ("band_weight=0.3",),
    ("adapt_ramp=0",),
    ("adapt_ramp=2",),
    ("adapt_half_life=0",),
    ("adapt_half_life=72",),
    ("facet_power=0",),
    ("facet_least=5",),
    ("facet_least=10",),
    ("facet_merge=0.6",),
    ("facet_merge=0.8",),
]


class _Ceiling(Tracker):
    """The tracker with its adaptation told the labels (``--ceiling``; see the module doc)."""

    def __init__(self, topic: Topic, params: Params, labels: dict[int, bool], mode: str) -> None:
        super().__init__(topic.name, topic.seeds, params=params)
        self._truth = labels  # id(item's Tokens) -> on topic
        self._mode = mode
        self._on: bool | None = None

    def _observe(self, scored: Any, judgement: Any, **kw: Any) -> None:
        self._on = self._truth.get(id(scored.key))
        super()._observe(scored, judgement, **kw)

    def _consider(self, x: Any, z: float, z_s: float, z_e: float, source: str | None) -> None:
        p = self.params
        bar = p.adapt_z - p.adapt_band  # from here the tracker would admit it (weakly)
        wrong = self._on is False and z >= bar
        if self._mode == "admit" and self._on:
            z = z_s = z_e = math.inf
        elif (self._mode == "admit" and self._on is not None) or (self._mode == "veto" and wrong):
            z = min(z, bar - 1)  # stays out of the pool; may be a near miss
        super()._consider(x, z, z_s, z_e, source)


def stream_scores(
    topic: Topic,
    batches: list[Batch],
    params: Params,
    tokens: dict[str, Tokens],
    ceiling: str | None = None,
    feedback: int = 0,
) -> dict[str, tuple[float, bool]]:
    """(score, hit) per item id, the stream run as ``monitor classify`` runs it (with the
    first ``feedback`` alerts judged, see the module doc)."""
    if ceiling:
        truth = {id(tokens[i]): bool(on) for i, on in topic.labels.items() if topic.scored(i)}
        tracker: Tracker = _Ceiling(topic, params, truth, ceiling)
    else:
        tracker = Tracker(topic.name, topic.seeds, params=params)
    out: dict[str, tuple[float, bool]] = {}
    judged: list[tuple[str, str, bool]] = []
    for batch in batches:
        batch = sorted(batch, key=_reldata.published)  # learnt oldest first, as the daemon does
        toks = [tokens[str(item["id"])] for item in batch]
        judgements = tracker.judge_batch(toks)
        tracker.observe_batch(toks, judgements, str(batch[0]["feed"]), batch_moment(batch))
        before = len(judged)
        for item, j in zip(batch, judgements, strict=True):
            item_id = str(item["id"])
            out[item_id] = (j.score, j.hit)
            if j.hit and len(judged) < feedback and topic.scored(item_id):
                on = bool(topic.labels[item_id])  # scored items are on (2) or off (0) topic
                judged.append((str(item["title"]), str(item["summary"]), on))
        if len(judged) > before:
            tracker.set_feedback(judged)
    return out


def figures(topic: Topic, decided: dict[str, tuple[float, bool]]) -> tuple[Metrics, Metrics]:
    """(at the default threshold, at the best threshold) over the scored items seen."""
    ids = [i for i in decided if topic.scored(i)]
    labels = [topic.labels[i] for i in ids]
    at = metrics(labels, [decided[i][1] for i in ids])
    best = best_threshold(labels, [decided[i][0] for i in ids])
    return at, best


MIN_ON_TOPIC = 5  # a live run counts for a topic when it sees at least this many of its items


class Row:
    def __init__(self, pub: Metrics, pub_best: Metrics, live: list[Metrics]) -> None:
        self.pub = pub
        self.pub_best = pub_best
        self.live = live
        self.live_f1 = statistics.fmean(m.f1 for m in live)
        self.live_worst = min(m.f1 for m in live)
        self.live_cnorm = statistics.fmean(m.cnorm for m in live)


def evaluate_topic(
    topic: Topic,
    params: Params,
    orders: list[tuple[str, list[Batch]]],
    tokens: dict[str, Tokens],
    ceiling: str | None = None,
    feedback: int = 0,
) -> Row:
    def run(batches: list[Batch]) -> tuple[Metrics, Metrics]:
        return figures(topic, stream_scores(topic, batches, params, tokens, ceiling, feedback))

    pub, pub_best = run(orders[0][1])
    live = [run(b)[0] for _, b in orders[1:]]
    # F1 over a handful of on-topic items is noise (a start after the story's days sees none)
    return Row(pub, pub_best, [m for m in live if m.tp + m.fn >= MIN_ON_TOPIC] or live)


def table(rows: dict[str, Row]) -> None:
    width = max(22, *(len(name) for name in rows))
    print(
        f"{'topic':<{width}} {'pub F1':>7} {'Cnorm':>6} {'bestF1':>7} {'P':>5} {'R':>5}  "
        f"{'live F1':>7} {'worst':>6} {'Cnorm':>6}"
    )
    for name, r in rows.items():
        print(
            f"{name:<{width}} {r.pub.f1:>7.3f} {r.pub.cnorm:>6.3f} {r.pub_best.f1:>7.3f} "
            f"{r.pub.precision:>5.2f} {r.pub.recall:>5.2f}  "
            f"{r.live_f1:>7.3f} {r.live_worst:>6.3f} {r.live_cnorm:>6.3f}"
        )
    vals = list(rows.values())
    print(
        f"{'mean':<{width}} {statistics.fmean(r.pub.f1 for r in vals):>7.3f} "
        f"{statistics.fmean(r.pub.cnorm for r in vals):>6.3f} "
        f"{statistics.fmean(r.pub_best.f1 for r in vals):>7.3f} {'':>5} {'':>5}  "
        f"{statistics.fmean(r.live_f1 for r in vals):>7.3f} "
        f"{min(r.live_worst for r in vals):>6.3f} "
        f"{statistics.fmean(r.live_cnorm for r in vals):>6.3f}"
    )
    # A topic with a handful of on-topic items moves the mean by itself: the median does not.
    print(
        f"{'median':<{width}} {statistics.median(r.pub.f1 for r in vals):>7.3f} "
        f"{statistics.median(r.pub.cnorm for r in vals):>6.3f} "
        f"{statistics.median(r.pub_best.f1 for r in vals):>7.3f} {'':>5} {'':>5}  "
        f"{statistics.median(r.live_f1 for r in vals):>7.3f} "
        f"{'':>6} "
        f"{statistics.median(r.live_cnorm for r in vals):>6.3f}"
    )


def group(name: str) -> str:
    """Topics that share labels are one group for leave-one-topic-out."""
    return name.split("-items", 1)[0].removesuffix("-headlines")


def _grid_job(
    args: tuple[tuple[str, ...], list[str] | None],
) -> tuple[tuple[str, ...], dict[str, Row]]:
    sets, wanted = args
    items = _reldata.load_items()
    topics = [
        t
        for t in _reldata.load_topics(items, headlines=True)
        if (wanted is None and not t.name.endswith("-headlines")) or (wanted and t.name in wanted)
    ]
    tokens = {str(i["id"]): tokenise(str(i["title"]), str(i["summary"])) for i in items}
    orders = [("publication", _reldata.publication_batches(items)), *_reldata.runs(items)]
    params = parse_sets(list(sets))
    return sets, {t.name: evaluate_topic(t, params, orders, tokens) for t in topics}


def loto(results: dict[tuple[str, ...], dict[str, Row]]) -> dict[str, Row]:
    """For each topic group, its rows under the setting best on the other groups."""
    names = list(next(iter(results.values())))
    out: dict[str, Row] = {}
    for held in sorted({group(n) for n in names}):
        others = [n for n in names if group(n) != held]
        best = max(
            results, key=lambda sets: statistics.fmean(results[sets][n].live_f1 for n in others)
        )
        print(f"  held out {held}: chosen {' '.join(best) or 'defaults'}")
        for n in names:
            if group(n) == held:
                out[n] = results[best][n]
    return out


def parse_sets(pairs: list[str]) -> Params:
    kinds = {f.name: f.type for f in fields(Params)}
    changes: dict[str, object] = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name not in kinds:
            raise SystemExit(f"--set: no parameter {name!r}")
        changes[name] = int(value) if kinds[name] in (int, "int") else float(value)
    return replace(Params(), **changes)  # type: ignore[arg-type]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--topics", help="comma-separated topic names (default: all)")
    parser.add_argument("--loto", action="store_true", help="leave-one-topic-out over GRID")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--headlines", action="store_true", help="also seed each item topic by its titles alone"
    )
    parser.add_argument(
        "--feedback", type=int, default=0, metavar="K", help="a user judges the first K alerts"
    )
    parser.add_argument(
        "--ceiling",
        choices=["admit", "veto"],
        help="diagnostic: the adaptation told the labels (admit: exactly the on-topic items; "
        "veto: no off-topic item)",
    )
    args = parser.parse_args()
    if not _reldata.available():
        print(f"skipped: {_reldata.DEV} not found (the evaluation data lives in ../shared/eval)")
        return 0
    started = time.perf_counter()
    items = _reldata.load_items()
    topics = _reldata.load_topics(items, headlines=args.headlines)
    if args.topics:
        wanted = args.topics.split(",")
        topics = [t for t in topics if t.name in wanted]
    if args.loto:
        from multiprocessing import Pool

        wanted = [t.name for t in topics]
        with Pool(args.workers) as pool:
            results = dict(pool.map(_grid_job, [(sets, wanted) for sets in GRID]))
        print("defaults:")
        table(results[()])
        print(f"leave-one-topic-out over {len(GRID)} settings:")
        table(loto(results))
    else:
        tokens = {str(i["id"]): tokenise(str(i["title"]), str(i["summary"])) for i in items}
        orders = [("publication", _reldata.publication_batches(items)), *_reldata.runs(items)]
        params = parse_sets(args.set)
        rows = {
            t.name: evaluate_topic(t, params, orders, tokens, args.ceiling, args.feedback)
            for t in topics
        }
        table(rows)
    print(f"({time.perf_counter() - started:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
