"""Behaviour of the relevance tracker, the seed reader and the story grouper.

The items below are written for these tests (none is copied from the evaluation data); the
seeds are the project's own seed folder.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor._errors import ConfigError
from monitor._evaluate import metrics
from monitor._relevance import (
    DEFAULT_THRESHOLD,
    Params,
    StoryGrouper,
    Tracker,
    read_seeds,
)
from monitor._relevance._evidence import Evidence
from monitor._relevance._facets import HEAD_LIMIT, Cooccurrence, facet_index, required_facets
from monitor._relevance._profile import build_profile
from monitor._relevance._stem import stem_english
from monitor._relevance._text import BREAK, analyse, tokenise

ROOT = Path(__file__).resolve().parents[1]
SEEDS_DIR = ROOT / "seeds"
EVAL_DIR = Path(__file__).resolve().parents[2] / "shared" / "eval"

# A background stream: what a news feed mostly carries. It gives the tracker its IDF and the
# score distribution that calibrates its scores.
BACKGROUND: list[tuple[str, str]] = [
    (
        "Storm brings heavy snow and travel chaos to northern England",
        "Rail services were cancelled and schools closed as forecasters warned of more snow.",
    ),
    (
        "Central bank holds interest rates as inflation eases",
        "Policymakers kept borrowing costs unchanged and signalled cuts later in the year.",
    ),
    (
        "Champions League: late goal sends holders into quarter-finals",
        "A stoppage-time header settled a tense second leg in front of a sold-out crowd.",
    ),
    (
        "Tech giant unveils new smartphone with longer battery life",
        "The company said the device would go on sale next month at a higher price.",
    ),
    (
        "Wildfire forces thousands to evacuate in California",
        "Firefighters battled strong winds as the blaze spread across dry hillsides.",
    ),
    (
        "Oil prices rise after producers agree to extend output cuts",
        "Brent crude climbed as traders weighed supply against weak demand in Asia.",
    ),
    (
        "Film festival opens with premiere of long-awaited drama",
        "Stars walked the red carpet as critics praised the director's latest work.",
    ),
    (
        "Scientists discover new species of frog in the Amazon",
        "The tiny amphibian was found during a survey of remote rainforest streams.",
    ),
    (
        "Parliament passes bill to reform pension system",
        "Lawmakers approved the changes after a long debate and several amendments.",
    ),
    (
        "Earthquake of magnitude 6.1 strikes off the coast of Japan",
        "No tsunami warning was issued and there were no immediate reports of damage.",
    ),
    (
        "Airline strike grounds hundreds of flights across Europe",
        "Passengers faced cancellations as cabin crew walked out over pay.",
    ),
    (
        "Government announces new funding for hospitals",
        "The health minister said waiting lists would fall over the next two years.",
    ),
    (
        "Tennis star withdraws from tournament with wrist injury",
        "The former champion said she hoped to return in time for the grass season.",
    ),
    (
        "Floods displace thousands in Brazil after days of rain",
        "Rivers burst their banks and rescue teams used boats to reach stranded families.",
    ),
    (
        "Stock markets fall on fears of a slowing economy",
        "Shares in banks and carmakers led the declines as bond yields dropped.",
    ),
    (
        "Museum returns looted artefacts to Nigeria",
        "The bronzes were handed over at a ceremony attended by officials and curators.",
    ),
    (
        "Election campaign heats up as candidates hold final debate",
        "The rivals clashed over taxes, housing and immigration before polling day.",
    ),
    (
        "Heatwave breaks temperature records in southern Spain",
        "Authorities warned residents to stay indoors during the hottest hours.",
    ),
    (
        "Car maker recalls vehicles over brake fault",
        "Owners were told to contact dealers for a free repair.",
    ),
    (
        "Pope meets pilgrims at Vatican after illness",
        "The pontiff thanked well-wishers and appeared in good spirits.",
    ),
    (
        "Police arrest suspects after jewellery heist in Paris",
        "Thieves had escaped on scooters with watches and rings worth millions.",
    ),
    (
        "New study links sleep and heart health",
        "Researchers followed thousands of adults for a decade.",
    ),
    (
        "Cyclone makes landfall in Australia bringing torrential rain",
        "Emergency services urged residents to prepare for flooding and power cuts.",
    ),
    (
        "Trade talks stall over farm subsidies",
        "Negotiators failed to agree on tariffs for beef and dairy products.",
    ),
    (
        "Ukraine and Russia exchange prisoners of war",
        "Dozens of soldiers returned home in a swap mediated by the United Arab Emirates.",
    ),
    (
        "Drone strikes hit energy facilities in eastern Ukraine",
        "Officials said power was cut to thousands of homes after the overnight attack.",
    ),
    (
        "US and Ukraine sign minerals agreement after weeks of talks",
        "The deal gives American firms access to rare earth deposits.",
    ),
    (
        "Macron pushes for more European defence spending",
        "The French president urged EU partners to buy European-made weapons.",
    ),
    (
        "German coalition talks resume on budget rules",
        "Negotiators discussed changes to the debt brake and investment plans.",
    ),
    (
        "Syrian security forces clash with gunmen on the coast",
        "Several people were killed in fighting near the port city.",
    ),
    (
        "UN peacekeepers in Lebanon report shelling near base",
        "The mission said no personnel were injured in the incident.",
    ),
    (
        "Starmer announces plan to cut immigration",
        "The prime minister said visa rules for care workers would be tightened.",
    ),
    (
        "Trump and Putin hold phone call on Ukraine war",
        "The leaders discussed a possible ceasefire and prisoner exchanges.",
    ),
    (
        "Saudi Arabia hosts US-Ukraine talks on ending the war",
        "Delegations met in Jeddah to discuss a 30-day truce proposal.",
    ),
    (
        "NATO allies agree to raise defence budgets",
        "Members pledged to spend more on ammunition and air defence.",
    ),
    (
        "Election officials in Greenland count votes",
        "Turnout was high in a vote dominated by questions of independence.",
    ),
]

ON_TOPIC: list[tuple[str, str]] = [
    (
        "Norway ready to join coalition of the willing and send troops to Ukraine",
        "Norway said it could contribute soldiers to a European peacekeeping force that would "
        "deploy after a ceasefire, as France and the UK build the coalition of the willing.",
    ),
    (
        "Military chiefs meet in Paris on security force for Ukraine",
        "Army chiefs from 30 countries discussed an international security force to deter "
        "Russia and provide security guarantees for Ukraine after any peace deal.",
    ),
]

OFF_TOPIC: list[tuple[str, str]] = [
    (
        "Heavy rain floods villages in northern Italy",
        "Rescue crews evacuated residents as rivers overflowed after a week of storms.",
    ),
    (
        "Chipmaker reports record profits on demand for AI servers",
        "Revenue doubled and the company raised its forecast for the year.",
    ),
]


def _seeds() -> list[str]:
    return read_seeds(SEEDS_DIR)


_EDITIONS = ("morning edition", "evening edition", "weekend edition", "late edition")


def _warm(tracker: Tracker, rounds: int = 3) -> Tracker:
    """Background news; each round's titles carry their edition, so that every item is a
    new text (a repeated text teaches the tracker nothing)."""
    for edition in _EDITIONS[:rounds]:
        for title, summary in BACKGROUND:
            title = f"{title}, {edition}"
            tracker.observe(title, summary, tracker.judge(title, summary))
    return tracker


@pytest.fixture(scope="module")
def seeds() -> list[str]:
    return _seeds()


@pytest.fixture
def tracker(seeds: list[str]) -> Tracker:
    return _warm(Tracker("ukraine-force", seeds))


# -- read_seeds ------------------------------------------------------------------------------


def test_read_seeds_reads_supported_files_sorted_and_strips_html(tmp_path: Path) -> None:
    (tmp_path / "b.html").write_text(
        "<html><head><script>var x = 1;</script></head><body><p>Second &amp; seed</p></body>"
        "</html>",
        encoding="utf-8",
    )
    # a pasted feed item keeps its entities: read as text, as the parse stage reads a feed's
    (tmp_path / "a.txt").write_text("First seed&nbsp;&nbsp;Wire\n", encoding="utf-8")
    (tmp_path / "c.md").write_text("# Third seed\n", encoding="utf-8")
    (tmp_path / "notes.json").write_text("{}", encoding="utf-8")
    assert read_seeds(tmp_path) == ["First seed\xa0\xa0Wire", "Second & seed", "# Third seed"]


def test_read_seeds_without_seed_files_names_the_folder(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("   \n", encoding="utf-8")
    with pytest.raises(ConfigError, match=str(tmp_path)):
        read_seeds(tmp_path)
    with pytest.raises(ConfigError, match="missing"):
        read_seeds(tmp_path / "missing")


def test_a_seed_folder_in_another_script_says_what_makes_words(tmp_path: Path) -> None:
    (tmp_path / "ru.txt").write_text("Извержение вулкана в Исландии", encoding="utf-8")
    with pytest.raises(ConfigError, match="only Latin-script text makes words"):
        read_seeds(tmp_path)


def test_project_seed_folder_is_readable(seeds: list[str]) -> None:
    assert len(seeds) == 5


# -- text ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("peacekeepers", "peacekeep"),
        ("peacekeeping", "peacekeep"),
        ("coalition", "coalit"),
        ("guarantees", "guarante"),
        ("generously", "generous"),
        ("dying", "die"),
        ("skies", "sky"),
        ("news", "news"),
        ("hopping", "hop"),
        ("hoped", "hope"),
        ("agreed", "agre"),
        ("ponies", "poni"),
        ("ties", "tie"),
        ("happy", "happi"),
        ("relational", "relat"),
        ("knightly", "knight"),
        ("by", "by"),
    ],
)
def test_porter2_stems(word: str, expected: str) -> None:
    assert stem_english(word) == expected


def test_words_fold_accents_and_drop_possessives() -> None:
    words = analyse("Türkiye’s intelligence-sharing, Ukraine's 30", joined=False).words
    assert words == [
        "turkiye",
        "intelligence",
        "sharing",
        "ukraine",
        "30",
    ]


def test_a_junk_word_is_tokenised_but_not_cached() -> None:
    # The word cache is bounded by count; a hostile feed's words of thousands of letters would
    # make that count gigabytes in a long-lived parser worker.
    from monitor._relevance import _text

    junk = [("x" * 5000) + chr(ord("a") + i % 26) * (i + 1) for i in range(30)]
    tokens = tokenise("Paris talks", " ".join(junk))
    assert len(tokens.summary) == 30  # still read, as before
    assert not any(len(word) > 100 for word in _text._TOKEN_CACHE)


def test_a_hyphenated_word_is_also_read_joined() -> None:
    """News spells "cease-fire" and "ceasefire", "peace-keeping" and "peacekeeping": the parts
    stay (for pairs and phrases) and the joined word follows the text after a break, so that
    neither spelling misses the other; nothing is joined across the break."""
    title = tokenise("Putin Studies Cease-Fire", "").title
    assert title[:4] == ("putin", "studi", "ceas", "fire")
    assert title[-1] == stem_english("ceasefire")
    assert tokenise("U.S.-Ukraine talks", "").title[-2:] == ("ukrain", "talk")  # no "sukrain"
    assert BREAK not in tokenise("ab-" * 1000 + "ab", "").title  # a chain, not a word
    seeds = [f"Ceasefire talks {n}\n\nEnvoys discuss a ceasefire for the war." for n in "ab"]
    tracker = Tracker("t", seeds)
    item = tracker.judge("Envoys discuss the proposed Cease-Fire", "")
    assert "Cease-Fire" in [feature for feature, _ in item.matched]  # as the item writes it
    hyphen = Tracker("t", [s.replace("easefire", "ease-fire") for s in seeds])
    assert hyphen.judge("Ceasefire", "").score > hyphen.judge("Football", "").score
    ends = build_profile([analyse("talks on a cease-fire")] * 2)
    assert ("ceas", "fire") in ends.phrases
    assert not [gram for gram in ends.phrases if BREAK in gram]


def test_a_country_adjective_is_also_read_as_the_country() -> None:
    """News writes "Syria's deal" and "the Syrian deal", "Canada" and "Canadians" for one
    story: the adjective stays and the country follows the text after a break. Only regular
    derivations (the country's name plus a suffix); not "French", nor a continent."""
    title = tokenise("Syrian forces clash", "").title
    assert title == ("syrian", "forc", "clash", BREAK, "syria")
    summary = tokenise("", "Canadians boycott French and European wine").summary
    assert summary[-2:] == (BREAK, "canada")
    assert summary.count(BREAK) == 1  # "French", "European": no country added
    assert BREAK not in analyse("Syrian Democratic Forces", joined=False).seq  # a user phrase
    seeds = [f"Syria's economy {n}\n\nSyria's new government and the economy." for n in "ab"]
    tracker = Tracker("t", seeds)
    item = tracker.judge("The Syrian economy stalls", "")
    assert "Syrian" in [feature for feature, _ in item.matched]  # as the item writes it
    assert item.score > tracker.judge("The economy stalls", "").score
    # a phrase of the seeds is not formed across the break
    assert not [g for g in build_profile([analyse("Syrian talks")] * 2).phrases if BREAK in g]


# -- judging ---------------------------------------------------------------------------------


def test_default_threshold_is_a_probability_like_cut() -> None:
    assert 0.0 < DEFAULT_THRESHOLD < 1.0


@pytest.mark.parametrize(("title", "summary"), ON_TOPIC)
def test_clear_on_topic_items_hit(tracker: Tracker, title: str, summary: str) -> None:
    judgement = tracker.judge(title, summary)
    assert judgement.hit
    assert judgement.topic == "ukraine-force"
    assert 0.0 <= judgement.score <= 1.0


@pytest.mark.parametrize(("title", "summary"), OFF_TOPIC)
def test_clear_off_topic_items_do_not_hit(tracker: Tracker, title: str, summary: str) -> None:
    judgement = tracker.judge(title, summary)
    assert not judgement.hit
    assert judgement.score < 0.1


def test_on_topic_scores_above_near_misses(tracker: Tracker) -> None:
    on = min(tracker.judge(t, s).score for t, s in ON_TOPIC)
    near_miss = tracker.judge(
        "US and Ukraine officials hold ceasefire talks in Saudi Arabia",
        "Delegations discussed a truce and the resumption of intelligence sharing.",
    )
    assert near_miss.score < on


def test_phrases_are_found_in_the_seeds_and_explain_the_score(tracker: Tracker) -> None:
    title, summary = ON_TOPIC[0]
    matched = tracker.judge(title, summary).matched
    features = [feature for feature, _ in matched]
    assert "coalition of the willing" in features  # as the item writes it
    assert 1 <= len(matched) <= 10
    weights = [weight for _, weight in matched]
    assert weights == sorted(weights, reverse=True)
    assert all(weight > 0 for weight in weights)


def test_judge_does_not_change_state(tracker: Tracker) -> None:
    before = json.dumps(tracker.state(), sort_keys=True)
    first = tracker.judge(*ON_TOPIC[0])
    second = tracker.judge(*ON_TOPIC[0])
    assert first == second
    assert json.dumps(tracker.state(), sort_keys=True) == before


def test_empty_item_scores_zero(tracker: Tracker) -> None:
    judgement = tracker.judge("", "")
    assert judgement.score == 0.0
    assert not judgement.hit
    assert judgement.matched == ()


def test_user_phrases_add_evidence(seeds: list[str]) -> None:
    title, summary = (
        "Lighthouse keepers strike over pay",
        "Lighthouse keepers walked out across the coast.",
    )
    plain = _warm(Tracker("t", seeds)).judge(title, summary)
    boosted = _warm(Tracker("t", seeds, phrases=["lighthouse keepers"])).judge(title, summary)
    assert boosted.score > plain.score
    assert any(f.lower() == "lighthouse keepers" for f, _ in boosted.matched)


def test_seed_context_is_weak_evidence_below_the_core() -> None:
    """A term only one seed of several uses counts, but far less than what the seeds share."""
    seeds = [
        "Harbour authority plans new ferry terminal. The ferry terminal opens next spring.",
        "Ferry terminal plans approved by the harbour authority after a long inquiry.",
        "The harbour authority will fund the ferry terminal; lighthouse repairs wait.",
    ]
    cold = Tracker("t", seeds, params=Params(context_weight=0.0))
    weak = Tracker("t", seeds)
    item = ("Lighthouse keepers honoured", "An award for the lighthouse keepers.")
    assert cold.judge(*item).score == 0.0
    assert weak.judge(*item).score > 0.0
    core = ("Ferry terminal news", "The harbour authority met on Tuesday.")
    assert weak.judge(*core).score > weak.judge(*item).score


def test_exclude_vetoes_a_hit_but_keeps_the_score(seeds: list[str]) -> None:
    title, summary = ON_TOPIC[0]
    plain = _warm(Tracker("t", seeds)).judge(title, summary)
    vetoed = _warm(Tracker("t", seeds, exclude=["Norway"])).judge(title, summary)
    assert plain.hit
    assert not vetoed.hit
    assert vetoed.score == plain.score
    assert vetoed.matched[0] == ("excluded:Norway", 0.0)


def test_explicit_threshold_is_used(seeds: list[str]) -> None:
    strict = _warm(Tracker("t", seeds, threshold=0.999999))
    assert strict.threshold == 0.999999
    assert not strict.judge(*ON_TOPIC[1]).hit


# -- learning from the stream ----------------------------------------------------------------


def test_state_round_trips_through_json(seeds: list[str]) -> None:
    a = _warm(Tracker("t", seeds))
    for title, summary in ON_TOPIC:
        a.observe(title, summary, a.judge(title, summary))
    state = json.loads(json.dumps(a.state()))
    b = Tracker("t", seeds)
    b.restore(state)
    for title, summary in [*ON_TOPIC, *OFF_TOPIC]:
        assert b.judge(title, summary) == a.judge(title, summary)
    assert json.dumps(b.state(), sort_keys=True) == json.dumps(a.state(), sort_keys=True)


@pytest.mark.parametrize(
    "state",
    [{}, {"version": 999, "n": 5}, {"version": 1, "n": 5, "df": {}}, {"version": 2, "n": "x"}],
)
def test_restore_ignores_empty_or_unknown_state(seeds: list[str], state: dict[str, object]) -> None:
    fresh = Tracker("t", seeds)
    before = fresh.judge(*ON_TOPIC[0])
    fresh.restore(state)
    assert fresh.judge(*ON_TOPIC[0]) == before


def test_adaptation_learns_the_story_from_the_stream(seeds: list[str]) -> None:
    """Confident hits teach the tracker words the seeds barely use ("Lithuania")."""
    probe = (
        "Lithuania offers troops for Ukraine force",
        "Lithuania says it could send soldiers after a ceasefire.",
    )
    cold = _warm(Tracker("t", seeds))
    before = cold.judge(*probe).score
    stories = [
        (
            "Lithuania to join coalition of the willing security force for Ukraine",
            "Lithuania said it would send troops to the international security force France "
            "and the UK propose as security guarantees for Ukraine after a ceasefire.",
        ),
        (
            "Military chiefs meet in Paris; Lithuania offers soldiers",
            "At the Paris meeting of military chiefs on security guarantees for Ukraine, "
            "Lithuania's representative said its troops could deploy after any truce.",
        ),
        (
            "Baltic states weigh troops for European force in Ukraine",
            "Estonia and Lithuania are ready to contribute to the security force for Ukraine "
            "that European military officials discussed in Paris.",
        ),
        (
            "Lithuania pledges troops to Ukraine force, Macron says",
            "French President Emmanuel Macron said Lithuania joined the countries ready to "
            "send forces to guarantee a ceasefire in Ukraine.",
        ),
        (
            "Lithuanian parliament backs sending troops to Ukraine security force",
            "Lawmakers approved soldiers for the international force that would deter a new "
            "Russian offensive if a ceasefire with Russia is agreed.",
        ),
        (
            "Security guarantees for Ukraine: Lithuania signs up",
            "Lithuania joined France and Britain in planning a force with heavy weaponry "
            "that could deploy rapidly to Ukraine if Russia violates a ceasefire.",
        ),
    ]
    for title, summary in stories:
        cold.observe(title, summary, cold.judge(title, summary))
    assert cold.judge(*probe).score > before


def test_new_seeds_do_not_inherit_what_the_old_ones_taught(seeds: list[str]) -> None:
    """A topic whose seeds changed keeps the stream's statistics (IDF counts) but not what
    was learnt under the old seeds: the adaptation's pools and the score normalisations of
    the channels that compare with the seeds. Same seeds: everything is kept."""
    a = _warm(Tracker("t", seeds))
    for title, summary in [*ON_TOPIC, *OFF_TOPIC]:
        a.observe(title, summary, a.judge(title, summary))
    saved = json.loads(json.dumps(a.state()))
    assert saved["pool"] and saved["near"]  # the old seeds admitted items and near misses

    other = [
        "Storm brings snow and travel chaos\n\nForecasters warned of more snow and ice.",
        "Snow closes schools as storm sweeps north\n\nRoads were blocked by heavy snow.",
    ]
    b = Tracker("t", other)
    b.restore(saved)
    fresh = Tracker("t", other)
    state, blank = b.state(), fresh.state()
    assert (
        state["n"] == saved["n"] and state["df"] == saved["df"] and state["seen"] == saved["seen"]
    )
    assert state["pool"] == [] and state["near"] == []
    assert state["norm"] == blank["norm"]
    # ... and a state saved under the new seeds is restored whole
    c = Tracker("t", other)
    c.restore(json.loads(json.dumps(state)))
    assert json.dumps(c.state(), sort_keys=True) == json.dumps(state, sort_keys=True)


def test_wire_copies_count_once_in_the_adaptation_pool(seeds: list[str]) -> None:
    """Copies of one report are one piece of evidence: they cannot vote a word in."""
    tracker = _warm(Tracker("t", seeds))
    copy = (
        "Lithuania to join coalition of the willing peacekeeping force for Ukraine",
        "Lithuania said it would send troops to the European peacekeeping force the "
        "coalition of the willing plans to deploy in Ukraine after a ceasefire.",
    )
    for _ in range(6):
        tracker.observe(*copy, tracker.judge(*copy))
    state = tracker.state()
    assert len(state["pool"]) <= 1


def test_evidence_is_bounded_shared_and_capped() -> None:
    def fresh() -> Evidence:
        return Evidence(
            pool_size=3, near_size=2, support=2, near_weight=0.5, cap=0.6, duplicate=0.6
        )

    ev = fresh()
    for i in range(5):  # "force" in every item, "troop" in items 2 and 3, "own<i>" in one
        u = {"force": 0.6, f"own{i}": 0.5, **({"troop": 0.6} if i in (2, 3) else {})}
        ev.admit({}, u)
    assert len(ev) == 3  # items 0 and 1 left
    q = ev.profile()
    assert set(q) == {"force", "troop"}  # a feature counts only when 2+ pool items share it
    assert q["troop"] == pytest.approx(0.4)  # the centroid: 1.2 / 3
    assert q["force"] == pytest.approx(0.6 * (0.6**2 + 0.4**2) ** 0.5)  # capped from 0.6
    assert ev.is_copy({"force": 0.6, "own4": 0.5}) is True  # cosine 0.61 with item 4
    assert ev.is_copy({"force": 0.6, "other": 0.8}) is False
    for near in ({"force": 0.9}, {"troop": 1.0}, {"troop": 1.0}):
        ev.add_near(near)
    state = ev.state()
    assert state["near"] == [{"troop": 1.0}, {"troop": 1.0}]  # the last 2 near misses
    # Near misses are subtracted: 0.4 - 0.5 * 2.0 / 2 < 0 drops "troop"; "force" is capped.
    assert ev.profile() == {"force": pytest.approx(0.36)}
    again = fresh()
    again.restore(state["pool"], state["near"])
    assert again.profile() == ev.profile() and len(again) == 3


def test_a_weak_item_is_a_fraction_of_an_item_in_the_pool() -> None:
    """An item admitted with a weight (just below the admission bar) adds that fraction of its
    vector to the centroid, counts fully for support, is still recognised when copied, and
    keeps its weight through the state."""
    ev = Evidence(pool_size=4, near_size=2, support=2, near_weight=0.0, cap=0.0, duplicate=0.6)
    ev.admit({}, {"force": 0.8, "troop": 0.6})
    ev.admit({}, {"force": 0.8, "troop": 0.6}, weight=0.25)
    q = ev.profile()
    assert q["force"] == pytest.approx((0.8 + 0.2) / 2) and q["troop"] == pytest.approx(0.375)
    assert ev.is_copy({"force": 0.8, "troop": 0.6}) is True
    weak = Evidence(pool_size=4, near_size=2, support=1, near_weight=0.0, cap=0.0, duplicate=0.6)
    weak.admit({}, {"peace": 1.0}, weight=0.25)
    assert weak.is_copy({"peace": 1.0}) is True  # a copy of a weak item adds nothing either
    again = Evidence(pool_size=4, near_size=2, support=2, near_weight=0.0, cap=0.0, duplicate=0.6)
    again.restore(ev.state()["pool"], [])
    assert again.profile() == pytest.approx(q)


def test_items_just_below_the_bar_teach_the_adaptation_a_little(seeds: list[str]) -> None:
    """``adapt_band``: an item within that much of ``adapt_z`` (the seed and meaning gates met)
    enters the pool as ``band_weight`` of an item; with the band off it teaches nothing."""
    params = Params(adapt_after=0)
    banded = Tracker("t", seeds, params=params)
    flat = Tracker("t", seeds, params=replace(params, adapt_band=0.0))
    for tracker in (banded, flat):  # one item seen: past the (zero) wait
        tracker.observe("Weather", "Sunny", tracker.judge("Weather", "Sunny"))
    banded._consider({"force": 1.0}, params.adapt_z - 0.5, 3.0, 3.0, None)
    flat._consider({"force": 1.0}, params.adapt_z - 0.5, 3.0, 3.0, None)
    assert len(banded.state()["pool"]) == 1 and not flat.state()["pool"]
    ((_, u, _, _),) = banded.state()["pool"]
    assert sum(w * w for w in u.values()) ** 0.5 == pytest.approx(params.band_weight)
    banded._consider({"troop": 1.0}, params.adapt_z - 1.5 * params.adapt_band, 3.0, 3.0, None)
    assert len(banded.state()["pool"]) == 1  # below the band: not admitted


def test_an_admitted_items_weight_grows_with_its_confidence(seeds: list[str]) -> None:
    """``adapt_ramp``: an item admitted at the bar counts ``band_weight`` of an item, one
    ``adapt_ramp`` above it a whole item, and in between on a straight line; with the ramp off
    every admitted item counts whole."""
    params = Params(adapt_after=0, adapt_ramp=1.0)
    ramped = Tracker("t", seeds, params=params)
    step = Tracker("t", seeds, params=replace(params, adapt_ramp=0.0))
    for tracker in (ramped, step):  # one item seen: past the (zero) wait
        tracker.observe("Weather", "Sunny", tracker.judge("Weather", "Sunny"))
    over = (0.0, 0.5, 1.0, 3.0)  # z above adapt_z
    for k, dz in enumerate(over):
        for tracker in (ramped, step):
            tracker._consider({f"word{k}": 1.0}, params.adapt_z + dz, 3.0, 3.0, None)

    def weights(tracker: Tracker) -> list[float]:
        return [sum(w * w for w in u.values()) ** 0.5 for _, u, _, _ in tracker.state()["pool"]]

    b = params.band_weight
    assert weights(ramped) == pytest.approx([b, b + (1 - b) * 0.5, 1.0, 1.0])
    assert weights(step) == pytest.approx([1.0, 1.0, 1.0, 1.0])


def test_older_pool_items_weigh_less_in_the_stream_profile() -> None:
    """A pool item's weight halves every ``half_life`` seconds of stream time before the newest
    admission: what the story says now outweighs what it said days ago. Only ratios matter, so
    items admitted at one time weigh alike; times survive the state, and an entry saved
    without one (an older state) counts as the oldest."""

    def fresh(half_life: float) -> Evidence:
        return Evidence(
            pool_size=8,
            near_size=2,
            support=1,
            near_weight=0.0,
            cap=0.0,
            duplicate=0.9,
            half_life=half_life,
        )

    hour = 3600.0
    ev = fresh(72 * hour)
    ev.admit({}, {"nuclear": 1.0}, at=0.0)  # three days before the next one: weight 1/2
    ev.admit({}, {"troop": 1.0}, at=72 * hour)
    ev.admit({}, {"troop": 0.6, "force": 0.8}, at=72 * hour)
    q = ev.profile()
    assert q["nuclear"] == pytest.approx(0.5 / 2.5)
    assert q["troop"] == pytest.approx(1.6 / 2.5) and q["force"] == pytest.approx(0.8 / 2.5)
    flat = fresh(0.0)  # no half-life: the plain centroid, as without times
    for x, u, source, at in ev.state()["pool"]:
        flat.readmit(x, u, source, at)
    assert flat.profile()["nuclear"] == pytest.approx(1 / 3)
    again = fresh(72 * hour)
    again.restore(ev.state()["pool"], [])
    assert again.profile() == pytest.approx(q)
    legacy = fresh(72 * hour)  # an older state's 3-element entries next to a timed one
    legacy.restore([[{}, {"nuclear": 1.0}, None], [{}, {"troop": 1.0}, None, 72 * hour]], [])
    assert legacy.profile()["nuclear"] == pytest.approx(1.0 / 2)  # as old as the oldest
    assert ev.state()["pool"][0][3] == 0.0


def test_the_tracker_stamps_admissions_with_the_latest_poll_time(seeds: list[str]) -> None:
    """``observe_batch``'s ``now`` is the adaptation's clock: it only moves forward (a feed
    answering late with an older poll time does not turn it back), stamps what the pool
    admits, and is saved and restored with the state."""
    tracker = Tracker("t", seeds, params=Params(adapt_after=0))
    weather = tokenise("Weather", "Sunny")
    later, earlier = datetime(2025, 3, 11, 12, tzinfo=UTC), datetime(2025, 3, 10, tzinfo=UTC)
    tracker.observe_batch([weather], tracker.judge_batch([weather]), "f", later)
    tracker.observe_batch([weather], tracker.judge_batch([weather]), "f", earlier)
    assert tracker.state()["clock"] == later.timestamp()
    tracker._consider({"force": 1.0}, 10.0, 5.0, 5.0, None)
    assert [e[3] for e in tracker.state()["pool"]] == [later.timestamp()]
    restored = Tracker("t", seeds, params=Params(adapt_after=0))
    restored.restore(tracker.state())
    assert restored.state()["clock"] == later.timestamp()
    assert restored.state()["pool"] == tracker.state()["pool"]


def test_the_half_life_counts_hours_of_poll_time(seeds: list[str]) -> None:
    """``adapt_half_life`` is in hours of the poll times the tracker is given: an item admitted
    six days before another weighs half as much in the stream channel at 144 h, as much at 0."""

    def ratio(half_life: float) -> float:
        params = Params(
            adapt_after=0, adapt_half_life=half_life, adapt_support=1, near_weight=0, adapt_cap=0
        )
        tracker = Tracker("t", seeds, params=params)
        weather = tokenise("Weather", "Sunny")
        for day, feature in ((1, "older"), (7, "newer")):
            moment = datetime(2025, 3, day, tzinfo=UTC)
            tracker.observe_batch([weather], tracker.judge_batch([weather]), "f", moment)
            tracker._consider({feature: 1.0}, 10.0, 5.0, 5.0, None)
        tracker.observe_batch([], [], "f")  # the stream channel is refreshed after a batch
        q = tracker._stream.q
        return q["older"] / q["newer"]

    assert ratio(144.0) == pytest.approx(0.5)
    assert ratio(0.0) == pytest.approx(1.0)


def test_the_pool_s_recent_evidence_counts_items_by_their_age() -> None:
    """``recent(now)``: each pool item counts 0.5 ** (its age / ``half_life``) at ``now`` (the
    tracker's clock); without a clock or a half-life each counts 1, and an entry saved without a
    time counts as old as the oldest one."""
    hour = 3600.0
    ev = Evidence(
        pool_size=8, near_size=2, support=1, near_weight=0.0, cap=0.0, duplicate=0.9,
        half_life=72 * hour,
    )  # fmt: skip
    ev.admit({}, {"nuclear": 1.0}, at=0.0)
    ev.admit({}, {"troop": 1.0}, at=72 * hour)
    assert ev.recent(72 * hour) == pytest.approx(1.5)
    assert ev.recent(216 * hour) == pytest.approx(0.125 + 0.25)
    assert ev.recent(None) == 2.0
    legacy = Evidence(
        pool_size=8, near_size=2, support=1, near_weight=0.0, cap=0.0, duplicate=0.9,
        half_life=72 * hour,
    )  # fmt: skip
    legacy.restore([[{}, {"nuclear": 1.0}, None], [{}, {"troop": 1.0}, None, 72 * hour]], [])
    assert legacy.recent(72 * hour) == pytest.approx(2.0)


def test_a_pool_without_recent_evidence_weighs_less(seeds: list[str]) -> None:
    """A topic gone quiet: its pool admitted nothing for weeks, so the stream channel (what the
    pool learnt) weighs less and the seeds decide again, until recent evidence comes back.
    The pool's words alone score lower after the silence than when they were fresh."""
    params = Params(adapt_after=0, adapt_support=1, near_weight=0, adapt_cap=0)
    tracker = Tracker("t", seeds, params=params)
    weather = tokenise("Weather", "Sunny")
    day = datetime(2025, 3, 1, tzinfo=UTC)
    tracker.observe_batch([weather], tracker.judge_batch([weather]), "f", day)
    for i in range(params.adapt_floor):
        tracker._consider({"zephyr": 1.0, f"alpha{i}": 1.0, f"beta{i}": 1.0}, 10.0, 5.0, 5.0, None)
    tracker.observe_batch([], [], "f", day)

    def probe() -> float:  # the combined z of an item of the pool's words (its score is ~1)
        tracker.judge("Zephyr", "zephyr")
        return tracker._judged[0].z

    fresh = probe()
    weeks = day + timedelta(hours=4 * params.adapt_half_life)
    tracker.observe_batch([weather], tracker.judge_batch([weather]), "f", weeks)
    quiet = probe()
    assert quiet < fresh - 1.0
    for i in range(params.adapt_floor):  # the story is back
        tracker._consider({"zephyr": 1.0, f"gamma{i}": 1.0, f"delta{i}": 1.0}, 10.0, 5.0, 5.0, None)
    tracker.observe_batch([], [], "f", weeks)
    assert probe() > quiet + 1.0


def test_no_source_holds_more_than_a_quarter_of_the_pool() -> None:
    ev = Evidence(pool_size=8, near_size=2, support=2, near_weight=0.0, cap=0.0, duplicate=0.9)
    for i in range(5):
        ev.admit({}, {f"a{i}": 1.0}, "feed-a")
    ev.admit({}, {"b": 1.0}, "feed-b")
    kept = [entry[2] for entry in ev.state()["pool"]]
    assert kept == ["feed-a", "feed-a", "feed-b"]  # the newest two of feed-a stay
    assert [next(iter(e[1])) for e in ev.state()["pool"]] == ["a3", "a4", "b"]
    again = Evidence(pool_size=8, near_size=2, support=2, near_weight=0.0, cap=0.0, duplicate=0.9)
    again.restore(ev.state()["pool"], [])
    assert again.state() == ev.state()


def test_a_repeated_text_teaches_nothing(seeds: list[str]) -> None:
    """One feed sending the same on-topic text a hundred times (or several feeds carrying
    it) is one piece of evidence: the stream statistics and the scores of other items do
    not move, and a restart remembers it."""
    item = (
        "Lithuania to join coalition of the willing security force for Ukraine",
        "Lithuania said it would send troops to the international security force.",
    )
    probe = ("Denmark offers troops for the Ukraine force", "Denmark could send soldiers.")
    once = _warm(Tracker("t", seeds))
    once.observe(*item, once.judge(*item))
    flooded = _warm(Tracker("t", seeds))
    for n in range(100):
        flooded.observe_batch([tokenise(*item)] * 1, [flooded.judge(*item)], source=f"feed-{n % 3}")
    assert flooded.state()["n"] == once.state()["n"]
    assert flooded.judge(*probe).score == once.judge(*probe).score
    restarted = Tracker("t", seeds)
    restarted.restore(flooded.state())
    before = restarted.state()["n"]
    restarted.observe(*item, restarted.judge(*item))
    assert restarted.state()["n"] == before


# -- explicit feedback -----------------------------------------------------------------------

NEAR_MISS = (
    "Paris talks on Ukraine ceasefire: military chiefs discuss security guarantees",
    "Officials met in Paris to discuss security guarantees for Ukraine after a ceasefire "
    "with Russia, a French military official said.",
)


def test_feedback_on_a_near_miss_stops_it_hitting_and_removing_it_undoes_that(
    tracker: Tracker,
) -> None:
    original = tracker.judge(*NEAR_MISS)
    assert original.hit  # precondition: the profile alone takes it for the topic
    tracker.set_feedback([(NEAR_MISS[0], NEAR_MISS[1], False)])
    assert not tracker.judge(*NEAR_MISS).hit
    assert tracker.judge(*ON_TOPIC[0]).hit  # one click does not wreck the profile
    tracker.set_feedback([])
    assert tracker.judge(*NEAR_MISS) == original


def test_a_vetoed_item_leaves_the_stream_profile_but_not_the_pool() -> None:
    ev = Evidence(pool_size=4, near_size=4, support=1, near_weight=0.5, cap=0.0, duplicate=0.6)
    ev.admit({}, {"nuclear": 0.8, "deterrent": 0.6})
    ev.admit({}, {"troop": 0.8, "force": 0.6}, weight=0.5)
    ev.admit({}, {"troop": 0.6, "peace": 0.8})
    q = ev.profile()
    vetoed = ev.profile(vetoed=[{"nuclear": 0.6, "deterrent": 0.8}])  # cosine 0.96: a copy
    assert "nuclear" in q and "nuclear" not in vetoed
    assert vetoed["troop"] == pytest.approx((0.4 + 0.6) / 2)  # the weak item counts half
    # a copy of the weak item goes too, and the vetoed item is a near miss: "troop" cancels
    weak_copy = ev.profile(vetoed=[{"troop": 0.8, "force": 0.6}])
    assert weak_copy == pytest.approx({"nuclear": 0.4, "deterrent": 0.3, "peace": 0.4})
    assert ev.profile() == q  # the pool itself is untouched


def test_judging_an_item_irrelevant_takes_it_out_of_the_adaptation(seeds: list[str]) -> None:
    """What the adaptation learnt from a judged-irrelevant item (and its copies) stops
    counting; removing the judgement gives it back."""
    tracker = Tracker("t", seeds, params=Params(adapt_after=0))
    tracker.observe("Weather", "Sunny", tracker.judge("Weather", "Sunny"))
    wrong = [
        ("Macron opens debate on nuclear deterrent", "France's umbrella for European allies"),
        ("Poland open to a nuclear deterrent offer", "Warsaw welcomes the French proposal"),
    ]
    right = [
        ("Denmark ready to send peacekeepers", "Troops for a Ukraine force after a truce"),
        ("Australia may send peacekeepers", "Canberra weighs a contribution to the coalition"),
    ]
    for title, summary in (*wrong, *right):
        x = tracker._features(tokenise(title, summary, meaning=False))
        tracker._consider(x, 9.0, 9.0, 9.0, title)
    tracker._refresh_stream()
    learnt = dict(tracker._stream.q)
    assert "nuclear" in learnt and "peacekeep" in learnt  # each shared by two pool items
    tracker.set_feedback([(*wrong[0], False)])
    assert "nuclear" not in tracker._stream.q and "peacekeep" in tracker._stream.q
    assert len(tracker.state()["pool"]) == 4  # nothing is forgotten ...
    tracker.set_feedback([])
    assert tracker._stream.q == pytest.approx(learnt)  # ... so withdrawing it gives it back


def test_positive_feedback_raises_a_missed_item(tracker: Tracker) -> None:
    missed = (
        "Finland weighs contribution to reassurance mission",
        "Helsinki is studying whether to send engineers and logistics units.",
    )
    before = tracker.judge(*missed)
    assert not before.hit
    tracker.set_feedback([(missed[0], missed[1], True)])
    after = tracker.judge(*missed)
    assert after.hit
    assert after.score > before.score


# -- stories ---------------------------------------------------------------------------------

T0 = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)

