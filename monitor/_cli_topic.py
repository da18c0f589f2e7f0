"""``monitor topic check NAME``: what a topic rests on (and the ``topic`` and ``explain``
commands' registration; ``explain`` is ``_cli_explain``). Reads only; the I/O is here, the
judging is the trackers'."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from statistics import median
from typing import Any

from ._classify import StoryAlerts, batches, classify_batch
from ._cli_common import check_topic, config_of
from ._cli_explain import cmd_explain
from ._cli_types import positive
from ._config import Config
from ._grouping import build_grouper
from ._output import clean, json_text, score_text
from ._relevance import SeedFile, Tracker, model_available, readable
from ._runtime import apply_feedback, new_tracker, topic_seed_files
from ._storage import Store, check_database_folder, uses_postgres

__all__ = ["register"]

_BACKTEST_ITEMS = 5000


def register(sub: Any, storage: Callable[[argparse.Namespace], Store]) -> None:
    """Add ``topic`` and ``explain`` to the CLI's subcommands."""
    topic = sub.add_parser("topic", help="inspect a topic: what its seeds rest on, a backtest")
    verbs = topic.add_subparsers(dest="verb", required=True)
    check = verbs.add_parser(
        "check",
        help="how distinctive the seeds are, the terms and phrases the profile rests on, and "
        "what would have hit over the stored items",
    )
    check.add_argument("name", help="the topic's name in the config")
    check.add_argument(
        "--items",
        type=positive,
        default=_BACKTEST_ITEMS,
        help=f"replay this many of the latest stored items (default {_BACKTEST_ITEMS})",
    )
    check.add_argument("--format", choices=["table", "json"], default="table")
    check.set_defaults(func=lambda args: cmd_topic_check(args, storage))

    explain = sub.add_parser("explain", help="why a stored item was or was not a hit")
    explain.add_argument("id", help="hit id (hit_…), item id or link")
    explain.add_argument("--format", choices=["table", "json"], default="table")
    explain.set_defaults(func=lambda args: cmd_explain(args, storage))


def _topic(config: Config, name: str) -> int:
    names = [t.name for t in config.topics]
    check_topic(name, names)
    return names.index(name)


# A seed whose meaning is this far from the others' (cosine with their mean vector) is taken
# for another story: the seeds we have agree at 0.45-0.94; a seed of another topic mixed into
# a four-item topic scored 0.16. It must also stand out from the other seeds by _OUTLIER:
# four short headlines on one broad story sit at 0.25-0.35 together, none of them the odd one.
_FAR_IN_MEANING = 0.3
_OUTLIER = 0.15


def _warnings(described: dict[str, Any]) -> list[str]:
    """What to look at before relying on the topic, each seed named by its file."""
    files: list[str] = described["files"]

    def names(numbers: list[int], last: str = " and ") -> str:
        named = [files[n - 1] for n in numbers]
        return ", ".join(named[:-1]) + last + named[-1] if len(named) > 1 else named[0]

    out = []
    if described["seeds"] < 2:
        lines = described["lines"][0] if described["lines"] else 0
        pasted = f", one file of {lines} lines read as one text" if lines > 1 else ""
        out.append(
            f"one seed{pasted}: the profile is that text's words; give about four items or "
            "five articles about the same story, one per file"
        )
    for name in described["no_words"]:
        out.append(
            f"seed {name} has no word to read (it is empty, or only punctuation, numbers, "
            "markup or common words such as 'the'): it adds nothing to the topic; put the "
            "article's text in it, or delete it"
        )
    for group in described["same_text"]:
        out.append(
            f"seeds {names(group)} are the same text: it counts {len(group)} times in the profile, "
            "and its words look shared by several seeds"
        )
    by_seeds: dict[tuple[int, ...], list[str]] = {}
    for line, owners in described.get("shared_lines") or []:
        by_seeds.setdefault(tuple(owners), []).append(line)
    for owners, texts in by_seeds.items():
        which = names(list(owners))
        quoted = "; ".join(repr(t[:60] + ("…" if len(t) > 60 else "")) for t in texts[:3])
        more = f" and {len(texts) - 3} more" if len(texts) > 3 else ""
        out.append(
            f"seeds {which} share {len(texts)} line{'s' if len(texts) > 1 else ''} ({quoted}"
            f"{more}): if that is a page's boilerplate (newsletter, copyright, menu), delete it "
            "from the seed files, or its words weigh in the profile as the story's"
        )
    shared = described["shared"]
    if described["seeds"] >= 2 and shared and max(shared) < 0.2:
        out.append(
            "the seeds share almost no words: the profile is their union, so it matches each "
            "seed's own surroundings; give seeds about one story"
        )
    if not described["phrases"]:
        out.append("no phrase recurs across the seeds: matching rests on single words")
    meaning = described.get("meaning") or []
    foreign = described["not_english"]
    # the meaning model reads English: a foreign seed's closeness says little of its story
    unjudged = {*described["no_words"], *(files[n - 1] for n in foreign)}
    out += _meaning_warnings(meaning, files, unjudged)
    for name in described["unread_script"]:
        read = described["words"][files.index(name)] if name in files else 0
        out.append(
            f"seed {name} is mostly in a script other than Latin, which the word channels "
            f"do not read ({read} words read{'' if read else ': it adds nothing to the topic'})"
            ": only Latin-script text makes words"
        )
    if foreign:
        if len(foreign) == described["seeds"]:
            subject = "the seeds do not"
        elif len(foreign) == 1:
            subject = f"seed {names(foreign)} does not"
        else:
            subject = f"seeds {names(foreign, ', ')} do not"
        model = (
            "; the meaning model reads English too, so their closeness in meaning to the "
            "others is not checked"
            if meaning
            else ""
        )
        out.append(
            f"{subject} read as English (few or no words such as 'the' or 'and'): the "
            "stopwords and the stemmer are English, so such seeds match only items in their "
            f"own language, and that language's common words weigh as topic words{model}"
        )
    for word, rate in described["common"]:
        out.append(
            f"{word!r} is in {rate:.0%} of the stored items: it cannot tell the topic from its "
            "surroundings; seeds that share a rarer name or event word discriminate better"
        )
    return out


