"""Hostile text reaches no terminal or spreadsheet (issue 11): `monitor hits`/`deliveries`
tables carry no escape or control sequence (cut after cleaning, so no half sequence is left),
CSV cells cannot start a formula (OWASP CSV injection), JSON carries no raw C1 control."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from pathlib import Path

import pytest

from monitor._output import cell, render, score_text, table
from tests.feedserver import FeedServer
from tests.helpers import cli, serve_items, write_config

OSC_LINK = "\x1b]8;;https://evil.example/\x07click me\x1b]8;;\x07"
HOSTILE = [
    {"id": "hit_1", "title": OSC_LINK + " " + "x" * 80, "score": -0.5},
    {"id": "hit_2", "title": "\x1b[2J\x1b[31mred\x1b[0m \x9b31m c1 \x07bell\x08\x7f", "score": 1.0},
    {"id": "hit_3", "title": '=HYPERLINK("https://evil.example","x")', "score": 0.1},
    {"id": "hit_4", "title": "+1", "feed": "@SUM(A1)", "link": "-2+3", "score": 0.2},
    {"id": "hit_5", "title": "\tcmd", "feed": "\rcmd", "score": 0.3},
]
CONTROLS = {chr(c) for c in [*range(0, 9), *range(11, 32), *range(0x7F, 0xA0)]}


def test_table_has_no_escape_or_control_characters() -> None:
    text = render(HOSTILE, "table", ("id", "title", "score"))
    assert not CONTROLS & set(text.replace("\n", ""))
    assert "click me" in text and "red" in text  # the text stays, the sequences go
    assert "8;;https://evil" not in text  # the hyperlink's parameters are gone too


def test_csv_cells_cannot_start_a_formula() -> None:
    text = render(HOSTILE, "csv", ("id", "title", "score"))
    rows = list(csv.DictReader(io.StringIO(text)))
    for row in rows:
        for name, value in row.items():
            if name == "score":
                continue
            assert not value or value[0] not in "=+-@\t\r", (name, value)
    assert rows[2]["title"].startswith("'=HYPERLINK(")
    assert rows[0]["score"] == "-0.5"  # numbers are numbers
    assert not CONTROLS & set(text.replace("\n", "").replace("\r", ""))


def test_json_escapes_every_control_character() -> None:
    text = render(HOSTILE, "json", ("id", "title"))
    assert not CONTROLS & set(text.replace("\n", ""))
    assert json.loads(text)[1]["title"].startswith("\x1b[2J")  # data kept, escaped


def test_csv_of_no_rows_has_no_header_of_another_shape() -> None:
    """With rows, a CSV's header is every field of the rows; with none it was the table's
    shorter column list, so a script saw two different headers from one command."""
    assert render([], "csv", ("id", "title")) == ""
    assert render([], "json", ("id", "title")) == "[]\n"


def test_explain_feedback_and_topic_check_print_no_escape_from_a_feed(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The reports that print an item's text outside a table (`explain`, `feedback`'s
    confirmation, `topic check`'s backtest) let a hostile feed write to the terminal."""
    title = "\x1b[2J\x1b[31mParis\x1b[0m coalition of the willing \x9b31m military chiefs"
    item = {"feed": "f", "title": title, "summary": "Ukraine security force \x1b]8;;x\x07"}
    urls = serve_items(feed_server, [item])
    config = write_config(tmp_path, list(urls.values()))
    assert cli(config, "once") == 0
    capsys.readouterr()
    for args in (
        ["explain", "1"],
        ["explain", "1", "--format", "json"],
        ["feedback", "1", "--irrelevant"],
        ["topic", "check", "paris-coalition"],
    ):
        assert cli(config, *args) == 0, args
        out = capsys.readouterr().out
        assert not any(c in out for c in "\x1b\x9b\x07"), (args, out)
        assert "coalition of the willing" in out or args[0] == "topic", (args, out)