# Re-written copies of one agency report, as different feeds carry it. (A copy whose headline
# changes the verb and the object, "Norway joins countries offering peacekeeping forces",
# shares only three headline words and may start its own story if it comes first.)
WIRE_COPIES = [
    (
        "Norway ready to send peacekeepers to Ukraine if needed",
        "Norway said it was prepared to send troops to Ukraine as part of a European "
        "peacekeeping mission, the foreign minister said.",
    ),
    (
        "Norway says it is ready to send peacekeeping troops to Ukraine",
        "Norway expressed willingness to contribute troops to a peacekeeping force in Ukraine "
        "to secure a peace agreement, broadcaster NRK reported.",
    ),
    (
        "Norway is ready to send peacekeepers to Ukraine",
        "Norway is ready to send its military to Ukraine if European peacekeeping forces "
        "are needed there, ministers told reporters.",
    ),
    (
        "Norway expresses readiness to send peacekeeping troops to Ukraine - media",
        "The Norwegian government and parliament agreed on a possible deployment of troops "
        "to Ukraine to support a future peace settlement.",
    ),
    (
        "Norway says it could deploy peacekeepers to Ukraine",
        "Norwegian leaders said troops could join a peacekeeping force in Ukraine after a "
        "ceasefire, according to the defence ministry.",
    ),
]

