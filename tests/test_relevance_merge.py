"""The merge of tracker states saved by several workers (``_relevance._merge``): pure, on
hand-made states and on real trackers' states."""

from __future__ import annotations

import copy
import json
import math
import random
from typing import Any

import pytest

from monitor._relevance import Params, Tracker
from monitor._relevance._channels import Norm
from monitor._relevance._merge import decay, merge_states
from tests.test_relevance import BACKGROUND, ON_TOPIC, _seeds

P = Params()


def norm(mean: float = 0.03, var: float = 0.0016, seen: float = 0.0) -> list[float]:
    return [mean, var, seen]


def state(
    n: int,
    df: dict[str, int],
    *,
    seen: list[str] | None = None,
    pool: list[Any] | None = None,
    near: list[Any] | None = None,
    norms: list[list[float]] | None = None,
) -> dict[str, Any]:
    return {
        "version": 2,
        "n": n,
        "df": df,
        "norm": norms or [norm(), norm(), norm(0.35, 0.01)],
        "seed_idf": {"a": 1.0},
        "since_refresh": 3,
        "seen": seen or [],
        "meaning": None,
        "pool": pool or [],
        "near": near or [],
    }


def unit(*words: str) -> dict[str, float]:
    w = 1.0 / len(words) ** 0.5
    return {word: w for word in words}


def entry(*words: str, source: str | None = None) -> list[Any]:
    return [dict.fromkeys(words, 1.0), unit(*words), source]


BASE = state(10, {"a": 5, "b": 2}, seen=["s1"], pool=[entry("x1", "y1")], near=[unit("n1")])
ONE = state(
    14,
    {"a": 7, "b": 2, "c": 1},
    seen=["s1", "w1"],
    pool=[entry("x1", "y1"), entry("x2", "y2", source="f1")],
    near=[unit("n1"), unit("n2")],
)
TWO = state(
    13,
    {"a": 5, "b": 4, "d": 3},
    seen=["s1", "w2"],
    pool=[entry("x1", "y1"), entry("x3", "y3", source="f2")],
    near=[unit("n1"), unit("n3")],
)


def pools(s: dict[str, Any]) -> set[str]:
    return {json.dumps(e[1], sort_keys=True) for e in s["pool"]}


def test_against_an_unchanged_store_the_merge_is_the_plain_save() -> None:
    assert merge_states(copy.deepcopy(BASE), BASE, ONE, P) is ONE
    assert merge_states(copy.deepcopy(ONE), ONE, TWO, P) is TWO


def test_every_workers_counts_add_up_in_either_order() -> None:
    # worker one saves first (plain), then worker two merges; and the other way round
    one_then_two = merge_states(merge_states(BASE, BASE, ONE, P), BASE, TWO, P)
    two_then_one = merge_states(merge_states(BASE, BASE, TWO, P), BASE, ONE, P)
    for merged in (one_then_two, two_then_one):
        assert merged["n"] == 10 + 4 + 3
        assert merged["df"] == {"a": 7, "b": 4, "c": 1, "d": 3}
        assert set(merged["seen"]) == {"s1", "w1", "w2"}
        assert pools(merged) == pools(ONE) | pools(TWO)
        assert {json.dumps(u, sort_keys=True) for u in merged["near"]} == {
            json.dumps(unit(n), sort_keys=True) for n in ("n1", "n2", "n3")
        }
    # the IDF snapshot of the seed channel follows the merged counts
    assert one_then_two["seed_idf"] == two_then_one["seed_idf"]
    assert one_then_two["seed_idf"]["a"] == pytest.approx(math.log((17 + P.idf_prior) / 8.0))


def test_a_store_saved_under_other_seeds_is_not_merged_in() -> None:
    """While workers restart onto new seeds, one saving under the new seeds does not take in
    the pools and normalisations learnt under the old ones (nor the other way round)."""
    old = {**BASE, "seeds": "old"}
    stored = {**ONE, "seeds": "old"}
    mine = {**TWO, "seeds": "new"}
    assert merge_states(stored, old, mine, P) is mine
    assert merge_states(mine, mine, stored, P) is stored
    # a state saved before seeds were recorded is read as saved under the same seeds
    merged = merge_states(ONE, BASE, {**TWO, "seeds": "new"}, P)
    assert pools(merged) == pools(ONE) | pools(TWO) and merged["seeds"] == "new"


def test_saving_again_without_new_observations_adds_nothing() -> None:
    merged = merge_states(ONE, BASE, TWO, P)  # worker two's save; its new base is `merged`
    again = merge_states(merged, merged, merged, P)
    assert again is merged
    # worker one saved again meanwhile without learning anything: stored moved, mine = base
    later = merge_states(ONE, BASE, BASE, P)
    assert later["n"] == ONE["n"] and later["df"] == ONE["df"]
    assert later["seen"] == ONE["seen"] and pools(later) == pools(ONE)
    for got, want in zip(later["norm"], ONE["norm"], strict=True):
        assert got == pytest.approx(want, rel=1e-12)


