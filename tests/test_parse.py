"""parse_feed, canonical_link and the ParserPool.

Golden files: each ``tests/data/feeds/<name>.{xml,rdf}`` has its expected normalised output in
``<name>.json``. After an intended change, regenerate them with
``MONITOR_UPDATE_GOLDEN=1 pytest tests/test_parse.py`` and review the diff.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import subprocess
import sys
import time
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from monitor._errors import ParseError
from monitor._models import Entry, ParsedFeed
from monitor._parse import canonical_link, fingerprint, parse_feed, plain_text
from monitor._parsepool import ParserPool
from monitor._relevance import tokenise
from tests.feedserver import rss

FEEDS = Path(__file__).parent / "data" / "feeds"
URL = "https://news.example.com/feeds/main.xml"
HEADERS = {"Content-Type": "application/xml"}
NOW = datetime.now(UTC)  # the clock the tests hand the parser
GOLDEN = sorted(p for p in FEEDS.iterdir() if p.suffix in (".xml", ".rdf"))


def as_json(feed: ParsedFeed) -> dict[str, Any]:
    def entry(e: Entry) -> dict[str, Any]:
        published = e.published.isoformat() if e.published else None
        return {
            "key": e.key,
            "title": e.title,
            "summary": e.summary,
            "link": e.link,
            "published": published,
            "fingerprint": e.fingerprint,
        }

    return {
        "title": feed.title,
        "warning": feed.warning,
        "entries": [entry(e) for e in feed.entries],
    }


@pytest.mark.parametrize("source", GOLDEN, ids=[p.name for p in GOLDEN])
def test_golden(source: Path) -> None:
    actual = as_json(parse_feed(source.read_bytes(), url=URL, headers=HEADERS, now=NOW))
    expected_file = source.with_suffix(".json")
    if os.environ.get("MONITOR_UPDATE_GOLDEN"):
        text = json.dumps(actual, indent=2, ensure_ascii=False) + "\n"
        expected_file.write_text(text, encoding="utf-8")
    assert actual == json.loads(expected_file.read_text(encoding="utf-8"))


def test_golden_files_exist() -> None:
    assert len(GOLDEN) >= 4
    assert all(p.with_suffix(".json").exists() for p in GOLDEN)


def parse(body: bytes, url: str = URL, **headers: str) -> ParsedFeed:
    return parse_feed(body, url=url, headers=headers or HEADERS, now=NOW)


def one(item: dict[str, Any], url: str = URL) -> Entry:
    (entry,) = parse(rss([item]), url=url).entries
    return entry


# -- keys ---------------------------------------------------------------------------------


def test_key_prefers_the_guid_stripped() -> None:
    entry = one({"title": "t", "link": "https://e.test/a", "guid": "  g-1 \n"})
    assert entry.key == "id:g-1"


def test_atom_id_is_kept_as_written_not_resolved() -> None:
    # An id is an opaque identifier: resolving a relative one against the feed URL (as
    # feedparser does when given a base) would change every key when the feed moves.
    body = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>f</title>'
        b"<entry><id>story/1</id><title>t</title><link href='story/1'/></entry></feed>"
    )
    feed = parse_feed(
        body, url="https://e.test/feed/", headers={"Content-Location": "/v2/"}, now=NOW
    )
    assert feed.entries[0].key == "id:story/1"
    assert feed.entries[0].link == "https://e.test/v2/story/1"


def test_key_falls_back_to_the_canonical_link() -> None:
    entry = one({"title": "t", "link": "HTTPS://E.test:443/a?utm_source=x&b=2&a=1#top"})
    assert entry.key == "link:https://e.test/a?a=1&b=2"
    assert entry.link == "https://E.test:443/a?utm_source=x&b=2&a=1#top"  # as given, absolute


def test_key_falls_back_to_a_hash_of_title_and_summary() -> None:
    a = one({"title": "Same", "summary": "one"})
    b = one({"title": "Same", "summary": "two"})
    assert a.key.startswith("hash:") and len(a.key) == len("hash:") + 40
    assert a.key != b.key
    assert a.key == one({"title": "Same", "summary": "one"}).key


def test_entries_without_title_summary_or_link_are_skipped() -> None:
    published = datetime(2026, 11, 1, tzinfo=UTC)
    feed = parse(rss([{"guid": "x", "published": published}, {"title": "kept"}]))
    assert [e.title for e in feed.entries] == ["kept"]


def test_relative_link_is_absolutised_against_the_feed_url() -> None:
    entry = one({"title": "t", "link": "../story/1"}, url="https://e.test/feeds/x/rss")
    assert entry.link == "https://e.test/feeds/story/1"


def test_relative_link_uses_content_location() -> None:
    body = rss([{"title": "t", "link": "story"}])
    feed = parse_feed(
        body, url="https://e.test/feed", headers={"Content-Location": "/v2/"}, now=NOW
    )
    assert feed.entries[0].link == "https://e.test/v2/story"


# -- text ---------------------------------------------------------------------------------


def test_summary_is_plain_text() -> None:
    html = "<p>A&nbsp;<b>bold</b>\n\n move &amp; <script>evil()</script>more</p><p>Next</p>"
    entry = one({"title": "<i>It&#8217;s</i>   here", "summary": html})
    assert entry.title == "It’s here"
    assert entry.summary == "A bold move & more Next"


def test_summary_falls_back_to_content() -> None:
    body = (FEEDS / "atom.xml").read_bytes()
    second = parse(body).entries[1]
    assert second.summary == "Only content, no summary & a link."


def test_plain_text_caps_before_work_and_drops_a_cut_tag() -> None:
    assert plain_text("x" * 50_000, 1_000) == "x" * 1_000
    assert plain_text("abc <a href='https://e.test/very/long", 30) == "abc"


def test_long_fields_are_capped() -> None:
    entry = one({"title": "t" * 5_000, "summary": "s " * 30_000})
    assert len(entry.title) == 1_000
    assert len(entry.summary) <= 20_000


def test_fingerprint_ignores_case_punctuation_and_spacing() -> None:
    a = one({"title": "Breaking: U.S. Senate passes   the bill!", "link": "https://a.test/1"})
    b = one({"title": "breaking — US senate passes the BILL", "link": "https://b.test/2?x=1"})
    c = one({"title": "Senate rejects the bill", "link": "https://c.test/3"})
    assert a.fingerprint == b.fingerprint != c.fingerprint
    assert a.fingerprint == fingerprint("breaking us senate passes the bill")


def test_fingerprint_is_stable_across_versions() -> None:
    # Stored fingerprints decide whether a re-published story alerts again: an upgrade that
    # changed them would re-alert. The value was computed by the first release's code.
    text = (
        'Ukraine\u2019s allies \u2014 "coalition of the willing" meets in PARIS (11 March)'
        " \u00a0#peace \u2116 5"
    )
    assert fingerprint(text) == "169073ab2db44cf4963688a1bd4a5e4439af427f"


def test_fingerprint_folds_every_character_by_its_unicode_category() -> None:
    def reference(char: str) -> str:
        category = unicodedata.category(char)
        if category in ("Pd", "Pc") or category[0] in "SZC":
            return " "
        return "" if category[0] == "P" else char

    for start in range(0, 0x3000, 0x100):  # Latin, Greek, Cyrillic, punctuation, symbols, CJK
        chars = [chr(c) for c in range(start, start + 0x100) if not 0xD800 <= c < 0xE000]
        text = "a".join(chars)
        folded = unicodedata.normalize("NFKC", text).casefold()
        expected = " ".join("".join(map(reference, folded)).split())
        assert fingerprint(text) == hashlib.sha1(expected.encode()).hexdigest(), hex(start)


def test_fingerprint_uses_summary_without_title() -> None:
    entry = one({"summary": "Only <b>a</b> summary", "link": "https://e.test/1"})
    assert entry.fingerprint == fingerprint("only a summary")


def test_link_only_entries_get_distinct_fingerprints() -> None:
    feed = parse(rss([{"link": "https://e.test/1"}, {"link": "https://e.test/2"}]))
    assert feed.entries[0].fingerprint != feed.entries[1].fingerprint


# -- dates --------------------------------------------------------------------------------


def test_published_is_aware_utc() -> None:
    entry = one({"title": "t", "published": datetime(2026, 11, 17, 18, 30, tzinfo=UTC)})
    assert entry.published == datetime(2026, 11, 17, 18, 30, tzinfo=UTC)
    assert entry.published.tzinfo is UTC


def test_absurd_or_missing_dates_are_none() -> None:
    assert one({"title": "t"}).published is None
    assert one({"title": "t", "published": datetime(1900, 1, 1, tzinfo=UTC)}).published is None
    assert one({"title": "t", "published": datetime(2999, 1, 1, tzinfo=UTC)}).published is None


# -- canonical_link -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://News.Example.COM:443/a/B?x=1#frag", "https://news.example.com/a/B?x=1"),
        ("http://e.test:80", "http://e.test/"),
        ("http://e.test:8080/p", "http://e.test:8080/p"),
        (
            "https://e.test/p?utm_source=rss&utm_medium=x&id=3&fbclid=a&gclid=b&a=1",
            "https://e.test/p?a=1&id=3",
        ),
        (
            "https://e.test/p?mc_cid=1&mc_eid=2&ocid=3&cmpid=4&at_medium=5&at_campaign=6",
            "https://e.test/p",
        ),
        ("https://e.test/p?b=2&a=&a=1", "https://e.test/p?a=&a=1&b=2"),
        ("  https://e.test/p  ", "https://e.test/p"),
        ("not a url", "not a url"),
        ("https://[::1]:443/x", "https://[::1]/x"),
    ],
)
def test_canonical_link(url: str, expected: str) -> None:
    assert canonical_link(url) == expected


# -- failures and warnings ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<!DOCTYPE html><html><head><title>Hi</title></head><body>x</body></html>", "HTML"),
        (b"<html><body><p>Moved</p></body></html>", "HTML"),
        (b"", "empty body"),
        (b"   \n", "empty body"),
        (b"\x00\x01\x02 garbage \xff\xfe", "not a feed"),
        (b'{"json": true}', "not a feed"),
    ],
)
def test_nothing_recoverable_is_a_parse_error(body: bytes, reason: str) -> None:
    with pytest.raises(ParseError, match=reason) as info:
        parse(body)
    assert "\n" not in str(info.value) and len(str(info.value)) <= 220


def test_empty_but_valid_feed_is_not_an_error() -> None:
    feed = parse(rss([], title="Quiet"))
    assert feed == ParsedFeed(title="Quiet", entries=(), warning=None)


def test_malformed_but_recoverable_gives_a_warning() -> None:
    feed = parse((FEEDS / "malformed.xml").read_bytes())
    # the body stops inside its last item: what was read of it may lack its GUID and text
    assert [e.title for e in feed.entries] == ["Fish & chips"]
    assert feed.warning is not None
    assert feed.warning.startswith("XML error at line 4")
    assert feed.warning.endswith("; the body stops inside its last entry: left out")


def test_a_body_cut_short_leaves_its_last_entry_out() -> None:
    """A file served while it was being written: its last entry has its title but not its
    GUID nor its summary. Kept, it was stored under a hash key, and again, complete, under
    its GUID once the whole file was served: two rows for one story."""
    items = [{"title": f"Story {n}", "link": f"https://e.test/{n}", "guid": f"g{n}",
              "summary": f"All about story {n}"} for n in range(3)]  # fmt: skip
    whole = rss(items)
    cut = whole[: whole.index(b"<guid", whole.index(b"Story 2"))]
    assert [e.title for e in parse(cut).entries] == ["Story 0", "Story 1"]
    atom = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        b"<entry><id>a</id><title>One</title></entry><entry><id>b</id><title>Two</title>"
    )
    assert [e.title for e in parse(atom).entries] == ["One"]
    # items that never close, in a body that does end: kept (nothing was cut)
    unclosed = parse(whole.replace(b"</item>", b""))
    assert len(unclosed.entries) == 3 and "left out" not in str(unclosed.warning)


@pytest.mark.parametrize("ref", ["&#xD800;", "&#55296;", "&#x110000;", "&#99999999999;"])
def test_a_character_reference_to_no_character_costs_one_character(ref: str) -> None:
    """A surrogate or out-of-range reference made the whole feed fail on every poll
    (feedparser encodes what it decodes); it reads as U+FFFD and the feed's items are kept."""
    items = [{"title": f"Story {n}", "link": f"https://e.test/{n}"} for n in range(3)]
    body = rss(items).replace(b"Story 1", f"Story {ref} one".encode())
    feed = parse(body)
    assert [e.title for e in feed.entries] == ["Story 0", "Story \ufffd one", "Story 2"]