OTHER_STORIES = [
    (
        "Norway's sovereign wealth fund reports record returns",
        "The fund's value rose on technology shares.",
    ),
    (
        "Ukraine grain exports rise despite attacks on ports",
        "Shipments of wheat and corn increased in February.",
    ),
    (
        "Denmark postal service to stop delivering letters",
        "The company will end its letter service after 400 years.",
    ),
]


def _warm_grouper(grouper: StoryGrouper) -> StoryGrouper:
    for round_ in range(3):
        for i, (title, summary) in enumerate(BACKGROUND):
            grouper.assign(f"bg{round_}-{i}", title, summary, T0 - timedelta(hours=1))
    return grouper


def test_wire_copies_group_into_one_story_and_others_do_not() -> None:
    grouper = _warm_grouper(StoryGrouper())
    results = [
        grouper.assign(f"k{i}", title, summary, T0 + timedelta(hours=i))
        for i, (title, summary) in enumerate(WIRE_COPIES)
    ]
    assert results[0] == ("k0", True)
    assert all(story == "k0" and not first for story, first in results[1:])
    for j, (title, summary) in enumerate(OTHER_STORIES):
        story, first = grouper.assign(f"o{j}", title, summary, T0 + timedelta(hours=6))
        assert (story, first) == (f"o{j}", True)