def test_a_worker_that_forgot_rare_features_takes_nothing_away() -> None:
    forgetful = state(12, {"a": 6})  # pruned "b" (as the tracker does at its df limit)
    merged = merge_states(TWO, BASE, forgetful, P)
    assert merged["df"] == {"a": 6, "b": 4, "d": 3}
    assert merged["n"] == 15


def test_pool_union_skips_near_copies_and_keeps_the_cap() -> None:
    small = Params(adapt_pool=4)
    stored = state(20, {}, pool=[entry(f"s{i}", "shared") for i in range(4)])
    copy_of_stored = entry("s0", "shared")  # the same vector: one piece of evidence
    near_copy = [{"s1": 1.0, "shared": 1.0, "z": 0.01}, unit("s1", "shared"), None]
    fresh = [entry(f"m{i}", "own") for i in range(3)]
    mine = state(25, {}, pool=[copy_of_stored, near_copy, *fresh])
    merged = merge_states(stored, state(15, {}), mine, small)
    assert len(merged["pool"]) == 4  # capped as the tracker caps its pool ...
    assert pools(merged) == pools(stored) - {json.dumps(unit("s0", "shared"))} - {
        json.dumps(unit("s1", "shared"), sort_keys=True),
        json.dumps(unit("s2", "shared"), sort_keys=True),
    } | {json.dumps(e[1], sort_keys=True) for e in fresh}  # ... the oldest leave first


def test_a_weak_pool_item_keeps_its_weight_through_the_merge() -> None:
    def weak(*words: str) -> list[Any]:  # an item admitted as a fifth of an item
        return [dict.fromkeys(words, 1.0), {f: 0.2 * w for f, w in unit(*words).items()}, None]

    stored = state(20, {}, pool=[weak("peace", "force")])
    mine = [entry("peace", "force"), weak("troop", "ukraine"), entry("troop", "ukraine")]
    merged = merge_states(stored, state(15, {}), state(25, {}, pool=mine), P)
    # each full copy of a weak item is recognised as a copy (a cosine of 1), stored or merged
    kept = [e[1] for e in merged["pool"]]
    assert kept == [weak("peace", "force")[1], weak("troop", "ukraine")[1]]


def _observe(n: Norm, values: list[float]) -> None:
    for v in values:
        n.add(v)


@pytest.mark.parametrize("start", [0.0, 500.0, 1990.0, 2000.0])
def test_norm_merge_is_the_two_workers_observations_one_after_the_other(start: float) -> None:
    rng = random.Random(int(start))
    mine_obs = [rng.gauss(0.05, 0.02) for _ in range(300)]
    other_obs = [rng.gauss(0.02, 0.03) for _ in range(450)]

    def fresh() -> Norm:
        n = Norm(0.03, 0.04, P.norm_prior, P.norm_window)
        n.seen = start
        return n

    base, mine, other, truth = fresh(), fresh(), fresh(), fresh()
    _observe(mine, mine_obs)
    _observe(other, other_obs)
    _observe(truth, mine_obs + other_obs)  # mine first, then the others'
    merged = merge_states(
        state(100 + 450, {}, norms=[other.state()] * 3),
        state(100, {}, norms=[base.state()] * 3),
        state(100 + 300, {}, norms=[mine.state()] * 3),
        P,
    )
    mean, var, seen = merged["norm"][0]
    crossing = start < P.norm_window < start + 750  # the window fills in between: close
    assert mean == pytest.approx(truth.mean, rel=1e-4 if crossing else 1e-9)
    # exact for the variance while the window is not full, first order once it is
    assert var == pytest.approx(truth.var, rel=1e-9 if start + 750 < P.norm_window else 0.05)
    assert seen == truth.seen


def test_decay_is_the_product_of_the_norm_rates() -> None:
    for seen, k in [(0.0, 10), (1995.0, 10), (2000.0, 7), (100.0, 0)]:
        expected, s = 1.0, seen
        for _ in range(k):
            s = min(P.norm_window, s + 1.0)
            expected *= 1.0 - 1.0 / (s + P.norm_prior)
        assert decay(seen, k, P.norm_prior, P.norm_window) == pytest.approx(expected, rel=1e-12)