def test_each_field_has_one_type_in_json_and_csv(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A script reading `--format json` or `csv` got `paused` as 0/1 beside `alerted` as
    true, `relevant` as a word, `matched` as objects in JSON and as pairs in CSV, `alerted`
    as Python's True in CSV, and search's `hits` as one space-joined string."""
    items = [{"feed": "f", "title": t, "summary": s} for t, s in (
        ("Military chiefs from 30 countries meet in Paris on a Ukraine security force",
         "A coalition of the willing led by France and Britain plans peacekeepers for Ukraine."),
        ("Paris fashion week closes", "Designers show their autumn collections in Paris."),
    )]  # fmt: skip
    urls = serve_items(feed_server, items)
    config = write_config(tmp_path, list(urls.values()))
    assert cli(config, "once") == 0

    def out(*args: str) -> str:
        capsys.readouterr()
        assert cli(config, *args) == 0, args
        return capsys.readouterr().out

    [hit] = json.loads(out("hits", "--format", "json"))
    assert hit["alerted"] is True and isinstance(hit["matched"][0], dict)
    [row] = csv.DictReader(io.StringIO(out("hits", "--format", "csv")))
    assert row["alerted"] == "true"
    assert json.loads(row["matched"]) == hit["matched"]  # the JSON's objects, not pairs
    assert json.loads(row["deliveries"]) == hit["deliveries"]

    assert cli(config, "feeds", "pause", next(iter(urls.values()))) == 0
    [feed] = json.loads(out("feeds", "--format", "json"))
    assert feed["paused"] is True
    [feed_row] = csv.DictReader(io.StringIO(out("feeds", "--format", "csv")))
    assert feed_row["paused"] == "true"

    assert cli(config, "feedback", hit["id"], "--irrelevant") == 0
    [judged] = json.loads(out("feedback", "--list", "--format", "json"))
    assert judged["relevant"] is False
    assert "irrelevant" in out("feedback", "--list")  # the table says it in words

    found = json.loads(out("search", "Paris", "--format", "json"))
    by_title = {r["title"][:8]: r for r in found}
    assert by_title["Military"]["hits"] == [hit["id"]] and by_title["Paris fa"]["hits"] == []


def test_a_score_reads_on_the_side_of_the_threshold_it_is_on() -> None:
    """At 3 decimals, 0.549732 read 0.550 beside a threshold of 0.55 and was called below it."""
    assert score_text(0.549732, 0.55) == "0.5497"
    assert score_text(0.980566, 0.981) == "0.9806"
    assert score_text(0.5492, 0.5491) == "0.5492"  # a hit does not read as under it either
    assert score_text(0.6, 0.55) == "0.600" and score_text(0.55, 0.55) == "0.550"
    assert score_text(0.5499999999999, 0.55) == "0.5499999999999"


def _columns(text: str) -> int:
    """Terminal columns: East Asian wide and fullwidth characters take two, combining marks
    none."""
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in text
    )


def test_cells_are_cut_and_padded_by_display_width() -> None:
    """A 63-character CJK title (126 columns) was not cut at a width of 60, and CJK cells
    pushed the next columns out of line: cells are cut and padded by the columns they take."""
    cjk = "欧洲军事首脑在巴黎会晤讨论乌克兰维和部队部署问题" * 3  # 72 characters
    cjk = cjk[:63]
    cut = cell(cjk, 60)
    assert cut.endswith("…") and _columns(cut) <= 60, (cut, _columns(cut))
    assert _columns(cut) >= 59
    accented = "Zelenskyy" + "\u0301" * 3 + " meets Starmer"  # combining marks: no width
    assert cell(accented, 60) == accented
    rows = [
        {"title": cjk, "topic": "paris"},
        {"title": "Military chiefs meet in Paris", "topic": "paris"},
        {"title": "東京", "topic": "tokyo"},
    ]
    lines = table(rows, ["title", "topic"]).splitlines()
    starts = {
        _columns(line[: line.index("paris" if "paris" in line else "tokyo")]) for line in lines[2:]
    }
    assert len(starts) == 1, lines
    assert _columns(lines[1].split("  ")[0]) == max(_columns(cell(r["title"], 60)) for r in rows)
