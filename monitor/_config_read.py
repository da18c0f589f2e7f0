"""Reading one TOML table: typed getters that name the key, the checks shared by every
section (durations, retention, positive integers, http URLs), errors naming file, key and
expectation."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlsplit

from ._durations import TooLong, format_duration, parse_duration
from ._errors import ConfigError

T = TypeVar("T")


class Table:
    """A TOML table being read: typed getters that name the key, then a check for leftovers."""

    def __init__(self, loader: LoaderBase, where: str, data: Any) -> None:
        if not isinstance(data, dict):
            loader.fail(where, "expected a table", data)
        self.loader, self.where, self.data = loader, where, data
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def get(
        self,
        name: str,
        kind: type[T] | tuple[type, ...],
        default: Any = None,
        *,
        required: bool = False,
        expected: str = "",
    ) -> Any:
        self.used.add(name)
        if name not in self.data:
            if required:
                self.loader.fail(
                    self.key(name), f"missing; expected {expected or _kind(kind)}{self.hint(name)}"
                )
            return default
        value = self.data[name]
        if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
            self.loader.fail(self.key(name), f"expected {expected or _kind(kind)}", value)
        return value

    def hint(self, *names: str) -> str:
        """For an error about missing ``names``: " (is 'hots' a misspelling of it?)" when a
        key of the table that nothing reads is close to one of them, else ""."""
        unread = {k.lower(): k for k in self.data if k not in self.used and k not in names}
        pairs = [(key, name) for name in names for key in difflib.get_close_matches(name, unread)]
        if not pairs:
            return ""
        key, name = max(pairs, key=lambda p: difflib.SequenceMatcher(None, p[1], p[0]).ratio())
        return f" (is {unread[key]!r} a misspelling of {name!r}?)"

    def convert(self, name: str, func: Callable[[Any], T], default: T, expected: str) -> T:
        self.used.add(name)
        if name not in self.data:
            return default
        try:
            return func(self.data[name])
        except (ValueError, TypeError):
            self.loader.fail(self.key(name), f"expected {expected}", self.data[name])

    def strings(self, name: str) -> tuple[str, ...]:
        value = self.get(name, list, [], expected="a list of strings")
        if not all(isinstance(v, str) and v.strip() for v in value):
            self.loader.fail(self.key(name), "expected a list of non-empty strings", value)
        return tuple(v.strip() for v in value)

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            known = ", ".join(sorted(self.used))
            self.loader.fail(self.key(unknown[0]), f"unknown key (known keys here: {known})")


def _kind(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "true or false",
        list: "a list",
        dict: "a table",
    }
    return " or ".join(names.get(k, k.__name__) for k in kinds)


class LoaderBase:
    """What every section's reader shares: the file, failing with a message, tables."""

    def __init__(self, path: Path, *, secrets: bool = True) -> None:
        self.path = path
        self.base = path.parent
        self.secrets = secrets  # False: secrets are not looked up, and are None

    def file(self, value: str, key: str) -> Path:
        """A path the config gives at ``key``: ``~`` is the home folder (``~name`` name's), a
        relative path is the config file's folder's."""
        try:
            return self.base / Path(value).expanduser()
        except RuntimeError:  # "Could not determine home directory": no such user (or HOME)
            user = value[1:].split("/", 1)[0]
            self.fail(
                key, f"no user {user!r} for {value}" if user else f"no home folder for {value}"
            )

    def fail(self, key: str, message: str, value: Any = ...) -> NoReturn:
        got = "" if value is ... else f", got {_show(value)}"
        raise ConfigError(f"{self.path}: {key}: {message}{got}")

    @contextmanager
    def table(self, where: str, data: Any) -> Iterator[Table]:
        table = Table(self, where, data)
        yield table
        table.done()

    def duration(self, table: Table, name: str, default: float, *, minimum: float = 0) -> float:
        try:
            parse_duration(table.data.get(name, 0))
        except TooLong as exc:
            self.fail(table.key(name), str(exc), table.data[name])
        except (ValueError, TypeError):
            pass  # said below, with what was expected
        value = table.convert(
            name, parse_duration, default, "a duration such as '30s', '10m', '2h' or '1d'"
        )
        if value < minimum:  # shown as written ("1h"), not as seconds
            written = table.data.get(name, format_duration(value))
            self.fail(table.key(name), f"must be at least {format_duration(minimum)}", written)
        return value

    def retention(self, table: Table, name: str) -> float | None:
        """A retention period of at least a day; absent means keep for ever."""
        if name not in table.data:
            table.used.add(name)
            return None
        return self.duration(table, name, 0.0, minimum=86400)

    def optional_duration(self, table: Table, name: str) -> float | None:
        """A duration of at least a second; absent means not set."""
        if name not in table.data:
            table.used.add(name)
            return None
        return self.duration(table, name, 0.0, minimum=1)

    def positive_int(self, table: Table, name: str, default: int) -> int:
        value: int = table.get(name, int, default, expected="a positive integer")
        if value < 1:
            self.fail(table.key(name), "expected a positive integer", value)
        return value

    def max_interval(self, table: Table, low: float | None) -> float | None:
        """``max_interval``, checked against the same table's ``min_interval``."""
        high = self.optional_duration(table, "max_interval")
        if high is not None and low is not None and high < low:
            self.fail(
                table.key("max_interval"),
                f"must be at least min_interval ({format_duration(low)})",
                table.data["max_interval"],
            )
        return high

    def http_url(self, t: Table, name: str) -> str:
        url: str = t.get(name, str, required=True, expected="an http(s) URL")
        try:  # (a [[feeds]] url's port is checked by its section)
            parts = urlsplit(url.strip())
            ok = parts.scheme in ("http", "https") and bool(parts.netloc)
        except ValueError:  # "http://[::1/x": an unclosed IPv6 bracket
            ok = False
        if not ok:
            self.fail(t.key(name), "expected an http(s) URL", url)
        return url.strip()


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
