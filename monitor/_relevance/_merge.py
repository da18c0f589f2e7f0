"""Merging tracker states saved by several workers, so that none loses another's learning.

Each worker remembers the state it last loaded or saved (its *base*). At save time it merges
what it learnt since (``mine`` − ``base``) into what is stored now (``stored``: the base plus
what the other workers saved since):

* additive statistics add their deltas: the document count ``n`` and the document
  frequencies ``df`` (a feature's delta is never negative: a worker that forgot rare
  features at ``DF_LIMIT`` forgets nothing for the others);
* the score normalisations (an exponentially weighted mean and variance per channel) are
  combined as if the worker's observations had come first and the others' after them: while
  the normalisation's window is not full, as running sums (exact); once it is,
  ``stored + decay·(mine − base)``, where ``decay`` is how much the others' observations
  since ``base`` discount an earlier one (exact for the mean, first-order for the variance);
  with no shared base (two workers' first saves) they are pooled, weighted by item counts;
* the seen texts, the adaptation pool and the near misses are unions, the worker's new
  entries after the stored ones (the newest last), capped as the tracker caps them (a pool
  item that is a near-copy of a stored one adds nothing, no feed holds more than a quarter);
* the headline terms' counts (``_facets``) add their deltas, as ``df`` does, and the facets
  are taken again from the merged counts;
* the seed channel's IDF snapshot is recomputed from the merged counts; the clock (the
  latest poll time) is the later of the two.

A merge against an unchanged store (``stored == base``) returns ``mine`` itself: a single
process saves exactly what its tracker holds; so does a merge with a state saved under other
seeds (workers restarting onto a new seed set), whose pools and normalisations were learnt
for another topic. Pure: plain JSON-like dicts in and out.
"""

from __future__ import annotations

import math
from typing import Any

from monitor._relevance._channels import Vector, saved_norm
from monitor._relevance._counts import forget_rare
from monitor._relevance._evidence import Evidence, near_vectors, pool_entries, saved_time
from monitor._relevance._facets import Cooccurrence, merge_cooccurrence
from monitor._relevance._params import Params
from monitor._relevance._persist import DF_LIMIT, SEEN_LIMIT

__all__ = ["merge_states"]

State = dict[str, Any]


def merge_states(stored: State, base: State | None, mine: State, params: Params) -> State:
    """The state to save: ``mine`` merged with what ``stored`` gained since ``base``."""
    if stored == base or stored.get("version") != mine.get("version"):
        return mine  # nobody else saved (or a state this code cannot read): plain save
    if _other_seeds(stored, mine):
        return mine  # learnt for another seed set (workers restarting onto new seeds)
    if not isinstance(stored.get("n"), int) or not isinstance(stored.get("df"), dict):
        return mine
    old: State = base if base is not None and base.get("version") == mine.get("version") else {}
    n_base = _int(old.get("n"))
    k_mine = max(0, _int(mine.get("n")) - n_base)
    k_other = max(0, _int(stored["n"]) - n_base)
    n = _int(stored["n"]) + k_mine
    df = _merge_df(stored["df"], old.get("df"), mine.get("df"))
    out: State = dict(mine)
    out["n"] = n
    out["df"] = df
    out["norm"] = _merge_norms(stored, old, mine, k_mine, k_other, params)
    out["seen"] = _merge_seen(stored.get("seen"), old.get("seen"), mine.get("seen"))
    out["meaning"] = mine.get("meaning") or stored.get("meaning")
    clocks = [c for c in map(saved_time, (stored.get("clock"), mine.get("clock"))) if c is not None]
    out["clock"] = max(clocks) if clocks else None
    out.update(_merge_evidence(stored, old, mine, params))
    if isinstance(mine.get("facets"), dict):
        out["facets"] = _merge_facets(
            stored.get("facets"), old.get("facets"), mine["facets"], params
        )
    idf = mine.get("seed_idf")
    if isinstance(idf, dict):
        lognum = math.log(n + params.idf_prior)
        out["seed_idf"] = {f: lognum - math.log(df.get(f, 0) + 1.0) for f in idf}
    return out


def _other_seeds(stored: State, mine: State) -> bool:
    """Whether the two were saved under different seeds (a state without the record, saved
    before seeds were recorded, is taken for the same seeds)."""
    a, b = stored.get("seeds"), mine.get("seeds")
    return isinstance(a, str) and isinstance(b, str) and a != b


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


def _merge_df(stored: dict[str, Any], base: Any, mine: Any) -> dict[str, int]:
    out: dict[str, int] = dict(stored)  # as written by a save: feature -> count
    before = base if isinstance(base, dict) else {}
    if isinstance(mine, dict):
        get, was = out.get, before.get
        for f, c in mine.items():
            delta = c - was(f, 0)
            if delta > 0:
                out[f] = get(f, 0) + delta
    return forget_rare(out, DF_LIMIT) if len(out) > DF_LIMIT else out  # as the tracker does