def test_charset_mismatch_is_not_a_warning() -> None:
    body = rss([{"title": "Crème brûlée"}])
    feed = parse_feed(body, url=URL, headers={"Content-Type": "text/plain"}, now=NOW)
    assert feed.entries[0].title == "Crème brûlée"
    assert feed.warning is None


def test_external_entities_are_not_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-42")
    dtd = tmp_path / "evil.dtd"
    dtd.write_text(f'<!ENTITY leak SYSTEM "{secret.as_uri()}">')
    for doctype in (
        f'<!DOCTYPE rss [\n<!ENTITY leak SYSTEM "{secret.as_uri()}">\n]>',
        f'<!DOCTYPE rss SYSTEM "{dtd.as_uri()}">',
        f'<!DOCTYPE rss [\n<!ENTITY % ext SYSTEM "{dtd.as_uri()}">\n%ext;\n]>',
    ):
        body = (
            f'<?xml version="1.0"?>\n{doctype}\n<rss version="2.0"><channel><title>T</title>'
            "<item><title>A &leak; B</title><description>&leak;</description>"
            "<link>https://e.test/1</link></item></channel></rss>"
        ).encode()
        with _audit() as events:
            try:
                feed: ParsedFeed | None = parse(body)
            except ParseError:
                feed = None
        assert "TOP-SECRET" not in repr(feed)
        opened = [
            args for name, args in events if name in ("open", "socket.connect", "urllib.Request")
        ]
        assert not [a for a in opened if "secret" in str(a) or "evil" in str(a)], opened