def test_distinct_stories_on_one_subject_stay_apart_even_when_cold() -> None:
    grouper = StoryGrouper()
    offer = grouper.assign("offer", *WIRE_COPIES[0], T0)
    rejection = grouper.assign(
        "reject",
        "Kremlin rejects any European peacekeeping troops in Ukraine",
        "Moscow said European troops in Ukraine after a ceasefire would be unacceptable.",
        T0 + timedelta(hours=1),
    )
    assert offer == ("offer", True)
    assert rejection == ("reject", True)


def test_story_window_and_repeated_keys() -> None:
    grouper = _warm_grouper(StoryGrouper(window_seconds=86400))
    title, summary = WIRE_COPIES[0]
    assert grouper.assign("a", title, summary, T0) == ("a", True)
    assert grouper.assign("a", title, summary, T0) == ("a", False)  # same key, same story
    late = T0 + timedelta(days=3)
    assert grouper.assign("b", *WIRE_COPIES[2], late) == ("b", True)  # outside the window


def test_story_state_round_trips() -> None:
    a = _warm_grouper(StoryGrouper())
    for i, (title, summary) in enumerate(WIRE_COPIES[:3]):
        a.assign(f"k{i}", title, summary, T0 + timedelta(hours=i))
    b = StoryGrouper()
    b.restore(json.loads(json.dumps(a.state())))
    title, summary = WIRE_COPIES[3]
    when = T0 + timedelta(hours=5)
    assert b.assign("k3", title, summary, when) == a.assign("k3", title, summary, when)
    fresh = StoryGrouper()
    fresh.restore({})
    fresh.restore({"version": 42})
    assert fresh.assign("x", title, summary, when) == ("x", True)