def _merge_norms(
    stored: State, base: State, mine: State, k_mine: int, k_other: int, params: Params
) -> Any:
    mine_norms, stored_norms = mine.get("norm"), stored.get("norm")
    if not (isinstance(mine_norms, list) and isinstance(stored_norms, list)):
        return mine_norms
    base_norms: list[Any] = base["norm"] if isinstance(base.get("norm"), list) else []
    out: list[Any] = []
    for i, values in enumerate(mine_norms):
        m = saved_norm(values)
        s = saved_norm(stored_norms[i]) if i < len(stored_norms) else None
        b = saved_norm(base_norms[i]) if i < len(base_norms) else None
        if m is None or s is None:
            out.append(values if m is not None else stored_norms[i])
        elif b is None:
            mean_var = _pooled(s, m, float(_int(stored.get("n"))), float(k_mine))
            out.append([*mean_var, min(params.norm_window, s[2] + m[2])])
        else:
            out.append(_sequential(s, b, m, k_mine, k_other, params))
    return out


def _sequential(
    s: tuple[float, float, float],
    b: tuple[float, float, float],
    m: tuple[float, float, float],
    k_mine: int,
    k_other: int,
    params: Params,
) -> list[float]:
    """Mine first, then the others'. While the window is not full a :class:`Norm` is a
    running mean and variance behind ``seen + prior`` pseudo-items, so the two add up exactly
    (in items and squares); once it is full, an observation's weight shrinks by
    ``1 - 1/(window + prior)`` with each later one."""
    window = params.norm_window
    c_mine, c_other = m[2] - b[2], s[2] - b[2]
    if c_mine >= 0 and c_other >= 0 and b[2] + c_mine + c_other < window:
        cb = b[2] + params.norm_prior
        cm, cs, total = cb + c_mine, cb + c_other, cb + c_mine + c_other
        mean = (cm * m[0] + cs * s[0] - cb * b[0]) / total
        squares = cm * (m[1] + m[0] ** 2) + cs * (s[1] + s[0] ** 2) - cb * (b[1] + b[0] ** 2)
        return [mean, max(1e-10, squares / total - mean * mean), b[2] + c_mine + c_other]
    start = min(window, b[2] + k_mine)
    d = decay(start, k_other, params.norm_prior, window)
    mean = s[0] + d * (m[0] - b[0])
    var = max(1e-10, s[1] + d * (m[1] - b[1]))
    seen = min(window, s[2] + max(0.0, m[2] - b[2]))
    return [mean, var, seen]


def decay(seen: float, k: int, prior: float, window: float) -> float:
    """How much ``k`` observations added to a :class:`Norm` at ``seen`` discount what came
    before them: the product of ``1 - 1/(seen_i + prior)`` over their ``seen_i``."""
    below = int(min(k, max(0.0, window - seen)))  # while ``seen`` still grows: it telescopes
    d = (seen + prior) / (seen + below + prior)
    return d * (1.0 - 1.0 / (window + prior)) ** (k - below)


def _pooled(
    s: tuple[float, float, float], m: tuple[float, float, float], ws: float, wm: float
) -> list[float]:
    """Two estimates with no common base: the count-weighted mean and pooled variance
    (``[mean, var]``)."""
    if ws + wm <= 0:
        return [m[0], m[1]]
    mean = (ws * s[0] + wm * m[0]) / (ws + wm)
    var = (ws * (s[1] + (s[0] - mean) ** 2) + wm * (m[1] + (m[0] - mean) ** 2)) / (ws + wm)
    return [mean, max(1e-10, var)]


def _merge_seen(stored: Any, base: Any, mine: Any) -> list[str]:
    out = [str(x) for x in stored] if isinstance(stored, list) else []
    known = set(out) | (set(base) if isinstance(base, list) else set())
    if isinstance(mine, list):
        out += [str(x) for x in mine if x not in known]
    return out[-SEEN_LIMIT:]


def _key(u: Vector) -> tuple[tuple[str, float], ...]:
    return tuple(sorted(u.items()))


def _merge_evidence(stored: State, base: State, mine: State, params: Params) -> State:
    evidence = Evidence.for_params(params)
    evidence.restore(stored.get("pool"), stored.get("near"))
    known = {_key(u) for _, u, _, _ in pool_entries(base.get("pool"))}
    known |= {_key(u) for _, u, _, _ in pool_entries(stored.get("pool"))}
    for x, u, source, at in pool_entries(mine.get("pool")):
        if _key(u) not in known and not evidence.is_copy(u):
            evidence.readmit(x, u, source, at)
    near_known = {_key(u) for u in near_vectors(base.get("near"))}
    near_known |= {_key(u) for u in near_vectors(stored.get("near"))}
    for u in near_vectors(mine.get("near")):
        if _key(u) not in near_known:
            evidence.add_near(u)
    return evidence.state()


def _merge_facets(stored: Any, base: Any, mine: State, params: Params) -> State:
    """The headline terms' counts: the stored ones plus what ``mine`` counted since ``base``;
    the facets taken again from them (for ``mine``'s headline terms)."""
    merged = merge_cooccurrence(stored, base, mine)
    index = mine.get("index")
    if isinstance(index, dict):
        counts = Cooccurrence([str(t) for t in index])
        counts.restore(merged)
        merged["index"] = counts.facets(params.facet_merge, params.facet_least)
    return merged