_AUDIT: list[list[tuple[str, tuple[Any, ...]]]] = []


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if _AUDIT and (event == "open" or event.startswith(("socket.", "urllib."))):
        _AUDIT[-1].append((event, args))


@contextlib.contextmanager
def _audit() -> Iterator[list[tuple[str, tuple[Any, ...]]]]:
    """Records file opens and network events (audit hooks cannot be removed: this one is
    installed once and is idle outside this context)."""
    if not getattr(_hook, "installed", False):
        sys.addaudithook(_hook)
        _hook.installed = True  # type: ignore[attr-defined]
    events: list[tuple[str, tuple[Any, ...]]] = []
    _AUDIT.append(events)
    try:
        yield events
    finally:
        _AUDIT.remove(events)


def test_parse_feed_never_opens_a_path_or_url(tmp_path: Path) -> None:
    feed_file = tmp_path / "feed.xml"
    feed_file.write_bytes(rss([{"title": "from disk"}]))
    for body in (str(feed_file).encode(), feed_file.as_uri().encode()):
        with _audit() as events, pytest.raises(ParseError):
            parse(body)
        assert not [args for _, args in events if "feed.xml" in str(args)]


# -- ParserPool ---------------------------------------------------------------------------


def test_pool_parses_and_survives_a_timeout() -> None:
    # feedparser's e-mail regex is quadratic in a long <author>: ~seconds for 50 KB.
    evil = rss([{"title": "t", "author": "a@" + "a." * 25_000}])
    good = rss([{"title": "fine", "link": "https://e.test/1"}])

    async def main() -> None:
        with ParserPool(workers=1, timeout=0.5) as pool:
            assert (await pool.parse(good, url=URL, headers=HEADERS, now=NOW)).entries[
                0
            ].title == "fine"
            started = time.monotonic()
            with pytest.raises(ParseError, match=r"longer than 0\.5 s"):
                await pool.parse(evil, url=URL, headers=HEADERS, now=NOW)
            assert time.monotonic() - started < 2
            assert (await pool.parse(good, url=URL, headers=HEADERS, now=NOW)).entries[
                0
            ].title == "fine"
            with pytest.raises(ParseError, match="HTML page"):
                await pool.parse(b"<html><body>x</body></html>", url=URL, headers={}, now=NOW)

    asyncio.run(main())