def cmd_topic_check(
    args: argparse.Namespace, open_storage: Callable[[argparse.Namespace], Store]
) -> int:
    config = config_of(args)  # sends nothing: no alert secrets needed
    topic = config.topics[_topic(config, args.name)]
    files = topic_seed_files(topic)
    tracker = new_tracker(topic, [seed.text for seed in files if seed.text])
    backtest = None
    check_database_folder(config)  # a missing folder is a config error, not "no database yet"
    # first: the replay teaches the stream's statistics
    if uses_postgres(config) or config.settings.database.exists():
        storage = open_storage(args)
        apply_feedback([tracker], storage.feedback(args.name))
        backtest = _backtest(tracker, storage, config, args.items)
    described = _with_words(tracker.describe(), [seed for seed in files if seed.text])
    described["no_words"] += [seed.name for seed in files if not seed.text]
    described["no_words"].sort()
    report: dict[str, Any] = {"topic": args.name, **described, "warnings": _warnings(described)}
    report["keyword_baseline"] = tracker.keywords()
    report["backtest"] = backtest
    if args.format == "json":
        sys.stdout.write(json_text(report))
    else:
        sys.stdout.write(clean(_check_table(report)))  # backtest titles come from feeds
    return 0


_PER_SEED = ("lines", "words", "shared", "english", "meaning")  # one value per seed, in order


def _with_words(described: dict[str, Any], seeds: list[SeedFile]) -> dict[str, Any]:
    """The tracker's description (of every seed file that gives any text, as the daemon
    reads them) told of the seeds that give the topic words only: counted, listed, measured
    and numbered among themselves (``files``: seed n is ``files[n - 1]``); the others, which
    add nothing, named in ``no_words``; those mostly in a script the tokeniser does not read,
    named in ``unread_script`` instead (their own warning says so; a seed with a few Latin
    words among them is counted too)."""
    other_script = set(described["unread_script"])
    kept = [n for n, seed in enumerate(seeds, 1) if readable(seed.text)]
    number = {old: new for new, old in enumerate(kept, 1)}

    def renumber(numbers: list[int]) -> list[int]:
        return [number[n] for n in numbers if n in number]

    out = dict(described)
    out["seeds"] = len(kept)
    out["files"] = [seeds[n - 1].name for n in kept]
    out["no_words"] = [
        seed.name for n, seed in enumerate(seeds, 1) if n not in number and n not in other_script
    ]
    for key in _PER_SEED:  # meaning: None (channel off) or [] (one seed) says so
        if described.get(key) and len(described[key]) == len(seeds):
            out[key] = [described[key][n - 1] for n in kept]
    if out.get("meaning") and len(kept) < 2:  # as of one seed: no other to be close to
        out["meaning"] = []
    out["not_english"] = renumber(described["not_english"])
    out["unread_script"] = [seeds[n - 1].name for n in sorted(other_script)]
    out["same_text"] = [g for g in map(renumber, described["same_text"]) if len(g) > 1]
    out["shared_lines"] = [
        (line, owners)
        for line, numbers in described["shared_lines"]
        if len(owners := renumber(numbers)) > 1
    ]
    return out