# -- evaluation data (skipped when absent) ---------------------------------------------------


def test_dev_stream_reaches_the_floor(seeds: list[str]) -> None:
    path = EVAL_DIR / "dev.jsonl"
    if not path.exists():
        pytest.skip(f"evaluation data not found at {path} (needs ../shared/eval beside the repo)")
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    tracker = Tracker("ukraine-force", seeds)
    labels: list[int] = []
    hits: list[bool] = []
    for item in items:
        judgement = tracker.judge(item["title"], item["summary"])
        tracker.observe(item["title"], item["summary"], judgement)
        labels.append(int(item["label"]))
        hits.append(judgement.hit)
    result = metrics(labels, hits, DEFAULT_THRESHOLD)
    assert result.f1 >= 0.80, result
    assert result.cnorm <= 0.22, result


def test_what_a_poll_teaches_does_not_depend_on_the_order_it_lists_its_items_in(
    seeds: list[str],
) -> None:
    """A poll's items are learnt from with the scores they were judged with, so which of them
    the adaptation admits is the same whichever of them a feed lists first (the scores of
    later items used to be recomputed after the earlier ones had moved the statistics).
    Over the dev stream: a tracker that has read the first N items takes the next 60 as one
    poll, in the feed's order and reversed."""
    path = EVAL_DIR / "dev.jsonl"
    if not path.exists():
        pytest.skip(f"evaluation data not found at {path} (needs ../shared/eval beside the repo)")
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    tokens = [tokenise(item["title"], item["summary"]) for item in items]

    def pool_after(start: int, poll: list[Any]) -> list[tuple[str, float]]:
        """The admitted items (their features) and the weight each was admitted with."""
        tracker = Tracker("t", seeds)
        for k in range(0, start, 20):
            batch = tokens[k : min(k + 20, start)]
            tracker.observe_batch(batch, tracker.judge_batch(batch))
        tracker.observe_batch(poll, tracker.judge_batch(poll))
        return sorted(
            (json.dumps(x, sort_keys=True), round(math.sqrt(sum(w * w for w in u.values())), 9))
            for x, u, _, _ in tracker.state()["pool"]
        )

    admitted = 0
    for start in range(100, len(tokens) - 60, 100):
        poll = tokens[start : start + 60]
        pool = pool_after(start, poll)
        assert pool == pool_after(start, poll[::-1]), start
        admitted = max(admitted, len(pool))
    assert admitted >= 10  # the adaptation was learning


