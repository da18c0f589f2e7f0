"""Several workers' trackers share one learned state through the database (``_shared_state``),
on both backends: real trackers, real SQLite files and a real PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor._relevance import Tracker
from monitor._shared_state import REVISION, SINCE, save_shared
from monitor._storage import Store
from monitor._times import iso
from tests.test_relevance import BACKGROUND, ON_TOPIC, _seeds
from tests.test_storage_contract import NOW, open_backend

EDITIONS = ("morning edition", "evening edition", "weekend edition")
TEXTS = [(f"{t}, {e}", s) for e in EDITIONS for t, s in BACKGROUND] + ON_TOPIC


@pytest.fixture(params=["sqlite", "postgres"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[Store]]:
    """Two connections to one database: two workers."""
    pair = [open_backend(request.param, tmp_path, request) for _ in range(2)]
    yield pair
    for s in pair:
        s.close()


def learn(tracker: Tracker, texts: list[tuple[str, str]]) -> None:
    for title, summary in texts:
        tracker.observe(title, summary, tracker.judge(title, summary))


def test_one_process_saves_exactly_what_its_tracker_holds(stores: list[Store]) -> None:
    storage = stores[0]
    tracker = Tracker("t", _seeds())
    bases: dict[str, dict[str, object]] = {}
    for rounds in (TEXTS[:20], TEXTS[20:]):
        learn(tracker, rounds)
        before = json.dumps(tracker.state(), sort_keys=True)
        assert save_shared(storage, [tracker], bases, NOW) == []  # nobody else saved
        stored = storage.topic_state("t")
        assert stored is not None
        revision = stored.pop(REVISION)
        assert stored.pop(SINCE) == iso(NOW)  # when the topic was first judged: kept
        assert json.dumps(stored, sort_keys=True) == before  # the plain save
        assert json.dumps(tracker.state(), sort_keys=True) == before  # the tracker untouched
    assert revision == 2


def test_two_workers_learning_is_merged_and_both_take_it(stores: list[Store]) -> None:
    seeds = _seeds()
    one, two, single = Tracker("t", seeds), Tracker("t", seeds), Tracker("t", seeds)
    bases_one: dict[str, dict[str, object]] = {}
    bases_two: dict[str, dict[str, object]] = {}
    save_shared(stores[0], [one], bases_one, NOW)  # the first worker's start: n = 0
    state = stores[1].topic_state("t")
    assert state is not None
    two.restore(state)  # the second worker starts from it
    bases_two["t"] = state
    learn(one, TEXTS[0::2])
    learn(two, TEXTS[1::2])
    learn(single, TEXTS[0::2] + TEXTS[1::2])
    assert save_shared(stores[0], [one], bases_one, NOW) == []  # first to save: plain
    assert save_shared(stores[1], [two], bases_two, NOW) == ["t"]  # merges the first's
    assert save_shared(stores[0], [one], bases_one, NOW) == ["t"]  # takes the second's
    stored = stores[0].topic_state("t")
    assert stored is not None
    assert stored["n"] == single.state()["n"] == one.state()["n"] == two.state()["n"]
    assert stored["df"] == single.state()["df"] == one.state()["df"] == two.state()["df"]
    for title, summary in ON_TOPIC:  # one topic model: both workers judge alike
        assert one.judge(title, summary) == two.judge(title, summary)
    # nothing new learnt: saving again changes no count
    assert save_shared(stores[1], [two], bases_two, NOW) == ["t"]
    again = stores[1].topic_state("t")
    assert again is not None
    assert (again["n"], again["df"]) == (stored["n"], stored["df"])


def test_a_reseeded_topic_starts_from_the_stored_counts_alone(stores: list[Store]) -> None:
    """The topic's seeds changed between two runs (or while one worker still runs the old
    ones): the new tracker takes the stored word counts, not the old seeds' pools, and the
    old worker's next save does not bring them back into the new one's."""
    old = Tracker("t", _seeds())
    bases_old: dict[str, dict[str, object]] = {}
    learn(old, TEXTS)
    save_shared(stores[0], [old], bases_old, NOW)
    stored = stores[0].topic_state("t")
    assert stored is not None and stored["pool"]  # the old seeds admitted items

    reseeded = ["Storm brings snow and travel chaos\n\nForecasters warned of more snow."]
    new = Tracker("t", reseeded)
    new.restore(stored)
    bases_new: dict[str, dict[str, object]] = {"t": stored}
    state = new.state()
    assert state["n"] == stored["n"] and state["df"] == stored["df"] and state["pool"] == []
    assert save_shared(stores[1], [new], bases_new, NOW) == []  # the store was its base
    saved = stores[1].topic_state("t")
    assert saved is not None and saved["seeds"] == state["seeds"] != stored["seeds"]
    assert saved["pool"] == []
    # the old worker saves again (the store moved under it): its own state, unmerged, and
    # its tracker takes nothing
    assert save_shared(stores[0], [old], bases_old, NOW) == []
    assert (stores[0].topic_state("t") or {})["seeds"] == stored["seeds"]
    assert old.state()["pool"] == stored["pool"]


def test_a_single_daemon_reads_only_the_stored_revision(tmp_path: Path) -> None:
    from monitor._storage import Storage

    storage = Storage(tmp_path / "m.db")
    asked: list[object] = []
    update_topic_states = storage.update_topic_states

    def recording(*args: Any, **kw: Any) -> Any:
        asked.append(kw.get("only"))
        return update_topic_states(*args, **kw)

    storage.update_topic_states = recording  # type: ignore[method-assign]
    try:
        tracker = Tracker("t", _seeds())
        save_shared(storage, [tracker], {}, NOW, shared=False)
        save_shared(storage, [tracker], {}, NOW)
        assert asked == [(REVISION, SINCE), None]  # the workers' save merges whole states
    finally:
        storage.close()


def test_a_single_daemon_keeps_only_revisions_and_saves_plainly(tmp_path: Path) -> None:
    """SQLite (one daemon per database, under its lock): no second copy of each state is
    kept to merge against, and the saves are the plain ones."""
    from monitor._shared_state import slim
    from monitor._storage import Storage

    storage = Storage(tmp_path / "m.db")
    try:
        tracker = Tracker("t", _seeds())
        bases: dict[str, dict[str, object]] = {}
        for rounds in (TEXTS[:20], TEXTS[20:]):
            learn(tracker, rounds)
            assert save_shared(storage, [tracker], bases, NOW, shared=False) == []
            assert bases == {"t": slim(storage.topic_state("t") or {})}
            assert set(bases["t"]) == {REVISION}
        stored = storage.topic_state("t")
        assert stored is not None and stored.pop(REVISION) == 2 and stored.pop(SINCE) == iso(NOW)
        assert stored == json.loads(json.dumps(tracker.state()))

        # Another process saved meanwhile (cannot happen under the lock): its state is
        # replaced, as before several workers existed, never merged against nothing.
        other = Tracker("t", _seeds())
        storage.update_topic_states(["t"], lambda _t, s: {**other.state(), REVISION: 9}, NOW)
        learn(tracker, TEXTS[:3])
        assert save_shared(storage, [tracker], bases, NOW, shared=False) == []
        stored = storage.topic_state("t")
        assert stored is not None and stored.pop(REVISION) == 10
        assert stored == json.loads(json.dumps(tracker.state()))
    finally:
        storage.close()


def test_a_state_saved_before_revisions_is_not_taken_for_another_process(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A database from before revisions were kept: the first save after the upgrade warned
    "another process saved its state; replaced", with no other process about."""
    from monitor._shared_state import slim
    from monitor._storage import Storage

    storage = Storage(tmp_path / "m.db")
    try:
        tracker = Tracker("t", _seeds())
        storage.save_topic_states({"t": tracker.state()}, NOW)  # no revision, as before
        bases = {"t": slim(storage.topic_state("t") or {})}  # what the daemon keeps
        learn(tracker, TEXTS[:5])
        with caplog.at_level("WARNING"):
            assert save_shared(storage, [tracker], bases, NOW, shared=False) == []
        assert "another process" not in caplog.text
    finally:
        storage.close()
