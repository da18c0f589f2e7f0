"""``monitor feeds add|remove|pause|resume`` (``monitor opml``: :mod:`monitor._cli_opml`).

Feeds live in two places: ``[[feeds]]`` in config.toml (edited by hand, ``source = 'config'``)
and the database (added here or by an OPML import, ``source = 'cli'``). Both are polled; a
feed in both is the config's. Config feeds are not removed from here (the file is the user's),
but they can be paused. A running daemon picks changes up within ``FEEDS_REFRESH_INTERVAL``.
"""

from __future__ import annotations

import argparse
from typing import Any
from urllib.parse import urlsplit

from ._cli_common import config_of, open_storage
from ._cli_types import feed, feed_name, interval
from ._config import Config, FeedConfig
from ._errors import MonitorError
from ._feedjobs import FEEDS_REFRESH_INTERVAL
from ._feedset import FeedRow, default_name, find, key
from ._fleet import WORKER_FRESH
from ._redact import redact_text, redact_url
from ._storage import Store
from ._times import utcnow
from ._urls import canonical_feed_url

PICKUP = f"a running daemon picks up the change within {int(FEEDS_REFRESH_INTERVAL)} s"


def register_verbs(feeds: argparse.ArgumentParser) -> None:
    """``feeds VERB``: without a verb, ``monitor feeds`` stays the report."""
    verbs = feeds.add_subparsers(dest="feeds_verb", metavar="VERB")
    add = verbs.add_parser("add", help="add a feed (kept in the database)")
    add.add_argument("url")
    add.add_argument("--name", type=feed_name, help="display name (default: host + path)")
    add.add_argument(
        "--interval", type=interval, help="poll interval, e.g. 30m (default: [monitor] interval)"
    )
    add.add_argument(
        "--topic",
        action="append",
        metavar="NAME",
        help="score its items for this topic only (repeatable; default: every topic)",
    )
    add.set_defaults(func=cmd_add)
    for verb, func, text in (
        ("remove", cmd_remove, "remove a feed added with `feeds add` or an OPML import"),
        ("pause", cmd_pause, "stop polling a feed (config or added) until `resume`"),
        ("resume", cmd_resume, "poll a paused feed again"),
    ):
        parser = verbs.add_parser(verb, help=text)
        parser.add_argument(
            "url",
            metavar="FEED",
            type=feed,
            help="the feed's URL (in any spelling, or as `monitor feeds` lists it) or its name",
        )
        parser.set_defaults(func=func)


def add_topics(
    storage: Store | None, rows: list[dict[str, Any]], *, joined: bool
) -> list[dict[str, Any]]:
    """``topics``: the topics an added feed is scored for (``feeds add --topic``), a list
    (``joined``: one string, for a table); None for a feed scored for every topic (and for
    every feed when ``storage`` is None: no database yet, no feed added)."""
    topics = {} if storage is None else {row.url: row.topics for row in storage.feed_rows()}
    for row in rows:
        names = topics.get(row["url"])
        row["topics"] = None if names is None else (", ".join(names) if joined else list(names))
    return rows


def open_feeds(args: argparse.Namespace) -> tuple[Config, Store, list[FeedRow]]:
    config = config_of(args)
    storage = open_storage(args, create=True)
    # config feeds have rows (to pause them); a feed the config lacks is left to the running
    # workers (PostgreSQL), whose configs decide (``sync_config_feeds``)
    live = storage.live_workers(utcnow(), fresh=WORKER_FRESH)
    storage.sync_feeds(config.feeds, remove=not live)
    return config, storage, storage.feed_rows()


def _canonical(url: str) -> str:
    try:
        return canonical_feed_url(url)
    except ValueError as exc:
        raise MonitorError(str(exc)) from None


def in_config(config: Config, url: str) -> FeedConfig | None:
    return next((f for f in config.feeds if key(f.url) == key(url)), None)


def _named(storage: Store, rows: list[FeedRow], wanted: str) -> FeedRow | None:
    """The live feed ``wanted`` names: its address in any spelling, as ``monitor feeds``
    lists it (credentials redacted), the one a permanent redirect moved it to (what its
    errors name, redacted or not), or its name. Every feed it names counts: several are an
    error naming them and saying what names each alone."""
    feeds = _Feeds(storage, rows)
    found = feeds.named(wanted)
    if len(found) > 1:
        raise _ambiguous(wanted, found, feeds)
    return next(iter(found), None)


