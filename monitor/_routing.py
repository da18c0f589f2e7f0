"""Per-topic routing of alert channels (``[[topics]] channels = [...]``). Pure.

Decided where the outbox rows are created (``Store.store_poll``'s ``routes``): a hit gets a
pending delivery for each channel its topic routes to and for no other, so what a channel
never had to send cannot be lost or sent twice. The email digest reads the same outbox.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ._config import TopicConfig


def topic_routes(
    topics: Sequence[TopicConfig], channels: Sequence[str]
) -> dict[str, tuple[str, ...]]:
    """Each topic that names its channels → those of ``channels`` (the running ones, in their
    order) it names. Topics without ``channels`` are absent: their hits go to every channel."""
    return {
        topic.name: tuple(c for c in channels if c in topic.channels)
        for topic in topics
        if topic.channels is not None
    }


def channels_for(
    topic: str, channels: Sequence[str], routes: Mapping[str, Sequence[str]] | None
) -> Sequence[str]:
    """The channels a hit of ``topic`` is queued on."""
    if routes is None:
        return channels
    return routes.get(topic, channels)