def test_two_trackers_merged_count_what_one_tracker_would_have_counted() -> None:
    seeds = _seeds()
    editions = ("morning edition", "evening edition", "weekend edition")
    texts = [(f"{t}, {e}", s) for e in editions for t, s in BACKGROUND]
    texts += ON_TOPIC
    base_tracker = Tracker("t", seeds)
    base = json.loads(json.dumps(base_tracker.state()))
    single, one, two = Tracker("t", seeds), Tracker("t", seeds), Tracker("t", seeds)
    for worker, part in ((one, texts[0::2]), (two, texts[1::2])):
        for title, summary in part:
            worker.observe(title, summary, worker.judge(title, summary))
    for title, summary in texts[0::2] + texts[1::2]:
        single.observe(title, summary, single.judge(title, summary))
    saved_one = json.loads(json.dumps(one.state()))
    merged = merge_states(saved_one, base, two.state(), two.params)
    assert merged["n"] == single.state()["n"] > len(texts) // 2
    assert merged["df"] == single.state()["df"]
    assert set(merged["seen"]) == set(single.state()["seen"])
    counted = single.state()["facets"]
    assert merged["facets"]["terms"] == counted["terms"] != {}
    assert sorted(map(tuple, merged["facets"]["pairs"])) == sorted(map(tuple, counted["pairs"]))
    assert merged["facets"]["index"] == counted["index"]
    # the merged state loads, and both workers now judge alike
    one.restore(merged)
    two.restore(merged)
    for title, summary in ON_TOPIC:
        assert one.judge(title, summary) == two.judge(title, summary)


def test_two_first_saves_with_no_common_base_pool_their_normalisations() -> None:
    one = state(300, {"a": 3}, norms=[[0.02, 0.0004, 300.0]] * 3)
    two = state(100, {"a": 1}, norms=[[0.06, 0.0009, 100.0]] * 3)
    merged = merge_states(one, None, two, P)
    assert (merged["n"], merged["df"]) == (400, {"a": 4})
    mean, var, seen = merged["norm"][0]
    assert mean == pytest.approx(0.03)  # weighted by their items: (300·0.02 + 100·0.06)/400
    # pooled: the mean of the variances plus the spread of the means
    assert var == pytest.approx((300 * (0.0004 + 0.01**2) + 100 * (0.0009 + 0.03**2)) / 400)
    assert seen == 400.0


def test_pool_times_and_the_later_clock_survive_the_merge() -> None:
    """Each pool item keeps the poll time it was admitted at (its age weighs it in the stream
    profile), whichever worker admitted it; the merged clock is the later of the two."""
    stored = state(20, {}, pool=[[*entry("old", "story")[:3], 1_000.0]])
    stored["clock"] = 5_000.0
    mine = state(25, {}, pool=[[*entry("new", "story")[:3], 4_000.0]])
    mine["clock"] = 4_500.0
    merged = merge_states(stored, state(15, {}), mine, P)
    assert [e[3] for e in merged["pool"]] == [1_000.0, 4_000.0]
    assert merged["clock"] == 5_000.0
    assert merge_states(mine, state(15, {}), stored, P)["clock"] == 5_000.0


def facets(terms: dict[str, int], pairs: list[list[Any]]) -> dict[str, Any]:
    return {"terms": terms, "pairs": pairs, "index": {"a": 0, "b": 1, "c": 2}}


def test_headline_term_counts_add_their_deltas_and_the_facets_are_taken_again() -> None:
    """Each worker's counts since the base add to the stored ones (as ``df``'s do), and the
    facets come from the merged counts: together the workers have seen a and b together in
    enough items to make them one facet, neither alone had."""
    base, stored, mine = copy.deepcopy(BASE), copy.deepcopy(TWO), copy.deepcopy(ONE)
    base["facets"] = facets({"a": 2, "b": 2, "c": 1}, [["a", "b", 2]])
    stored["facets"] = facets({"a": 6, "b": 5, "c": 1}, [["a", "b", 5]])
    mine["facets"] = facets({"a": 6, "b": 6, "c": 4}, [["a", "b", 5], ["b", "c", 1]])
    p = Params(facet_least=7)
    merged = merge_states(stored, base, mine, p)["facets"]
    assert merged["terms"] == {"a": 10, "b": 9, "c": 4}
    assert sorted(map(tuple, merged["pairs"])) == [("a", "b", 8), ("b", "c", 1)]
    assert merged["index"] == {"a": 0, "b": 0, "c": 1}  # 8 / 9 > 0.7, b and c apart
    # a worker whose restore dropped a count (another seed set's terms) subtracts nothing
    mine["facets"] = facets({"a": 1}, [])
    assert merge_states(stored, base, mine, p)["facets"]["terms"] == {"a": 6, "b": 5, "c": 1}


def test_a_stored_state_without_facet_counts_merges() -> None:
    """Saved before facets: the stored counts are none, the worker's own since the base
    are kept."""
    mine = copy.deepcopy(ONE)
    mine["facets"] = facets({"a": 3, "b": 1}, [["a", "b", 1]])
    merged = merge_states(copy.deepcopy(TWO), BASE, mine, P)["facets"]
    assert merged["terms"] == {"a": 3, "b": 1}
    assert merged["pairs"] == [["a", "b", 1]]
    assert "facets" not in merge_states(copy.deepcopy(TWO), BASE, copy.deepcopy(ONE), P)