def _backtest(tracker: Tracker, storage: Store, config: Config, limit: int) -> dict[str, Any]:
    """Replay the latest stored items through a fresh tracker, feed batch by feed batch (the
    items of feeds scored for other topics only are not the topic's stream)."""
    rows = [
        row
        for row in storage.recent_items(limit)
        if not row["feed_topics"] or tracker.name in json.loads(row["feed_topics"])
    ]
    numbered = [
        (
            row["id"],
            {
                "title": row["title"],
                "summary": row["summary"],
                "link": row["link"],
                # learnt oldest first, as the daemon learnt a poll (it stores the hits last)
                "published": row["published"],
                "feed": (row["feed_id"], row["first_seen"]),
            },
        )
        for row in rows
    ]
    stories = StoryAlerts(build_grouper(config.settings.story_window))
    by_id = {row["id"]: row for row in rows}
    scored: list[dict[str, Any]] = []
    for batch in batches(numbered):
        for (number, _), out in zip(batch, classify_batch(batch, [tracker], stories), strict=True):
            row = by_id[number]
            matched = [m["feature"] for m in out["matched"][:5]]
            scored.append(
                {
                    "id": number,
                    "score": out["score"],
                    "hit": out["hit"],
                    "vetoed": bool(matched) and matched[0].startswith("excluded:"),
                    "title": row["title"],
                    "feed": row["feed"],
                    "matched": matched,
                }
            )
    scored.sort(key=lambda entry: -entry["score"])
    hits = [entry for entry in scored if entry["hit"]]
    return {
        "items": len(rows),
        "hits": len(hits),
        "top_hits": hits[:10],
        "nearest_misses": [e for e in scored if not e["hit"] and not e["vetoed"]][:5],
        "vetoed": [e for e in scored if e["vetoed"]][:5],  # may score 1: not near misses
    }


def _meaning_warnings(
    meaning: list[float | None], files: list[str], unjudged: set[str]
) -> list[str]:
    """Seeds the model cannot read; a seed far in meaning from the others and unlike them in
    that, or seeds all far apart (``files``: the seeds' names; the ``unjudged`` ones, warned
    of already, are about nothing rather than another story, or not in English, which the
    model does not read)."""
    out = [
        f"seed {files[n - 1]} has no word the model reads (the semantic channel leaves it out)"
        for n, v in enumerate(meaning, 1)
        if v is None
    ]
    known = [
        (n, v) for n, v in enumerate(meaning, 1) if v is not None and files[n - 1] not in unjudged
    ]
    values = [v for _, v in known]
    far = [
        f"{files[n - 1]} ({v:.2f})"
        for k, (n, v) in enumerate(known)
        if v < _FAR_IN_MEANING and v < median(values[:k] + values[k + 1 :] or [v]) - _OUTLIER
    ]
    if far:
        out.append(
            f"{'seeds' if len(far) > 1 else 'seed'} {', '.join(far)} "
            f"{'are' if len(far) > 1 else 'is'} far in meaning from the others: probably about "
            "another story, and the profile then matches that story too"
        )
    elif len(values) >= 2 and median(values) < _FAR_IN_MEANING:
        out.append(
            f"the seeds are far apart in meaning (median {median(values):.2f}): short texts on "
            "one broad story can be; seeds about one event give a sharper topic"
        )
    return out


def _meaning_line(meaning: list[float | None] | None, files: list[str]) -> str:
    if meaning is None and model_available():
        return "semantic channel: off (no seed has a word the model reads)"
    if meaning is None:
        return "semantic channel: off (the wordllama package is not installed)"
    if not meaning:
        return "closeness in meaning of each seed to the others: (one seed)"
    return "closeness in meaning of each seed to the others (cosine, 1 = same): " + ", ".join(
        f"{name} {v:.2f}" if v is not None else f"{name} (none)"
        for name, v in zip(files, meaning, strict=True)
    )


def _check_table(report: dict[str, Any]) -> str:
    lines = [
        f"topic {report['topic']}: {report['seeds']} seeds "
        f"({', '.join(str(w) for w in report['words'])} words), threshold {report['threshold']}",
        "share of each seed's words another seed also uses: "
        + ", ".join(f"{n} {s:.0%}" for n, s in zip(report["files"], report["shared"], strict=True)),
        _meaning_line(report.get("meaning"), report["files"]),
        "",
        "the profile rests on (share of its weight):",
        "  terms:   " + ", ".join(f"{t} {w:.1%}" for t, w in report["terms"]),
        "  phrases: " + (", ".join(f"{t} {w:.1%}" for t, w in report["phrases"]) or "(none)"),
        "keyword alert for comparison: "
        + " OR ".join(f'"{k}"' for k in report["keyword_baseline"]),
    ]
    for warning in report["warnings"]:
        lines.append(f"warning: {warning}")
    test = report["backtest"]
    lines.append("")
    if test is None:
        lines.append("backtest: no database yet (run `monitor once` to collect items)")
    else:
        lines.append(
            f"backtest over the latest {test['items']} stored items, replayed as they arrived: "
            f"{test['hits']} hits"
        )
        shown = [("top hits", "top_hits"), ("nearest misses", "nearest_misses")]
        if test["vetoed"]:
            shown.append(("vetoed by an exclude phrase", "vetoed"))
        for title, key in shown:
            lines.append(f"{title}:")
            for e in test[key]:
                score = score_text(e["score"], report["threshold"])
                lines.append(f"  {score}  {e['title'][:70]}  [{', '.join(e['matched'])}]")
    return "\n".join(lines) + "\n"