class _Feeds:
    """The live feeds and where permanent redirects moved them: what a FEED argument names."""

    def __init__(self, storage: Store, rows: list[FeedRow]) -> None:
        self.live = [r for r in rows if r.source != "removed"]
        self.moved_to = {
            r["url"]: r["fetch_url"]
            for r in storage.feeds_report()
            if r["fetch_url"] and r["fetch_url"] != r["url"]
        }

    def naming(self, wanted: str) -> dict[FeedRow, list[str]]:
        """Each live feed ``wanted`` names, with how it names it."""
        target = key(wanted)
        found: dict[FeedRow, list[str]] = {}
        for row in self.live:
            how = []
            if target in (key(row.url), key(redact_url(row.url))):
                how.append("its address")
            moved = self.moved_to.get(row.url)
            if moved and target in (key(moved), key(redact_url(moved))):
                how.append("moved there by a permanent redirect")
            if wanted.strip() and row.name.strip() == wanted.strip():
                how.append("its name")
            if how:
                found[row] = how
        return found

    def named(self, wanted: str) -> dict[FeedRow, list[str]]:
        """The feeds ``wanted`` names (:meth:`naming`); of several named by their address
        alone, the one stored (or listed) exactly as ``wanted`` writes it, if only one is: of
        one feed stored twice in two spellings (by a release that took them for two feeds,
        ``127.1`` and ``127.0.0.1``), each spelling names its own row."""
        found = self.naming(wanted)
        if len(found) > 1 and all(how == ["its address"] for how in found.values()):
            exact = {row: how for row, how in found.items() if _spelled(row.url, wanted)}
            if len(exact) == 1:
                return exact
        return found

    def choice(self, row: FeedRow) -> str:
        """What names ``row`` alone: its name, else its address as listed, else the full
        address (never a hint that names several feeds again)."""
        if row.name.strip() and list(self.named(row.name)) == [row]:
            return f"by its name, {row.name!r}"
        listed = redact_url(row.url)
        if list(self.named(listed)) == [row]:
            as_listed = "" if listed == row.url else " as `monitor feeds` lists it"
            return f"by its address{as_listed}, {listed}"
        if listed == row.url:  # its address is another feed's name: a name of its own
            return "after giving it a name of its own"
        return f"by its full address, {_hidden(row.url)} included"


def _spelled(url: str, wanted: str) -> bool:
    """Whether ``wanted`` is ``url`` as stored or as listed (but for case and a default port)."""
    try:
        written = canonical_feed_url(wanted)
    except ValueError:
        written = wanted.strip()
    return written in (url, redact_url(url))


def _hidden(url: str) -> str:
    """What ``redact_url`` hides in ``url``: its secret, its credentials, or both."""
    try:
        netloc = urlsplit(url).netloc
    except ValueError:  # "http://[::1/x": an unclosed IPv6 bracket
        netloc = ""
    credentials = "@" in netloc
    rest = url.replace(netloc, netloc.rpartition("@")[2], 1) if credentials else url
    secret = redact_url(rest) != rest
    if credentials:
        return "credentials and secret" if secret else "credentials"
    return "secret"


def _ambiguous(wanted: str, found: dict[FeedRow, list[str]], feeds: _Feeds) -> MonitorError:
    """Why ``wanted`` names several feeds, which they are, and what names each of them."""
    shown = redact_url(wanted)
    ways = {how for hows in found.values() for how in hows}
    if ways == {"its name"}:
        lead = f"{wanted!r} is the name of {len(found)} feeds"
    elif ways == {"moved there by a permanent redirect"}:
        lead = f"{shown} is where several feeds moved to by permanent redirects"
    elif ways == {"its address"} and len({key(row.url) for row in found}) == 1:
        lead = f"{shown} is the address of {len(found)} feeds, stored in {len(found)} spellings"
    elif ways == {"its address"}:
        lead = (
            f"{shown} is ambiguous: the addresses of {len(found)} feeds differ only in the "
            f"{_hidden(wanted)} it hides"
        )
    else:
        lead = f"{shown} is ambiguous: it names {len(found)} feeds"
    which = _choices(found, feeds)
    return MonitorError(f"{lead}: {which}; nothing was changed{_rename(list(found), feeds)}")


def _rename(rows: list[FeedRow], feeds: _Feeds) -> str:
    """A hint to name feeds that only their full address tells apart."""
    if any(not feeds.choice(row).startswith("by its name") for row in rows):
        return " (or give the feeds names of their own)"
    return ""


def _choices(found: dict[FeedRow, list[str]], feeds: _Feeds) -> str:
    return ", ".join(
        f"{row.name!r} at {redact_url(row.url)} ({' and '.join(how)}; choose it "
        f"{feeds.choice(row)})"
        for row, how in found.items()
    )


def _no_feed(storage: Store, rows: list[FeedRow], wanted: str) -> MonitorError:
    """No feed is ``wanted``. When it is a listed address but for what the listing hides
    (a secret, credentials — its own, or the feed's where it has none), it says that part
    matches no feed, and what names each feed at that address."""
    feeds = _Feeds(storage, rows)
    near = [row for row in feeds.live if _bare(row.url) == _bare(wanted)]
    if not near:
        return MonitorError(f"no feed {wanted!r} (see `monitor feeds`)")
    part, plural = _differing(wanted, near)
    one, some = ("match no feed", "match none") if plural else ("matches no feed", "matches none")
    if len(near) == 1:
        (row,) = near
        return MonitorError(
            f"no feed {wanted!r}: {part} {one}; the feed at that address is "
            f"{row.name!r} (choose it {feeds.choice(row)})"
        )
    which = ", ".join(f"{row.name!r} (choose it {feeds.choice(row)})" for row in near)
    return MonitorError(
        f"no feed {wanted!r}: {part} {some} of the {len(near)} feeds at that "
        f"address: {which}{_rename(near, feeds)}"
    )


