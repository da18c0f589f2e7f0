"""``[[topics]]``: each topic's name, seeds folder, threshold, phrases, vetoes and the alert
channels its hits go to (checked against the configured channels by :meth:`check_routes`)."""

from __future__ import annotations

from typing import Any

from ._config_model import TopicConfig
from ._config_read import LoaderBase


class TopicsSection(LoaderBase):
    def topics(self, raw: list[Any] | None) -> tuple[TopicConfig, ...]:
        if raw is None:  # no [[topics]]: one topic built from ./seeds
            return (
                TopicConfig(
                    name="default",
                    seeds=(self.base / "seeds").resolve(),
                    seeds_key=f"{self.path}: (no [[topics]]: the default topic's seeds)",
                ),
            )
        if not raw:
            self.fail("topics", "expected at least one [[topics]] table")
        topics = []
        for i, item in enumerate(raw, 1):  # positions as a reader counts them
            with self.table(f"[[topics]][{i}]", item) as t:
                name = t.get("name", str, required=True, expected="a topic name")
                if not name.strip():
                    self.fail(t.key("name"), "expected a non-empty topic name", name)
                threshold = t.get("threshold", (int, float), None, expected="a number in 0..1")
                if threshold is not None and not 0 < threshold < 1:
                    self.fail(
                        t.key("threshold"), "expected a number above 0 and below 1", threshold
                    )
                where = t.get("seeds", str, "seeds", expected="a folder path")
                seeds = self.file(where, t.key("seeds"))
                if not seeds.is_dir():
                    self.fail(
                        t.key("seeds"),
                        f"expected a folder of seed documents; {seeds} is not a folder",
                    )
                t.used.add("channels")
                topics.append(
                    TopicConfig(
                        name=name.strip(),
                        seeds=seeds.resolve(),
                        threshold=None if threshold is None else float(threshold),
                        phrases=t.strings("phrases"),
                        exclude=t.strings("exclude"),
                        channels=_channels(t.strings("channels")) if "channels" in t.data else None,
                        seeds_key=f"{self.path}: {t.key('seeds')}",
                    )
                )
        names = [topic.name for topic in topics]
        for name in names:
            if names.count(name) > 1:
                self.fail("topics", f"topic name {name!r} is used twice")
        return tuple(topics)

    def check_routes(self, topics: tuple[TopicConfig, ...], channels: tuple[str, ...]) -> None:
        """Each topic's ``channels`` must name configured alert channels (``channels``)."""
        for i, topic in enumerate(topics, 1):
            for name in topic.channels or ():
                if name not in channels:
                    valid = ", ".join(channels) if channels else "none: no [alerts] channel is set"
                    self.fail(
                        f"[[topics]][{i}].channels",
                        f"unknown alert channel (valid names: {valid})",
                        name,
                    )


def _channels(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))  # each once: the outbox holds one row per channel
