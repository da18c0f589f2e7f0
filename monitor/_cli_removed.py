"""Topics removed from the config whose hits the database still has: their hits are history
(``hits``, ``atom`` and ``explain`` show them), but a judgement for them is refused, since no
tracker would learn from it."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._cli_common import check_topic
from ._errors import ConfigError
from ._storage import Store, loads_expired_hits


def check_history_topic(name: str | None, names: Sequence[str], storage: Store) -> None:
    """As :func:`check_topic`, except that a topic the config no longer has but the database
    has hits of is taken (with a note on stderr): its hits stay queryable."""
    if name is None or name in names or not storage.hits(topic=name, limit=1):
        check_topic(name, names)
        return
    print(
        f"monitor: topic {name!r} is no longer in the config: showing its stored hits",
        file=sys.stderr,
    )


def refuse_removed_topic(
    ident: str, item: dict[str, Any], names: Sequence[str], storage: Store, path: Path
) -> None:
    """ConfigError (nothing is recorded) when the hit ``ident`` names, or every hit of the
    item it names, is for topics the config no longer has: a judgement without ``--topic``
    would go to a topic nobody learns from, or to another topic than the one it hit."""
    if ident.startswith("hit_"):
        hit = [str(item["topic"])]
    else:
        hit = [str(h["topic"]) for h in storage.item_hits(item["id"])]
        hit += loads_expired_hits(item.get("expired_hits"))
    if not hit or set(hit) & set(names):
        return
    gone = ", ".join(repr(t) for t in sorted(set(hit)))
    raise ConfigError(
        f"{path}: [[topics]]: {ident!r} is a hit for topic {gone}, which is no longer in the "
        f"config (topics: {', '.join(names)}): nothing recorded; to judge it for a topic the "
        "config has, add --topic NAME"
    )
