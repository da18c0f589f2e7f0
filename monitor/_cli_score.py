"""``monitor classify`` and ``monitor eval``: the configured topics scored over a JSON Lines
stream, as the daemon would score it, writing nothing."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from ._classify import BadLine, StoryAlerts, batches, classify_batch, json_lines, text_of
from ._cli_common import check_topic, config_of
from ._errors import MonitorError
from ._evaluate import evaluate, report_json, report_table
from ._grouping import build_grouper
from ._progress import Progress
from ._relevance import Tracker
from ._runtime import apply_feedback, build_trackers
from ._storage import stored_feedback

__all__ = ["register"]


def register(sub: Any) -> None:
    classify = sub.add_parser("classify", help="score JSON Lines items as a stream; writes nothing")
    classify.add_argument("file", nargs="?", default="-", help="JSON Lines file, or - for stdin")
    _no_feedback_option(classify)
    classify.set_defaults(func=_cmd_classify)

    evaluate = sub.add_parser(
        "eval", help="score labelled JSON Lines items as a stream and print P, R, F1, Cnorm"
    )
    evaluate.add_argument("file", help="JSON Lines with a `label` (2 on topic, 1 brief, 0 off)")
    evaluate.add_argument("--topic", help="the topic the labels are for (default: the first)")
    evaluate.add_argument(
        "--labels",
        type=Path,
        help="JSON Lines of `id` and `label` (or a topic folder, for its labels.jsonl) instead "
        "of the items' own `label`; items marked `seed: true` are stream only",
    )
    evaluate.add_argument("--plot", type=Path, help="write a precision-recall curve (PNG)")
    evaluate.add_argument("--format", choices=["table", "json"], default="table")
    _no_feedback_option(evaluate)
    evaluate.set_defaults(func=_cmd_eval)


def _no_feedback_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-feedback",
        action="store_true",
        help="ignore the judgements in the database (seeds and stream only)",
    )


def _scoring_parts(
    args: argparse.Namespace,
) -> tuple[list[Tracker], StoryAlerts, dict[str, int] | None]:
    """The daemon's trackers and grouper for ``classify``/``eval``: seeds, plus the database's
    judgements (read-only) unless ``--no-feedback``; never the daemon's learned stream state,
    so that a run depends only on its input. Also how many judgements each topic was given
    (None: ``--no-feedback``), for the output to say."""
    config = config_of(args)
    trackers = build_trackers(config.topics)
    judged = None
    if not args.no_feedback:
        given = apply_feedback(trackers, stored_feedback(config))
        judged = {name: len(rows) for name, rows in given.items()}
    return trackers, StoryAlerts(build_grouper(config.settings.story_window)), judged


def _cmd_classify(args: argparse.Namespace) -> int:
    trackers, stories, judged = _scoring_parts(args)
    applied = sum((judged or {}).values())
    if applied:  # on stderr: stdout is one JSON line per item
        print(
            f"classify: {applied} stored judgement{'s' if applied != 1 else ''} applied (an "
            "item judged, or a near copy, scores as judged; --no-feedback leaves them out)",
            file=sys.stderr,
        )
    with _open_input(args.file) as lines:
        for batch in batches(json_lines(lines)):
            for (number, item), out in zip(
                batch, classify_batch(batch, trackers, stories), strict=True
            ):
                _warn_bad(number, item)
                sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    return 0


def _warn_bad(number: int, item: dict[str, Any] | BadLine) -> None:
    if isinstance(item, BadLine):
        print(f"monitor: line {number}: {item}", file=sys.stderr)


def _cmd_eval(args: argparse.Namespace) -> int:
    trackers, stories, given = _scoring_parts(args)
    names = [t.name for t in trackers]
    topic = args.topic or names[0]
    check_topic(topic, names)
    labels = _read_labels(args.labels) if args.labels else None
    labelled: list[tuple[int, float, bool]] = []
    texts: list[tuple[str, str]] = []
    unlabelled = 0
    with _open_input(args.file) as lines, Progress("eval") as progress:  # on a terminal only
        judged = (
            pair
            for batch in batches(json_lines(lines))
            for pair in zip(batch, classify_batch(batch, trackers, stories), strict=True)
        )
        for (number, item), out in judged:
            progress.advance()
            _warn_bad(number, item)
            if isinstance(item, BadLine):
                label = None
            elif labels is not None:
                label = labels.get(str(item.get("id")))
            else:
                label = item.get("label")
            if isinstance(item, BadLine) or label not in (0, 1, 2):
                unlabelled += 1  # still part of the stream: the trackers learnt from it
                continue
            labelled.append((label, out["topics"][topic], topic in out["hit_topics"]))
            texts.append(text_of(item))
    if not labelled and labels is not None:
        raise MonitorError(
            f"{args.file}: no item's `id` has a label 0, 1 or 2 in {args.labels} "
            f"({len(labels)} labels; the ids must be the items' `id` fields)"
        )
    if not labelled:
        raise MonitorError(f"{args.file}: no item with a `label` of 0, 1 or 2")
    tracker = trackers[names.index(topic)]
    report = evaluate(labelled, texts, tracker.threshold, tracker.keywords())
    counts = {n: sum(1 for label, _, _ in labelled if label == n) for n in (2, 1, 0)}
    applied = None if given is None else given[topic]
    if args.format == "json":
        out = report_json(report, topic, counts, unlabelled, applied)
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
    else:
        sys.stdout.write(report_table(report, topic, counts, unlabelled, applied))
    if args.plot:
        from ._plot import plot_curve

        plot_curve(report, args.plot, title=f"{topic}: {Path(args.file).name}")
        print(f"wrote {args.plot}", file=sys.stderr)
    return 0


def _read_labels(path: Path) -> dict[str, int | None]:
    """``id`` -> label from a labels file (a topic folder: its ``labels.jsonl``); seed items
    map to None (stream only)."""
    if path.is_dir():
        path = path / "labels.jsonl"
    out: dict[str, int | None] = {}
    with _open_input(str(path)) as lines:
        for number, row in json_lines(lines):
            if isinstance(row, BadLine) or "id" not in row or row.get("label") not in (0, 1, 2):
                raise MonitorError(f'{path}: line {number}: expected {{"id": …, "label": 0|1|2}}')
            out[str(row["id"])] = None if row.get("seed") else int(row["label"])
    return out


@contextmanager
def _open_input(name: str) -> Iterator[IO[str]]:
    if name == "-":
        try:
            yield sys.stdin
        except UnicodeDecodeError as exc:
            raise MonitorError(f"standard input: not UTF-8 text ({exc.reason})") from None
        return
    try:
        handle = open(name, encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        raise MonitorError(f"{name}: cannot read: {exc.strerror}") from None
    with handle:
        try:
            yield handle
        except UnicodeDecodeError as exc:
            raise MonitorError(f"{name}: not UTF-8 text ({exc.reason}); save it as UTF-8") from None