def _differing(wanted: str, near: list[FeedRow]) -> tuple[str, bool]:
    """What sets ``wanted`` apart from every feed at its address, as the subject of "match(es)
    no feed" (and whether it is plural): its credentials, its secret, or both; credentials
    it lacks where the feeds have them are "without credentials"."""
    mine, rest = _credentials(wanted)
    credentials = all(_credentials(row.url)[0] != mine for row in near)
    secret = all(_credentials(row.url)[1] != rest for row in near)
    if not (credentials or secret):  # some differ in one, some in the other
        hidden = _hidden(wanted)
        return f"its {hidden}", hidden.startswith("credentials")
    if credentials and not mine:
        return ("without credentials, its secret" if secret else "without credentials it"), False
    if credentials:
        return ("its credentials and secret" if secret else "its credentials"), True
    return "its secret", False


def _credentials(url: str) -> tuple[str, str]:
    """``url``'s user info ('' for none) and its identity without it."""
    ident = key(url)
    scheme, sep, rest = ident.partition("://")
    authority, slash, tail = rest.partition("/")
    info, _, host = authority.rpartition("@")
    return info, f"{scheme}{sep}{host}{slash}{tail}"


def _bare(url: str) -> str:
    """A feed's address as listed, without its user info: what is left to tell feeds apart
    once what the listing hides (credentials, a secret) is set aside."""
    redacted = redact_url(url)
    scheme, sep, rest = redacted.partition("://")
    return key(f"{scheme}{sep}{rest.removeprefix('***@')}")


def cmd_add(args: argparse.Namespace) -> int:
    url = _canonical(args.url)
    config = config_of(args)
    topics = _topics(config, args.topic)
    config, storage, rows = open_feeds(args)
    try:
        listed = in_config(config, url)
        if listed is not None:
            raise MonitorError(
                f"{args.url} is already in {config.path} (url = {listed.url!r}); edit it there"
            )
        row = find(rows, url)
        if row is not None and row.source == "cli":
            raise MonitorError(f"{args.url} is already added (as {row.url})")
        stored = row.url if row is not None else url  # a removed feed comes back as it was
        name = args.name or default_name(stored)
        row = FeedRow(stored, name, "cli", False, args.interval, topics=topics)
        storage.add_feeds([row], utcnow())
    finally:
        storage.close()
    scored = "" if topics is None else f", scored for {', '.join(topics)} only"
    print(redact_text(f"added {stored} ({name}{scored}); {PICKUP}"))
    return 0


def _topics(config: Config, names: list[str] | None) -> tuple[str, ...] | None:
    """``--topic`` names, each once, checked against the config's topics; None: all."""
    if not names:
        return None
    known = [topic.name for topic in config.topics]
    for name in names:
        if name.strip() not in known:
            raise MonitorError(
                f"--topic: no topic {name!r} in {config.path} (its topics: {', '.join(known)})"
            )
    return tuple(dict.fromkeys(name.strip() for name in names))


def cmd_remove(args: argparse.Namespace) -> int:
    config, storage, rows = open_feeds(args)
    try:
        row = _named(storage, rows, args.url)
        # an added row is removed even when a config feed is the same feed (an earlier
        # release stored it twice: the copy is never polled)
        if row is not None and row.source == "cli":
            listed = None
        else:
            listed = in_config(config, args.url if row is None else row.url)
        if listed is not None:
            raise MonitorError(
                f"{args.url} is configured in {config.path} ([[feeds]] url = {listed.url!r}): "
                "remove it there, then send the daemon SIGHUP or restart it "
                "(or `monitor feeds pause` it)"
            )
        if row is None:
            raise _no_feed(storage, rows, args.url)
        deleted = storage.remove_feed(row.url)
    finally:
        storage.close()
    kept = "" if deleted else " (its items and hits are kept)"
    print(redact_text(f"removed {row.url}{kept}; {PICKUP}"))
    return 0


def _set_paused(args: argparse.Namespace, paused: bool) -> int:
    _, storage, rows = open_feeds(args)
    try:
        row = _named(storage, rows, args.url)
        if row is None:
            raise _no_feed(storage, rows, args.url)
        storage.set_paused(row.url, paused)
    finally:
        storage.close()
    print(redact_text(f"{'paused' if paused else 'resumed'} {row.url}; {PICKUP}"))
    return 0


def cmd_pause(args: argparse.Namespace) -> int:
    return _set_paused(args, True)


def cmd_resume(args: argparse.Namespace) -> int:
    return _set_paused(args, False)
