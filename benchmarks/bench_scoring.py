"""Scoring speed: judge + observe per item on one core, against a same-run baseline.

    python benchmarks/bench_scoring.py

Uses the dev items (../shared/eval/dev.jsonl) when present, else synthetic items built from
the seed sentences. The baseline is the bare minimum any scorer does to the same items:
lower-casing and a regex tokenisation of title and summary. "cold" is the first pass (the
stem cache is empty, as after a restart); "warm" passes run a fresh tracker once the stem
cache has seen the vocabulary, as in a running daemon. "from tokens" starts from tokens made
beforehand, as the daemon does (its parser workers tokenise each entry), and judges and learns
as the daemon does, a poll at a time (``judge_batch`` then ``observe_batch``, ``POLL`` items
each). "end to end" is tokenising (and embedding, for the semantic channel) plus judging and
learning, all on one core: the relevance work per item wherever the daemon does it, with and
without the semantic channel.
"""

from __future__ import annotations

import json
import random
import re
import sys
import time
from dataclasses import replace
from pathlib import Path

from monitor._models import Tokens
from monitor._relevance import Params, Tracker, read_seeds, tokenise

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"
WORD = re.compile(r"[a-z0-9]+")
POLL = 20  # new items per poll of one feed


def load_items(seeds: list[str]) -> tuple[list[tuple[str, str]], str]:
    if DEV.exists():
        rows = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line]
        return [(str(r["title"]), str(r["summary"])) for r in rows], "dev items"
    sentences = [s.strip() for seed in seeds for s in re.split(r"(?<=[.!?])\s+", seed)]
    sentences = [s for s in sentences if len(s.split()) >= 5]
    rng = random.Random(7)
    items = []
    for _ in range(2000):
        a, b, c = rng.sample(sentences, 3)
        words = a.split()
        rng.shuffle(words)
        items.append((" ".join(words[:12]), f"{b} {c}"))
    return items, "synthetic items from the seeds"


def run_tracker(seeds: list[str], items: list[tuple[str, str]]) -> float:
    tracker = Tracker("bench", seeds)
    started = time.perf_counter()
    for title, summary in items:
        tracker.observe(title, summary, tracker.judge(title, summary))
    return time.perf_counter() - started


def run_tracker_tokens(seeds: list[str], tokens: list[Tokens]) -> float:
    """As the daemon scores: the parser workers have tokenised each entry already, and a
    poll's items are judged, then learnt from."""
    tracker = Tracker("bench", seeds)
    started = time.perf_counter()
    for k in range(0, len(tokens), POLL):
        batch = tokens[k : k + POLL]
        tracker.observe_batch(batch, tracker.judge_batch(batch))
    return time.perf_counter() - started


def run_end_to_end(seeds: list[str], items: list[tuple[str, str]], semantic: bool) -> float:
    """All the relevance work the daemon does per item, on one core: tokenise and embed (in a
    parser worker), then judge and learn (in the main process); ``semantic`` False is the
    previous release's work (no embedding, no semantic channel)."""
    params = Params() if semantic else replace(Params(), semantic_weight=0.0)
    tracker = Tracker("bench", seeds, params=params)
    started = time.perf_counter()
    for k in range(0, len(items), POLL):
        batch = [
            tokenise(title, summary, meaning=semantic) for title, summary in items[k : k + POLL]
        ]
        tracker.observe_batch(batch, tracker.judge_batch(batch))
    return time.perf_counter() - started


def run_baseline(items: list[tuple[str, str]]) -> float:
    started = time.perf_counter()
    for title, summary in items:
        WORD.findall(title.lower())
        WORD.findall(summary.lower())
    return time.perf_counter() - started


def main() -> int:
    seeds = read_seeds(ROOT / "seeds")
    items, source = load_items(seeds)
    n = len(items)
    cold = run_tracker(seeds, items)
    warm = min(run_tracker(seeds, items) for _ in range(5))
    tokens = [tokenise(title, summary) for title, summary in items]
    from_tokens = min(run_tracker_tokens(seeds, tokens) for _ in range(5))
    base = min(run_baseline(items) for _ in range(5))
    lexical = min(run_end_to_end(seeds, items, semantic=False) for _ in range(5))
    semantic = min(run_end_to_end(seeds, items, semantic=True) for _ in range(5))
    print(f"{n} {source}, one tracker, judge + observe, one core (polls of {POLL} from tokens on)")
    rows = [("baseline (regex tokenise)", base), ("tracker, cold stem cache", cold)]
    rows.append(("tracker, warm", warm))
    rows.append(("tracker, warm, from tokens", from_tokens))
    rows.append(("end to end, words only", lexical))
    rows.append(("end to end, words + meaning", semantic))
    for label, seconds in rows:
        ratio = seconds / base
        print(f"  {label:<30}{n / seconds:>10,.0f} items/s  ({ratio:5.1f}x the baseline's time)")
    print(f"  the semantic channel costs {semantic / lexical:.2f}x the words-only time per item")
    return 0


if __name__ == "__main__":
    sys.exit(main())
