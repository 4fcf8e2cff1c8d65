"""The market's heartbeat: one tick every ``event_interval`` seconds of the fake's clock.

Not a ``LoopingCall``: on a clock whose arithmetic is a little off (epoch-sized values, a
test clock stepped by sums of 0.05) a LoopingCall now and then runs a hair early, ticks
twice in one interval and skips the next. :class:`Ticker` schedules each tick on an exact
multiple of the interval, a hair (at most 0.1 ms) before it, and the next one on the first
multiple after now, so a clock stepped interval by interval brings exactly one tick per
interval, and a clock that jumps over several brings one, as a LoopingCall would.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger

__all__ = ["Ticker"]

_MAX_LEAD = 1e-4  # seconds a tick is scheduled before its nominal time, at most


class Ticker:
    """Calls ``tick()`` once every ``interval`` seconds of ``clock`` between start and stop."""

    _logger = Logger(namespace="binance_twisted.testing.FakeBinance")

    def __init__(self, clock: IReactorTime, interval: float, tick: Callable[[], None]) -> None:
        self._clock = clock
        self._interval = interval
        self._tick = tick
        self._lead = min(interval / 1000, _MAX_LEAD)
        self._origin = 0.0
        self._call: IDelayedCall | None = None

    @property
    def running(self) -> bool:
        """Whether a tick is scheduled."""
        return self._call is not None

    def start(self) -> None:
        """The first tick comes one interval from now."""
        self._origin = self._clock.seconds()
        self._schedule(1)

    def stop(self) -> None:
        """No more ticks."""
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None

    def _schedule(self, index: int) -> None:
        due = self._origin + index * self._interval - self._lead
        self._call = self._clock.callLater(max(0.0, due - self._clock.seconds()), self._run)

    def _run(self) -> None:
        # now is about a lead before some multiple k (give or take float noise, far below a
        # lead); counting one more lead puts it safely past k, so the next is k + 1
        elapsed = self._clock.seconds() - self._origin + 2 * self._lead
        self._schedule(math.floor(elapsed / self._interval) + 1)
        try:
            self._tick()
        except Exception:
            self._logger.failure("a market tick failed; the market keeps ticking")
