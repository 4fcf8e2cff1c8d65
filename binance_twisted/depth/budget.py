"""The REST weight budget that many order books share when they fetch snapshots.

Binance counts REST weight per IP and bans an IP that keeps exceeding it; a 5000-level Spot
snapshot costs 250. Books that start (or resync) together queue here instead of bursting.
"""

from __future__ import annotations

from collections import deque

import attrs
from twisted.internet import defer
from twisted.internet.interfaces import IDelayedCall, IReactorTime

__all__ = ["SnapshotScheduler", "snapshot_weight"]

_WINDOW = 60.0


def snapshot_weight(market: str, limit: int) -> int:
    """The REST weight Binance charges for one depth snapshot of ``limit`` levels."""
    if market == "futures":
        return 2 if limit <= 50 else 5 if limit <= 100 else 10 if limit <= 500 else 20
    return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250


@attrs.define
class SnapshotScheduler:
    """Spaces depth snapshots so that many books starting at once stay within a weight budget.

    Binance counts REST weight per IP (6000 per minute on Spot in 2026) and bans an IP that
    keeps exceeding it; a 5000-level Spot snapshot costs 250. Share one scheduler between
    synchronisers: each snapshot waits until its weight fits in the budget of the last 60 s
    (``weight_per_minute``, a conservative share by default), first come first served.
    """

    clock: IReactorTime
    weight_per_minute: int = 1200
    _spent: deque[tuple[float, int]] = attrs.field(factory=deque, init=False)
    _waiting: deque[tuple[int, defer.Deferred]] = attrs.field(factory=deque, init=False)
    _call: IDelayedCall | None = attrs.field(default=None, init=False)

    def __attrs_post_init__(self) -> None:
        if self.weight_per_minute <= 0:
            raise ValueError(f"weight_per_minute must be positive, got {self.weight_per_minute!r}")

    def acquire(self, weight: int) -> defer.Deferred:
        """Fires when a request of ``weight`` may be sent (at once if the budget allows).

        Cancelling the Deferred gives up the place in the queue, spending nothing.
        """

        def leave(d: defer.Deferred) -> None:
            self._waiting = deque(entry for entry in self._waiting if entry[1] is not d)

        d: defer.Deferred = defer.Deferred(leave)
        self._waiting.append((min(weight, self.weight_per_minute), d))
        self._release()
        return d

    def _timer(self) -> None:
        self._call = None
        self._release()

    def _release(self) -> None:
        now = self.clock.seconds()
        while self._spent and self._spent[0][0] <= now - _WINDOW:
            self._spent.popleft()
        used = sum(w for _, w in self._spent)
        while self._waiting and used + self._waiting[0][0] <= self.weight_per_minute:
            weight, d = self._waiting.popleft()
            self._spent.append((now, weight))
            used += weight
            d.callback(None)
        if self._waiting and self._call is None and self._spent:
            delay = self._spent[0][0] + _WINDOW - now
            self._call = self.clock.callLater(max(delay, 0.0), self._timer)

    def stop(self) -> None:
        """Cancel the timer; waiting requests are dropped (their books are stopping)."""
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None
        self._waiting.clear()