def test_the_tokens_path_scores_and_groups_exactly_as_the_text_path(seeds: list[str]) -> None:
    """The parser workers tokenise; the main process scores from their tokens. Over the dev
    stream (three passes, so adaptation, IDF refreshes and the story window all move) both
    paths must give the same scores, hits, explanations, stories and learnt state."""
    path = EVAL_DIR / "dev.jsonl"
    if not path.exists():
        pytest.skip(f"evaluation data not found at {path} (needs ../shared/eval beside the repo)")
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]

    def run(tokenised: bool) -> tuple[list[Any], list[Any]]:
        trackers = [
            Tracker("a", seeds, phrases=["coalition of the willing"], exclude=["football"]),
            Tracker("b", seeds),
        ]
        grouper = StoryGrouper(window_seconds=6 * 3600)
        out: list[Any] = []
        for n in range(3 * len(items)):
            item = items[n % len(items)]
            title, summary = item["title"], item["summary"]
            toks = tokenise(title, summary)
            judgements = []
            for tracker in trackers:
                if tokenised:
                    judgement = tracker.judge_tokens(toks)
                    tracker.observe_tokens(toks, judgement)
                else:
                    judgement = tracker.judge(title, summary)
                    tracker.observe(title, summary, judgement)
                judgements.append(judgement)
            when = T0 + timedelta(minutes=(7 * n) % 5000)
            story = None
            if judgements[0].hit or n % 3 == 0:
                key = f"k{n % 1000}"
                story = (
                    grouper.assign_tokens(key, toks, when)
                    if tokenised
                    else grouper.assign(key, title, summary, when)
                )
            out.append((judgements, story))
        return out, [*(t.state() for t in trackers), grouper.state()]

    text, text_state = run(False)
    toks, toks_state = run(True)
    assert sum(j[0].hit for j, _ in text) > 50  # the comparison covers hits
    for (ja, sa), (jb, sb) in zip(text, toks, strict=True):
        assert sa == sb
        for a, b in zip(ja, jb, strict=True):
            assert abs(a.score - b.score) <= 1e-12
            assert (a.hit, a.matched) == (b.hit, b.matched)
    assert text_state == toks_state


