"""What sharing the relevance state costs: one merge, and one whole save, per topic.

    python benchmarks/bench_merge.py [--dsn postgresql://...]

The states are a real tracker's (the shipped seeds) after the dev stream (../shared/eval, when
present), and that state grown to ``df`` sizes a long-running daemon reaches (the tracker
counts at most 400,000 features; past that it keeps its most common 200,000). Two workers start
from one base; each learns from its half of the items; the second's save merges the first's.
Printed: the state's size as JSON, the pure merge (``merge_states``), and on a SQLite file
(and, with ``--dsn``, on PostgreSQL) four saves: the save before sharing
(``save_topic_states``), a single daemon's (it reads the stored revision alone), a save that
finds nobody else saved (plain: it reads the stored state to check), and a save that merges
(read, merge, write, load the merged state back into the tracker). Median of 5 runs each.
Then what the single daemon's save cost means for a daemon of three such topics: how often its
periodic save runs (``_decide.state_save_wait``) and the state it writes a day, against a save
every five minutes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor._daemon import STATE_SAVE_INTERVAL
from monitor._decide import state_save_wait
from monitor._relevance import Tracker, read_seeds
from monitor._relevance._merge import merge_states
from monitor._shared_state import save_shared
from monitor._storage import Storage, Store

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
TOPICS = 3  # topics of a daemon, for the periodic save's cadence


def items() -> list[tuple[str, str]]:
    if DEV.exists():
        rows = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line]
        return [(str(r["title"]), str(r.get("summary") or "")) for r in rows]
    seeds = read_seeds(ROOT / "seeds")
    sentences = [s.strip() for text in seeds for s in text.split(".") if len(s.split()) > 5]
    return [(s[:80], s) for s in sentences]


def learn(tracker: Tracker, texts: list[tuple[str, str]]) -> None:
    for title, summary in texts:
        tracker.observe(title, summary, tracker.judge(title, summary))


def grow(state: dict[str, Any], features: int, tag: str) -> dict[str, Any]:
    """The state with its df grown to ``features`` (what a long run accumulates)."""
    out = json.loads(json.dumps(state))
    df = out["df"]
    for i in range(features - len(df)):
        df[f"{tag}{i}"] = 2 + i % 7
    out["n"] += features // 10
    return out


def median_ms(fn: Callable[[], object], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def stores(dsn: str | None, folder: Path) -> list[tuple[str, Callable[[], Store]]]:
    out: list[tuple[str, Callable[[], Store]]] = [("sqlite", lambda: Storage(folder / "m.db"))]
    if dsn:
        from monitor._storage._postgres import PostgresStorage

        out.append(("postgres", lambda: PostgresStorage(dsn)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", help="a PostgreSQL database to measure the save on too")
    args = parser.parse_args()
    seeds = read_seeds(ROOT / "seeds")
    texts = items()
    base_tracker = Tracker("t", seeds)
    base = json.loads(json.dumps(base_tracker.state()))
    one, two = Tracker("t", seeds), Tracker("t", seeds)
    learn(one, texts[0::2])
    learn(two, texts[1::2])
    print(f"{len(texts)} items, two workers with half each\n")
    names = [name for name, _ in stores(args.dsn, Path("."))]
    print(
        f"{'df features':>12} {'state JSON':>11} {'merge':>8}  "
        + "  ".join(
            f"{name:>8}: {'old save':>9} {'single':>7} {'plain':>7} {'merged':>7}" for name in names
        )
    )
    cadence = []
    for features in (0, 100_000, 400_000):
        s_one = grow(one.state(), features, "a") if features else one.state()
        s_two = grow(two.state(), features, "b") if features else two.state()
        b = grow(base, features // 2, "a") if features else base
        size = len(json.dumps(s_one)) / 1e6
        merge = median_ms(lambda: merge_states(s_one, b, s_two, two.params))  # noqa: B023
        cells = []
        for name, opener in stores(args.dsn, Path(tempfile.mkdtemp())):
            old, single, plain, merged = save_ms(opener, seeds, b, s_one, s_two)
            cells.append(
                f"{name:>8}: {old:>7.0f}ms {single:>5.0f}ms {plain:>5.0f}ms {merged:>5.0f}ms"
            )
            if name == "sqlite":
                cadence.append((len(s_one["df"]), size, single / 1000))
        print(f"{len(s_one['df']):>12,} {size:>9.1f}MB {merge:>6.0f}ms  " + "  ".join(cells))
    print(f"\nA SQLite daemon with {TOPICS} such topics (its periodic save, `state_save_wait`):")
    for features, size, single in cadence:
        wait = state_save_wait(TOPICS * single, STATE_SAVE_INTERVAL)
        daily = TOPICS * size * 86_400 / wait
        before = TOPICS * size * 86_400 / STATE_SAVE_INTERVAL
        print(
            f"{features:>12,} features: a save every {wait:>5.0f} s "
            f"(was {STATE_SAVE_INTERVAL:.0f}), {daily:>7,.0f} MB of state written a day "
            f"(was {before:,.0f}): {daily / before:.2f}x"
        )


def save_ms(
    opener: Callable[[], Store],
    seeds: list[str],
    base: dict[str, Any],
    first: dict[str, Any],
    second: dict[str, Any],
) -> tuple[float, float, float, float]:
    """Medians of 5 fresh setups: the save before this change (``save_topic_states``), the
    save of the one daemon of a SQLite file (single: it reads the stored revision alone),
    the save of a process nobody else saved beside (plain: it reads the stored state to
    check), and the second worker's save, which merges the first's and loads the result back
    (merged)."""
    old, single, plain, merged = [], [], [], []
    for _ in range(5):
        storage = opener()
        try:
            worker = Tracker("t", seeds)
            worker.restore(second)
            began = time.perf_counter()
            storage.save_topic_states({"t": worker.state()}, NOW)
            old.append(time.perf_counter() - began)
            storage.save_topic_states({"t": {**first, "revision": 7}}, NOW)
            began = time.perf_counter()
            assert save_shared(storage, [worker], {"t": {"revision": 7}}, NOW, shared=False) == []
            single.append(time.perf_counter() - began)
            storage.save_topic_states({"t": {**first, "revision": 7}}, NOW)
            bases = {"t": {**first, "revision": 7}}
            began = time.perf_counter()
            assert save_shared(storage, [worker], bases, NOW) == []
            plain.append(time.perf_counter() - began)
            storage.save_topic_states({"t": {**first, "revision": 7}}, NOW)
            bases = {"t": {**base, "revision": 6}}
            began = time.perf_counter()
            assert save_shared(storage, [worker], bases, NOW) == ["t"]
            merged.append(time.perf_counter() - began)
        finally:
            storage.close()
    medians = (statistics.median(t) * 1000 for t in (old, single, plain, merged))
    return tuple(medians)  # type: ignore[return-value]


if __name__ == "__main__":
    sys.exit(main())
