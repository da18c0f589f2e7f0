"""A channel of the tracker: a profile vector and the stream normalisation of its scores."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["Channel", "Norm", "Vector", "saved_norm"]

Vector = dict[str, float]


class Norm:
    """Exponentially weighted mean and variance of one channel's raw scores."""

    __slots__ = ("mean", "prior", "sd", "seen", "var", "window")

    def __init__(self, mean: float, sd: float, prior: float, window: float) -> None:
        self.mean = mean
        self.var = sd * sd
        self.sd = sd
        self.prior = prior
        self.window = window
        self.seen = 0.0

    def add(self, raw: float) -> None:
        # Winsorised at 3 sd so that the (rare) relevant items do not inflate the spread.
        if raw > self.mean + 3.0 * self.sd:
            raw = self.mean + 3.0 * self.sd
        if self.seen < self.window:
            self.seen += 1.0
        rate = 1.0 / (self.seen + self.prior)
        delta = raw - self.mean
        self.mean += rate * delta
        self.var = max(1e-10, (1.0 - rate) * (self.var + rate * delta * delta))
        self.sd = math.sqrt(self.var)

    def state(self) -> list[float]:
        return [self.mean, self.var, self.seen]

    def restore(self, values: Any) -> None:
        saved = saved_norm(values)
        if saved is not None:
            self.mean, self.var, self.seen = saved
            self.sd = math.sqrt(self.var)


def saved_norm(values: Any) -> tuple[float, float, float] | None:
    """A saved :class:`Norm` state (mean, variance, items seen), or ``None`` when it is not a
    valid one (a positive variance, finite mean and variance)."""
    if isinstance(values, list) and len(values) == 3:
        mean, var, seen = (float(v) for v in values)
        if var > 0 and math.isfinite(mean) and math.isfinite(var):
            return mean, var, seen
    return None


class Channel:
    """A profile vector, its norm, and the stream normalisation of its scores."""

    __slots__ = ("norm", "q", "qnorm")

    def __init__(self, norm: Norm) -> None:
        self.q: Vector = {}
        self.qnorm = 1.0
        self.norm = norm

    def set(self, q: Vector) -> None:
        self.q = {f: w for f, w in q.items() if w > 1e-12}
        self.qnorm = math.sqrt(sum(w * w for w in self.q.values())) or 1.0
