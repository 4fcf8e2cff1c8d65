"""Rate-limited logging: a flood of the same problem becomes one line per period, with a count."""

from __future__ import annotations

from twisted.internet.interfaces import IReactorTime

__all__ = ["LogThrottle"]


class LogThrottle:
    """At most one log line per ``period`` seconds per key, counting what it swallowed."""

    def __init__(self, clock: IReactorTime, period: float = 10.0) -> None:
        self._clock = clock
        self._period = period
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def allow(self, key: str) -> int | None:
        """``None`` to stay quiet, else how many were suppressed since the last line."""
        now = self._clock.seconds()
        if now - self._last.get(key, float("-inf")) < self._period:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return None
        self._last[key] = now
        return self._suppressed.pop(key, 0)
