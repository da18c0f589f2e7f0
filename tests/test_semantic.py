"""The semantic channel: the packaged embedding model, and how the tracker uses it.

The model ships inside the ``wordllama`` wheel (a project dependency); these tests read it
from the installed package, as the daemon does, and never touch the network. The items are
written for these tests.
"""

from __future__ import annotations

import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from monitor._models import Tokens
from monitor._relevance import Params, Tracker, read_seeds, tokenise
from monitor._relevance._channels import Norm
from monitor._relevance._semantic import MEANING_LABEL, Meaning, embedder

ROOT = Path(__file__).resolve().parents[1]

ON_TOPIC = (
    "European army chiefs weigh a peacekeeping force for Ukraine",
    "Defence chiefs from some thirty countries met in Paris to plan troops for a ceasefire.",
)
UNRELATED = [
    ("Storm brings heavy snow to northern England", "Rail services were cancelled."),
    ("Central bank holds interest rates", "Inflation eased for a third month."),
    ("Local team wins the cup final", "Fans celebrated in the city centre overnight."),
]


@pytest.fixture(scope="module")
def seeds() -> list[str]:
    return read_seeds(ROOT / "seeds")


def _cos(a: bytes, b: bytes) -> float:
    model = embedder()
    assert model is not None
    return float(model.array(a) @ model.array(b))


def test_the_model_installs_with_the_project_and_gives_unit_vectors() -> None:
    model = embedder()
    assert model is not None, "wordllama (a dependency) should provide the model"
    blob = model.vector("Military chiefs meet in Paris")
    assert blob is not None and len(blob) == 4 * model.dim
    assert math.isclose(float(model.array(blob) @ model.array(blob)), 1.0, rel_tol=1e-4)
    assert model.vector("   \n ") is None


def test_close_meanings_are_closer_than_unrelated_news() -> None:
    model = embedder()
    assert model is not None
    a = model.vector("European defence chiefs discuss peacekeepers for Ukraine")
    b = model.vector("Military leaders meet in Paris over a security force for Kyiv")
    c = model.vector("Central bank holds interest rates as inflation eases")
    assert a and b and c
    assert _cos(a, b) > _cos(a, c) + 0.2


def test_line_breaks_are_spaces_to_the_embedding() -> None:
    model = embedder()
    assert model is not None
    assert model.vector("Troops for Ukraine\n\nParis talks") == model.vector(
        "Troops for Ukraine Paris talks"
    )


def test_tokenise_carries_the_meaning_and_the_tracker_explains_it(seeds: list[str]) -> None:
    tokens = tokenise(*ON_TOPIC)
    assert tokens.meaning is not None
    judgement = Tracker("t", seeds).judge_tokens(tokens)
    assert judgement.hit
    assert MEANING_LABEL in dict(judgement.matched)


def test_meaning_adds_evidence_but_never_vetoes(seeds: list[str]) -> None:
    """Two texts unlike the seeds in meaning leave an item's score where its words put it."""
    tracker = Tracker("t", seeds)
    words = tokenise(*ON_TOPIC)
    far = [tokenise(t, s).meaning for t, s in UNRELATED]
    scores = {tracker.judge_tokens(replace(words, meaning=m)).score for m in far}
    assert len(scores) == 1
    assert tracker.judge_tokens(words).score > scores.pop()


def test_channel_off_is_the_lexical_tracker(seeds: list[str]) -> None:
    off = Tracker("t", seeds, params=replace(Params(), semantic_weight=0.0))
    tokens = tokenise(*ON_TOPIC)
    judged = off.judge_tokens(tokens)
    assert MEANING_LABEL not in dict(judged.matched)
    assert judged == off.judge_tokens(replace(tokens, meaning=None))


def test_what_is_learnt_needs_the_meaning_to_agree(seeds: list[str]) -> None:
    """An item whose words match the seeds but whose meaning is far does not enter the
    adaptation pool; the same words with their own meaning do."""
    params = replace(Params(), adapt_after=0)
    background = [tokenise(f"{t} {n}", s) for n in range(40) for t, s in UNRELATED]

    def pool_after(item: Tokens) -> int:
        tracker = Tracker("t", seeds, params=params)
        for tokens in background:
            tracker.observe_tokens(tokens, tracker.judge_tokens(tokens))
        tracker.observe_tokens(item, tracker.judge_tokens(item))
        return len(tracker.state()["pool"])

    item = tokenise(*ON_TOPIC)
    assert pool_after(item) == 1
    assert pool_after(replace(item, meaning=tokenise(*UNRELATED[1]).meaning)) == 0


