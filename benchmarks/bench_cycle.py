"""P1 (first cycle), P2 (steady state, vs lemon24/reader) and the scaling curve, in one run.

    python benchmarks/bench_cycle.py                 # 100, 300, 500, 1000, 3000 feeds x 50 items
    python benchmarks/bench_cycle.py --feeds 500 --reader-at 500
    python benchmarks/bench_cycle.py --smoke         # 20 feeds x 10 items, seconds

For each size N a fresh loopback farm (``farm.py``) serves N feeds of 50 real-text items, then:

* **baseline** — bare ``feedparser.parse`` over the same N bodies in a pool of 2 processes
  (the parser pool's size), as one process with its start-up;
* **monitor first** — ``monitor once`` on an empty database: fetch, parse, dedup, score, store,
  alerts to the farm's webhook receiver (all of it, as one process with its start-up);
* **monitor steady** — ``monitor once`` again: every feed answers 304;
* **reader first / steady** — lemon24/reader ``update_feeds(workers=16)`` over the same farm from
  its own venv (``/tmp/readerenv``; skipped with a message when missing), at the sizes named by
  ``--reader-at``.

Ratios are computed within one run; absolute seconds on shared machines are noise.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import (
    ReaderRunner,
    db_counts,
    dump,
    reader_available,
    reader_version,
    run_baseline,
    run_monitor,
    table,
    write_config,
)
from farm import FarmProcess


def measure(feeds: int, items: int, *, with_reader: bool, repeat: int) -> dict[str, Any]:
    row: dict[str, Any] = {"feeds": feeds, "items": items}
    with FarmProcess(feeds, items) as farm, tempfile.TemporaryDirectory() as tmp:
        bodies = farm.bodies()
        row["body_kb"] = sum(map(len, bodies)) / len(bodies) / 1000
        base = [run_baseline(bodies).seconds for _ in range(repeat)]
        row["baseline"] = min(base)
        firsts = []
        for r in range(repeat):
            folder = Path(tmp) / f"m{r}"
            folder.mkdir()
            config = write_config(folder, farm.urls, hook=farm.hook)
            farm.reset()
            run = run_monitor(config)
            firsts.append(run.seconds)
            stats = farm.stats()
            row["hooks"] = stats["hooks"]
            row["counts"] = db_counts(folder / "monitor.db")
            row["rss_first_mb"] = run.max_rss_kib / 1024
        row["first"] = min(firsts)
        farm.reset()
        steady = [run_monitor(config) for _ in range(max(repeat, 2))]
        row["steady"] = min(r.seconds for r in steady)
        stats = farm.stats()
        row["steady_304"] = stats["not_modified"] / max(stats["requests"], 1)
        if with_reader:
            reader = ReaderRunner(Path(tmp), farm.urls)
            row["reader_first"] = reader.update().seconds
            row["reader_steady"] = min(reader.update().seconds for _ in range(2))
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, nargs="+", default=[100, 300, 500, 1000, 3000])
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--reader-at", type=int, nargs="*", default=[500, 1000])
    parser.add_argument("--repeat", type=int, default=1, help="best of R runs for P1")
    parser.add_argument("--smoke", action="store_true", help="20 feeds x 10 items")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if args.smoke:
        args.feeds, args.items, args.reader_at = [20], 10, [20]
    why_not = reader_available()
    if why_not:
        print(f"reader column skipped: {why_not}")
        args.reader_at = []
    else:
        print(f"lemon24/reader {reader_version()} from its own venv")
    rows = []
    for n in args.feeds:
        row = measure(n, args.items, with_reader=n in args.reader_at, repeat=args.repeat)
        rows.append(row)
        print(
            f"  {n} feeds: baseline {row['baseline']:.2f} s, first {row['first']:.2f} s, "
            f"steady {row['steady']:.2f} s"
            + (
                f", reader {row['reader_first']:.2f} / {row['reader_steady']:.2f} s"
                if "reader_first" in row
                else ""
            ),
            flush=True,
        )
    headers = [
        "feeds",
        "items",
        "baseline s",
        "first s",
        "first / baseline",
        "steady s (304)",
        "reader first s",
        "reader steady s",
        "reader/monitor first",
        "reader/monitor steady",
        "hits; alerts queued → received",
    ]
    out = []
    for r in rows:
        c = r["counts"]
        rf, rs = r.get("reader_first"), r.get("reader_steady")
        out.append(
            [
                r["feeds"],
                c["items"],
                f"{r['baseline']:.2f}",
                f"{r['first']:.2f}",
                f"{r['first'] / r['baseline']:.2f}x",
                f"{r['steady']:.2f}",
                f"{rf:.2f}" if rf else "-",
                f"{rs:.2f}" if rs else "-",
                f"{rf / r['first']:.2f}x" if rf else "-",
                f"{rs / r['steady']:.2f}x" if rs else "-",
                f"{c['hits']}; {c['deliveries']} → {r['hooks']}",
            ]
        )
    print()
    print(f"first and steady cycles, {args.items} items per feed, 2 parse workers")
    print(table(headers, out))
    if len(rows) > 1:
        print()
        print("scaling (first cycle): seconds per 1,000 feeds and per 10,000 items")
        out = []
        for r in rows:
            n_items = max(r["counts"]["items"], 1)
            out.append(
                [
                    r["feeds"],
                    f"{r['first']:.2f}",
                    f"{r['first'] / r['feeds'] * 1000:.2f}",
                    f"{r['first'] / n_items * 10000:.2f}",
                    f"{r['baseline'] / n_items * 10000:.2f}",
                    f"{r['steady'] / r['feeds'] * 1000:.2f}",
                ]
            )
        print(
            table(
                [
                    "feeds",
                    "first s",
                    "first s / 1k feeds",
                    "first s / 10k items",
                    "baseline s / 10k items",
                    "steady s / 1k feeds",
                ],
                out,
            )
        )
    dump(args.json, {"rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
