"""Progress on stderr for long interactive commands (``opml import``, ``eval``): one line
redrawn in place, only when stderr is a terminal; nothing at all when it is piped or
redirected, so logs and scripts never see it. No dependency."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

REDRAW = 0.1  # seconds between redraws at most


class Progress:
    """``with Progress("eval", total) as p: … p.advance()``; a no-op off a terminal."""

    def __init__(
        self,
        label: str,
        total: int | None = None,
        *,
        unit: str = "items",
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label, self.total, self.unit = label, total, unit
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock
        self.done = 0
        self.enabled = _is_terminal(self.stream)
        self._drawn_at: float | None = None
        self._width = 0

    def advance(self, count: int = 1) -> None:
        self.done += count
        if not self.enabled:
            return
        now = self.clock()
        if self._drawn_at is None or now - self._drawn_at >= REDRAW:
            self._draw()
            self._drawn_at = now

    def close(self) -> None:
        """Draw the final count and end the line (only if something was drawn)."""
        if self.enabled and self._drawn_at is not None:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()

    def text(self) -> str:
        if self.total:
            share = 100 * self.done // self.total
            return f"{self.label}: {self.done:,}/{self.total:,} {self.unit} ({share}%)"
        return f"{self.label}: {self.done:,} {self.unit}"

    def _draw(self) -> None:
        line = self.text()
        self.stream.write("\r" + line + " " * max(0, self._width - len(line)))
        self.stream.flush()
        self._width = len(line)

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed, or not a real stream
        return False