def test_a_cold_stream_ranks_the_topic_first_whatever_the_order(seeds: list[str]) -> None:
    """Twelve items, five on topic, in many orders, on a new install: every on-topic item
    outscores every off-topic one and nothing off topic hits, whatever came first (early
    on-topic items must not inflate the stream's statistics so much that later ones sink
    below the news)."""
    import random

    path = Path(__file__).resolve().parent / "data" / "clear_items.jsonl"
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    rng = random.Random(7)
    for _ in range(40):
        rng.shuffle(items)
        tracker = Tracker("t", seeds)
        on, off = [], []
        for item in items:
            judgement = tracker.judge(item["title"], item["summary"])
            tracker.observe(item["title"], item["summary"], judgement)
            (on if item["label"] == 2 else off).append(judgement)
        assert min(j.score for j in on) > max(j.score for j in off), [i["title"] for i in items]
        assert not any(j.hit for j in off)


def test_the_first_items_cannot_capture_the_adaptation(seeds: list[str]) -> None:
    """The first poll of a new install may bring a backlog of the wrong story first: nothing
    is admitted to the adaptation before the stream statistics rest on ``adapt_after`` items,
    so a confident near miss cannot become what the tracker learns."""
    tracker = Tracker("t", seeds)
    near_miss = [
        (
            f"{country} backs France's plan for security guarantees to Ukraine after Paris talks",
            f"{country}'s leader discussed the European security force for Ukraine, a "
            "ceasefire with Russia and military aid with President Emmanuel Macron in Paris.",
        )
        for country in ("Spain", "Italy", "Poland", "Sweden", "Finland", "Norway", "Greece")
    ]
    judged = [tracker.judge(*item) for item in near_miss]
    assert sum(j.hit for j in judged) >= 3  # confident items: adaptation would take them
    for item, judgement in zip(near_miss, judged, strict=True):
        tracker.observe(*item, judgement)
    assert tracker.state()["pool"] == []
    # without the wait, the same start is what the tracker would learn
    eager = Tracker("t", seeds, params=replace(Params(), adapt_after=0))
    for item in near_miss:
        eager.observe(*item, eager.judge(*item))
    assert eager.state()["pool"]


def test_a_seed_without_words_changes_nothing(seeds: list[str]) -> None:
    """A seed file of numbers and stopwords only (a saved page's date line, a stray export)
    has nothing to teach: `topic check` warns of it, and the profile and the meaning are those
    of the other seeds (it counted as a seed that uses no term, so every term's share fell)."""
    wordless = "2025-03-11 — 14:05 | 3 / 4 … and the of"
    plain, padded = Tracker("t", seeds), Tracker("t", [*seeds, wordless])
    assert padded.seeds_digest == plain.seeds_digest
    assert padded.same_seeds(seeds, ()) and plain.same_seeds([*seeds, wordless], ())
    for title, summary in (*ON_TOPIC, *OFF_TOPIC):
        assert padded.judge(title, summary) == plain.judge(title, summary)


# -- facets: headline terms the stream uses apart ----------------------------------------------

