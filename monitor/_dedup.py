"""Pure deduplication: which parsed entries are new, which are edits, which are re-publications."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ._models import Entry
from ._times import EPOCH


@dataclass(frozen=True, slots=True)
class Sorted:
    new: tuple[Entry, ...]  # never seen: score them, in publication order
    duplicates: tuple[Entry, ...]  # new key, but a story this feed already has: store, no alert
    edited: tuple[Entry, ...]  # known key with new text: update, never alert again


def sort_entries(
    entries: Iterable[Entry], known: Mapping[str, tuple[str, str]], known_prints: set[str]
) -> Sorted:
    """Split a feed's entries against what the feed already has.

    ``known`` maps stored keys to their stored ``(title, summary)``; ``known_prints`` are the
    fingerprints the feed already has under any key. Within one body the first entry of a key wins.
    """
    new: list[Entry] = []
    duplicates: list[Entry] = []
    edited: list[Entry] = []
    seen_keys: set[str] = set()
    prints = set(known_prints)
    for entry in entries:
        if entry.key in seen_keys:
            continue
        seen_keys.add(entry.key)
        if entry.key in known:
            if known[entry.key] != (entry.title, entry.summary):
                edited.append(entry)
        elif entry.fingerprint in prints:
            duplicates.append(entry)
        else:
            prints.add(entry.fingerprint)
            new.append(entry)
    new.sort(key=lambda e: e.published or EPOCH)
    return Sorted(tuple(new), tuple(duplicates), tuple(edited))


# -- a known key with another story (a CMS reusing GUIDs or links) -------------------------

SAME_STORY_OVERLAP = 0.5  # share of the shorter text's words the other must have: an edit
# An edited story is looked for among its key's latest stories only: a feed whose items all
# share one link reuses that key for every story, and its whole history would be read on
# every poll (about 125 ms per poll after six months of hourly stories).
REUSES_COMPARED = 100
_WORD = re.compile(r"\w{4,}")  # short words ("the", "and", "of") say nothing of a story


def same_story(stored: tuple[str, str], entry: Entry) -> bool:
    """Whether ``entry`` (whose key is known) is the stored item edited, rather than the key
    reused for another story: judged by text, the overlap of their words."""
    old = set(_WORD.findall(f"{stored[0]} {stored[1]}".casefold()))
    new = set(_WORD.findall(f"{entry.title} {entry.summary}".casefold()))
    if not old or not new:
        return True  # nothing to judge by: keep the key's meaning
    return len(old & new) / min(len(old), len(new)) >= SAME_STORY_OVERLAP


def reused_key(entry: Entry) -> str:
    """The key of a reused key's new story: the key and the story's first fingerprint."""
    return f"{entry.key}#{entry.fingerprint[:12]}"


def split_shared_keys(
    entries: Sequence[Entry], known: Mapping[str, tuple[str, str]]
) -> list[Entry]:
    """Stories of one body that share a key (a CMS giving every item the site's address as
    GUID) each get their own: the one the stored item is (or the first listed) keeps the key,
    every other story ``reused_key``. Entries of one story listed twice keep it (the first of
    them wins in :func:`sort_entries`)."""
    groups: dict[str, list[int]] = {}
    for index, entry in enumerate(entries):
        groups.setdefault(entry.key, []).append(index)
    out = list(entries)
    for key, indexes in groups.items():
        if len(indexes) < 2:
            continue
        stored = known.get(key)
        keeper = next(
            (i for i in indexes if stored is not None and _same(stored, entries[i])), indexes[0]
        )
        kept = (entries[keeper].title, entries[keeper].summary)
        for index in indexes:
            if index != keeper and not _same(kept, entries[index]):
                out[index] = dataclasses.replace(entries[index], key=reused_key(entries[index]))
    return out


def _same(stored: tuple[str, str], entry: Entry) -> bool:
    return stored == (entry.title, entry.summary) or same_story(stored, entry)


def rekey_reused(
    entries: Sequence[Entry],
    known: Mapping[str, tuple[str, str]],
    reuses: Mapping[str, Sequence[tuple[str, str, str]]],
) -> tuple[list[Entry], dict[str, tuple[str, str]]]:
    """Entries whose known key now carries another story get that story's own key: the one
    of an earlier reuse with the same story (``reuses``: key -> [(reused key, title,
    summary)], the latest ``REUSES_COMPARED``), else a new one. Returns the entries and
    ``known`` extended for the new keys."""
    out: list[Entry] = []
    extended = dict(known)
    for entry in entries:
        stored = known.get(entry.key)
        if stored is None or stored == (entry.title, entry.summary) or same_story(stored, entry):
            out.append(entry)
            continue
        key = reused_key(entry)
        for other, title, summary in reuses.get(entry.key, ()):
            if same_story((title, summary), entry):
                key = other
                extended[other] = (title, summary)
                break
        out.append(dataclasses.replace(entry, key=key))
    return out, extended