def test_pool_workers_tokenise_the_entries() -> None:
    """The workers hand back each entry's tokens: what the trackers and the story grouper
    start from, exactly what the main process would compute from the same text."""
    body = rss(
        [
            {
                "title": "Coalition of the willing meets in Paris",
                "summary": "<p>Troops &amp; guarantees for Ukraine’s ceasefire.</p>",
            },
            {"title": "Türkiye's offer", "summary": ""},
        ]
    )

    async def main() -> None:
        with ParserPool(workers=1, timeout=10) as pool:
            parsed = await pool.parse(body, url=URL, headers=HEADERS, now=NOW)
        assert parsed.entries == parse_feed(body, url=URL, headers=HEADERS, now=NOW).entries
        for entry in parsed.entries:
            assert entry.tokens == tokenise(entry.title, entry.summary)
        assert parsed.entries[1].tokens is not None
        assert parsed.entries[1].tokens.title == ("turkiy", "offer")

    asyncio.run(main())


def test_pool_survives_a_crashed_worker() -> None:
    evil = rss([{"title": "t", "author": "a@" + "a." * 25_000}])

    async def main() -> None:
        with ParserPool(workers=2, timeout=10) as pool:
            task = asyncio.create_task(pool.parse(evil, url=URL, headers=HEADERS, now=NOW))
            while not pool._busy:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.1)
            next(iter(pool._busy)).process.kill()
            with pytest.raises(ParseError, match="crashed"):
                await task
            feeds = await asyncio.gather(
                *(
                    pool.parse(rss([{"title": str(i)}]), url=URL, headers={}, now=NOW)
                    for i in range(4)
                )
            )
            assert [f.entries[0].title for f in feeds] == ["0", "1", "2", "3"]
            assert len(pool._idle) <= 2

    asyncio.run(main())


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs Linux CPU affinity")
def test_parse_workers_0_counts_the_cores_the_daemon_may_use(tmp_path: Path) -> None:
    """`taskset -c 0`, Docker's --cpuset-cpus or systemd's CPUAffinity= give the daemon fewer
    cores than the host has: "one per core" started one per host core (50-140 MB each)."""
    from tests.helpers import write_config

    config = write_config(tmp_path, [])
    script = (
        "import asyncio, os, sys\n"
        "os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})\n"
        "from pathlib import Path\nfrom monitor._config import load_config\n"
        "from monitor._runtime import open_runtime\n"
        "async def main():\n"
        "    async with open_runtime(load_config(Path(sys.argv[1]))) as rt:\n"
        "        print(rt.poller.parser.workers)\n"
        "asyncio.run(main())\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(config)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "1", proc.stdout