def test_state_keeps_the_semantic_normalisation_and_reads_older_states(
    seeds: list[str],
) -> None:
    tracker = Tracker("t", seeds)
    for n in range(50):
        for t, s in UNRELATED:
            tokens = tokenise(f"{t} {n}", s)
            tracker.observe_tokens(tokens, tracker.judge_tokens(tokens))
    state = tracker.state()
    assert len(state["norm"]) == 3
    again = Tracker("t", seeds)
    again.restore(state)
    item = tokenise(*ON_TOPIC)
    assert again.judge_tokens(item) == tracker.judge_tokens(item)
    older = Tracker("t", seeds)
    older.restore({**state, "norm": state["norm"][:2]})  # a state saved before the channel
    assert 0.0 < older.judge_tokens(item).score <= 1.0


def test_without_the_model_the_tracker_scores_on_words_alone() -> None:
    """A install without wordllama (e.g. --no-deps) works: no meaning, no semantic channel."""
    code = (
        "import sys; sys.modules['wordllama'] = None\n"
        "from monitor._relevance import Tracker, read_seeds, tokenise\n"
        "from monitor._relevance._semantic import MEANING_LABEL\n"
        f"t = Tracker('t', read_seeds({str(ROOT / 'seeds')!r}))\n"
        f"tokens = tokenise(*{ON_TOPIC!r})\n"
        "j = t.judge_tokens(tokens)\n"
        "print(tokens.meaning is None, j.hit, MEANING_LABEL in dict(j.matched))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split() == ["True", "True", "False"]


def test_a_saved_state_spares_loading_the_model(seeds: list[str]) -> None:
    """The seeds' vectors travel with the tracker's state: a restart with the same seeds does
    not load the model (the daemon's main process never needs it then); other seeds do."""
    from monitor._relevance import release_model

    first = Tracker("t", seeds)
    item = tokenise(*ON_TOPIC)
    expected = first.judge_tokens(item)
    state = first.state()
    assert state["meaning"]["seeds"]

    release_model()
    again = Tracker("t", seeds)
    again.restore(state)
    again.prepare()
    assert embedder.cache_info().currsize == 0  # not loaded
    assert again.judge_tokens(item) == expected

    other = Tracker("t", seeds[:3])
    other.restore(state)  # made from other seed texts: ignored
    other.prepare()
    assert embedder.cache_info().currsize == 1  # embedded its own seeds
    assert MEANING_LABEL in dict(other.judge_tokens(item).matched)


def test_priming_the_story_grouper_does_not_load_the_model() -> None:
    """The daemon primes its grouper from stored hits after letting the model go: grouping
    compares words, so it must not bring the model back into the main process."""
    from datetime import UTC, datetime

    from monitor._relevance import StoryGrouper, release_model

    release_model()
    grouper = StoryGrouper(window_seconds=3600)
    grouper.assign("a", *ON_TOPIC, datetime(2025, 3, 11, tzinfo=UTC))
    assert embedder.cache_info().currsize == 0


def test_a_fresh_start_embeds_the_seeds_in_a_child_process(seeds: list[str]) -> None:
    """Without a saved state the daemon has its seeds embedded by a child process started like
    a parser worker, so its own process never loads the model (~30 MiB it cannot give back);
    the vectors are those embedded in-process. A child that fails falls back to embedding
    here."""
    from monitor._parsepool import embed_in_child
    from monitor._relevance import release_model

    item = tokenise(*ON_TOPIC)
    release_model()
    child = Tracker("t", seeds)
    child.prepare(embed_in_child)
    assert embedder.cache_info().currsize == 0  # not loaded here
    assert child.state()["meaning"]["seeds"]

    here = Tracker("t", seeds)
    here.prepare()
    assert embedder.cache_info().currsize == 1
    assert child.state()["meaning"] == here.state()["meaning"]
    assert child.judge_tokens(item) == here.judge_tokens(item)

    release_model()
    failed = Tracker("t", seeds)
    failed.prepare(lambda texts: None)  # the child could not do it
    assert failed.state()["meaning"] == here.state()["meaning"]


def test_meaning_is_measured_against_what_the_seeds_share() -> None:
    """The channel compares an item with the seeds' centroid, not with its nearest seed: a
    copy of the one seed unlike the others scores below an item close to what they share."""
    core = [
        "European army chiefs weigh a peacekeeping force for Ukraine",
        "Defence chiefs from thirty countries plan troops to secure a Ukraine ceasefire",
        "France and Britain lead talks on a reassurance force for Kyiv",
    ]
    odd = "Central bank holds interest rates as inflation eases"
    meaning = Meaning([*core, odd], Norm(0.35, 0.1, 400.0, 2000.0))
    close = tokenise("Military leaders meet in Paris over a security force for Kyiv", "")
    copy = tokenise(odd, "")
    near, far = meaning.raw(close.meaning), meaning.raw(copy.meaning)
    assert near is not None and far is not None
    assert near > far
