"""``[[feeds]]``: each feed's URL (its identity), name, interval or adaptive bounds."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ._config_model import FeedConfig, Settings
from ._config_read import LoaderBase
from ._decide import adaptive_bounds
from ._durations import format_duration
from ._redact import redact_url
from ._urls import FeedUrlError, canonical_feed_url, feed_identity


class FeedsSection(LoaderBase):
    def feeds(self, raw: list[Any], settings: Settings) -> tuple[FeedConfig, ...]:
        feeds: list[FeedConfig] = []
        seen: dict[str, int] = {}  # a feed's identity -> its entry's position
        for i, item in enumerate(raw, 1):  # positions as a reader counts them
            with self.table(f"[[feeds]][{i}]", item) as t:
                written = t.get("url", str, required=True, expected="an http(s) URL").strip()
                try:  # the one check, with its reason (port 0, a space, [1:2:3], 256.1.1.1…)
                    url = canonical_feed_url(written)  # HTTP://Host:80/x = http://host/x
                except FeedUrlError as exc:
                    self.fail(t.key("url"), exc.expected, t.data["url"])
                ident = feed_identity(url)  # [0:0::1] = [::1], bücher = xn--bcher-kva
                if ident in seen:  # quoted as written: the identity may read otherwise
                    self.fail(
                        t.key("url"),
                        f"this feed is listed twice (the same feed as [[feeds]][{seen[ident]}])",
                        t.data["url"],
                    )
                seen[ident] = i
                name = t.get("name", str, None, expected="a display name")
                if name is not None and not name.strip():  # listed blank, `pause ""` took it
                    self.fail(t.key("name"), "expected a display name, not a blank one", name)
                name = name or _default_name(url)
                interval = self.duration(t, "interval", settings.interval, minimum=1)
                own_min = self.optional_duration(t, "min_interval")
                own_max = self.max_interval(t, own_min)
                if own_min is not None or own_max is not None:
                    low = own_min if own_min is not None else settings.min_interval
                    high = own_max if own_max is not None else settings.max_interval
                    if low is not None and high is not None and high < low:
                        if own_max is not None:  # below [monitor] min_interval
                            self.fail(
                                t.key("max_interval"),
                                f"must be at least min_interval ({format_duration(low)}, "
                                "from [monitor])",
                                t.data["max_interval"],
                            )
                        self.fail(
                            t.key("min_interval"),
                            f"must be at most max_interval ({format_duration(high)}, "
                            "from [monitor])",
                            t.data["min_interval"],
                        )
                    bounds: tuple[float, float] | None = adaptive_bounds(low, high)
                elif "interval" in t.data:  # an interval of its own: fixed, as it always was
                    bounds = None
                else:
                    bounds = settings_bounds(settings)
                feeds.append(FeedConfig(url, name, interval, *(bounds or (None, None))))
        return tuple(feeds)


def settings_bounds(settings: Settings) -> tuple[float, float] | None:
    """``[monitor]``'s adaptive bounds (for feeds without an interval of their own), or None
    when neither ``min_interval`` nor ``max_interval`` is set: fixed intervals."""
    if settings.min_interval is None and settings.max_interval is None:
        return None
    return adaptive_bounds(settings.min_interval, settings.max_interval)


def _default_name(url: str) -> str:
    """host[:port] + path: never the user-info (credentials) nor the query."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return (host.removeprefix("www.") + parts.path.rstrip("/")) or redact_url(url)