TRADE_SEEDS = [
    "Canada answers Trump tariffs with tariffs of its own\nOttawa lists goods worth billions.",
    "Trump tariffs on Canada take effect\nThe levies hit steel, aluminium and cars.",
    "Canada and Trump trade blows over tariffs\nProvinces pull American whisky from shelves.",
    "Trump tariffs: Canada retaliates\nThe prime minister calls the levies unjustified.",
]
# Trump's tariffs on others (the pair together, without Canada) and Canada without them
TARIFF_NEWS = [
    (f"Trump tariffs hit {who}", f"Exporters in {who} brace for the levies Trump announced.")
    for who in ("Mexico", "China", "Japan", "Germany", "Brazil", "India", "Korea", "Vietnam")
]
CANADA_NEWS = [
    (f"Canada {what}", f"News from Canada: {what}.")
    for what in (
        "wildfire season starts early",
        "wins the hockey final",
        "names a new central bank governor",
        "opens its largest wind farm",
        "reports record snowfall in the Rockies",
        "launches a satellite for Arctic weather",
        "celebrates its national day",
        "rail strike ends after two weeks",
    )
]


def _trade_tracker(params: Params | None = None) -> Tracker:
    tracker = _warm(Tracker("trade", TRADE_SEEDS, params=params or Params()))
    for title, summary in [*TARIFF_NEWS, *CANADA_NEWS]:
        tracker.observe(title, summary, tracker.judge(title, summary))
    tracker._refresh_seed()  # the facets are taken again at each refresh of the seed channel
    return tracker


def test_facets_group_the_headline_terms_the_stream_uses_together() -> None:
    counts = Cooccurrence(["canada", "tariff", "trump"])
    for _ in range(8):
        counts.add({"trump", "tariff", "china"})
    for _ in range(8):
        counts.add({"canada", "hockey"})
    counts.add({"canada", "trump", "tariff"})
    index = counts.facets(merge=0.7, least=7)
    assert index["trump"] == index["tariff"] != index["canada"]
    assert counts.terms == {"canada": 9, "trump": 9, "tariff": 9}
    assert counts.pairs[("tariff", "trump")] == 9 and counts.pairs[("canada", "tariff")] == 1
    # below ``least`` items for the rarer term nothing merges: every term is its own facet
    assert len(set(counts.facets(merge=0.7, least=10).values())) == 3
    # a facet every headline names is required; one that a headline lacks is not
    assert required_facets(index, [{"canada", "trump"}, {"canada", "tariff"}]) == sorted(
        {index["canada"], index["trump"]}
    )
    assert required_facets(index, [{"canada"}, {"trump"}]) == []


def test_facet_index_is_average_linkage_over_the_rarer_terms_share() -> None:
    single = {"a": 10, "b": 10, "c": 20}
    pair = {("a", "b"): 8, ("a", "c"): 10, ("b", "c"): 4}
    # a-c 1.0 merge first; then b joins them at (0.8 + 0.4) / 2 = 0.6: above 0.5, not 0.7
    assert facet_index(["a", "b", "c"], single, pair, 0.5, 1) == {"a": 0, "b": 0, "c": 0}
    assert facet_index(["a", "b", "c"], single, pair, 0.7, 1) == {"a": 0, "b": 1, "c": 0}


def test_an_item_covering_one_required_facet_scores_lower_than_one_covering_both() -> None:
    tracker = _trade_tracker()
    profile = tracker._profile
    assert len(profile.facet_req) == 2  # {Trump, tariffs} and {Canada}
    assert profile.facet_index["trump"] == profile.facet_index["tariff"]
    off = _trade_tracker(Params(facet_power=0.0))
    both = ("Trump tariffs hit car makers in Canada", "The levies start on Monday.")
    one = ("Trump tariffs hit car makers in Japan", "The levies start on Monday.")
    assert tracker.judge(*both).score > tracker.judge(*one).score
    assert tracker.judge(*one).score < off.judge(*one).score - 0.1  # the factor, not the words
    assert tracker.facets_note(*both) is None
    note = tracker.facets_note(*one)
    assert note is not None and note.startswith("covers 1 of the topic's 2 facets (not Canada;")


def test_a_topic_with_one_facet_is_unchanged() -> None:
    """Headlines that share one core term (the others vary) require one facet: the factor
    never fires, from the first item on."""
    seeds = [
        "Greenland votes in a snap election\nTurnout was high in Nuuk.",
        "Greenland rejects Trump's offer to buy the island\nThe premier says it is not for sale.",
        "Denmark and Greenland talk about independence\nNuuk wants a timetable.",
        "Greenland's new government takes office\nThe coalition promises a referendum.",
    ]
    news = [("Greenland election: Nuuk counts the votes", f"Results, {e}.") for e in _EDITIONS]
    on = Tracker("greenland", seeds)
    off = Tracker("greenland", seeds, params=Params(facet_power=0.0))
    assert len(on._profile.facet_req) == 1
    for tracker in (on, off):
        _warm(tracker)
        for title, summary in news:
            tracker.observe(title, summary, tracker.judge(title, summary))
    for title, summary in [*news, *ON_TOPIC, *OFF_TOPIC, ("Trump wants Greenland", "")]:
        assert on.judge(title, summary) == off.judge(title, summary)
        assert on.facets_note(title, summary) is None


def test_two_headline_terms_the_stream_uses_together_become_one_facet() -> None:
    seeds = [
        "Myanmar earthquake kills hundreds\nRescuers dig through rubble in Mandalay.",
        "Earthquake in Myanmar: death toll rises\nAid arrives in Mandalay.",
        "Myanmar earthquake survivors wait for help\nThe junta asks for aid.",
        "Strong earthquake shakes Myanmar and Thailand\nBuildings fell in Bangkok.",
    ]
    tracker = Tracker("quake", seeds)
    assert len(tracker._profile.facet_req) == 2  # no counts yet: each term its own facet
    for what in (
        "aid lands",
        "a school reopens",
        "rain falls",
        "the toll climbs",
        "a bridge falls",
        "monks help",
        "roads reopen",
        "a truce is called",
    ):
        title = f"Myanmar earthquake: {what}"
        tracker.observe(title, "", tracker.judge(title, ""))
    tracker._refresh_seed()
    assert len(tracker._profile.facet_req) == 1
    assert tracker.facets_note("Earthquake strikes Japan", "") is None


def test_facet_counts_and_facets_are_saved_and_restored() -> None:
    tracker = _trade_tracker()
    state = json.loads(json.dumps(tracker.state()))
    assert state["facets"]["terms"]["canada"] == 8
    assert state["facets"]["index"] == tracker._profile.facet_index
    restored = Tracker("trade", TRADE_SEEDS)
    restored.restore(state)
    assert restored._cooccurrence.pairs == tracker._cooccurrence.pairs
    assert restored._profile.facet_req == tracker._profile.facet_req
    probe = ("Trump tariffs hit car makers in Japan", "The levies start on Monday.")
    assert restored.judge(*probe) == tracker.judge(*probe)
    # a state saved before facets loads: counts start afresh, each term its own facet
    del state["facets"]
    old = Tracker("trade", TRADE_SEEDS)
    old.restore(state)
    assert old._n == tracker._n and not old._cooccurrence.terms
    assert len(set(old._profile.facet_index.values())) == len(old._profile.head_terms)
    assert old.judge(*probe).score > 0.0
    # ... and one saved under other seeds keeps nothing of them
    other = Tracker("trade", TRADE_SEEDS[:3])
    other.restore(json.loads(json.dumps(tracker.state())))
    assert not other._cooccurrence.terms


def test_headline_terms_are_bounded() -> None:
    words = [f"w{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(3 * HEAD_LIMIT)]
    seeds = [" ".join(words) + "\nsummary" for _ in range(3)]
    tracker = Tracker("many", seeds)
    assert len(tracker._profile.head_terms) == HEAD_LIMIT
    tracker.observe(" ".join(words), "", tracker.judge(" ".join(words), ""))
    saved = tracker.state()["facets"]
    assert len(saved["terms"]) == HEAD_LIMIT
    assert len(saved["pairs"]) == HEAD_LIMIT * (HEAD_LIMIT - 1) // 2
