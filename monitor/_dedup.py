"""Pure deduplication: which parsed entries are new, which are edits, which are re-publications."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from ._models import Entry

_EPOCH = datetime.min.replace(tzinfo=UTC)


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
    new.sort(key=lambda e: e.published or _EPOCH)
    return Sorted(tuple(new), tuple(duplicates), tuple(edited))
