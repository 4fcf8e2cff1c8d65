"""A local order book kept in sync with Binance, without ever blocking the reactor.

:class:`DepthSynchroniser` follows Binance's current procedure (binance-platform.md §5):
subscribe to the diff stream and buffer it, fetch a snapshot asynchronously (REST through
treq), refetch a Spot snapshot that is older than the first buffered event, drop what the
snapshot already covers, replay the buffer, then apply live events. A sequence gap (Spot
``U > id + 1``, futures ``pu != id``) drops the book and resyncs by itself. The book is an
exact :class:`~binance_twisted.book.OrderBook` (Decimal prices, numeric zero removal).

State is visible (``syncing``, ``synced``, ``resyncing``, ``stopped``) and every change is
reported to ``on_state(state, detail)``; ``on_update(book)`` follows every applied event.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import attrs
from twisted.internet import defer
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger

from binance_twisted.book import (
    FUTURES_SNAPSHOT_LIMIT,
    SPOT_SNAPSHOT_LIMIT,
    FuturesSequencer,
    OrderBook,
    SpotSequencer,
    Verdict,
)
from binance_twisted.client import StreamClient, Subscription
from binance_twisted.errors import ClientClosedError
from binance_twisted.rest import RestClient
from binance_twisted.streams import check_symbol

__all__ = ["DepthSynchroniser", "SnapshotScheduler", "snapshot_weight"]

log = Logger(namespace="binance_twisted.depthcache")

_MARKETS: dict[str, tuple[str, int, type[SpotSequencer] | type[FuturesSequencer]]] = {
    # market → (snapshot path, snapshot limit, sequencer)
    "spot": ("/api/v3/depth", SPOT_SNAPSHOT_LIMIT, SpotSequencer),
    "futures": ("/fapi/v1/depth", FUTURES_SNAPSHOT_LIMIT, FuturesSequencer),
}
_REFETCH_DELAY = 0.5
_MAX_BUFFER = 10_000
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
        """Fires when a request of ``weight`` may be sent (at once if the budget allows)."""
        d: defer.Deferred = defer.Deferred()
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


class DepthSynchroniser:
    """One symbol's order book, synced from ``client``'s diff stream and ``rest`` snapshots.

    ``client`` streams the market's diff depth (a Spot or a futures ``/public``
    :class:`~binance_twisted.StreamClient`); ``rest`` serves the snapshots (the Spot or
    futures REST base). ``speed`` is the stream's update speed in ms (100, or 1000/250/500).
    """

    def __init__(
        self,
        reactor: IReactorTime,
        client: StreamClient,
        rest: RestClient,
        symbol: str,
        *,
        market: str = "spot",
        speed: int = 100,
        limit: int | None = None,
        on_update: Callable[[OrderBook], Any] | None = None,
        on_state: Callable[[str, dict], Any] | None = None,
        scheduler: SnapshotScheduler | None = None,
    ) -> None:
        if market not in _MARKETS:
            raise ValueError(f"market must be one of {', '.join(_MARKETS)}, got {market!r}")
        path, max_limit, sequencer = _MARKETS[market]
        if limit is not None and not 1 <= limit <= max_limit:
            raise ValueError(f"limit must be between 1 and {max_limit} for {market}, got {limit}")
        self.symbol = check_symbol(symbol).upper()
        self.market = market
        self.book = OrderBook(self.symbol)
        self.state = "idle"
        #: sequence gaps seen (each caused a resync)
        self.gaps = 0
        self._reactor = reactor
        self._client = client
        self._rest = rest
        self._path = path
        self._limit = limit if limit is not None else max_limit
        self._sequencer: SpotSequencer | FuturesSequencer = sequencer()
        suffix = "" if speed in (1000, 250) else f"@{speed}ms"
        self._stream = f"{self.symbol.lower()}@depth{suffix}"
        self._on_update = on_update
        self._on_state = on_state
        self._scheduler = scheduler
        self._buffer: list[dict] = []
        self._snapshot_pending = False
        self._subscription: Subscription | None = None
        self._synced_waiters: list[defer.Deferred] = []

    def __repr__(self) -> str:
        return f"<DepthSynchroniser {self.market} {self.symbol} {self.state}>"

    def start(self) -> defer.Deferred:
        """Subscribe and sync; fires with this synchroniser once the book is first in sync."""
        d: defer.Deferred = defer.Deferred()
        self._synced_waiters.append(d)
        self._set_state("syncing", {})
        subscribing = self._client.subscribe([self._stream], self._on_diff)
        subscribing.addCallbacks(self._subscribed, self._fail)
        return d

    def stop(self) -> defer.Deferred:
        """Unsubscribe and forget the book; pending ``start()`` Deferreds fail."""
        self._set_state("stopped", {})
        self.book.clear()
        self._buffer.clear()
        self._fail_waiters(ClientClosedError(f"{self!r} was stopped"))
        subscription, self._subscription = self._subscription, None
        return subscription.unsubscribe() if subscription is not None else defer.succeed(None)

    # -- internals ---------------------------------------------------------------------------

    def _subscribed(self, subscription: Subscription) -> None:
        self._subscription = subscription
        if self.state == "stopped":
            subscription.unsubscribe()
            return
        self._fetch_snapshot()

    def _on_diff(self, stream: str, event: dict) -> None:
        if self.state in ("stopped", "idle"):
            return
        if self.book.update_id is None:
            if len(self._buffer) >= _MAX_BUFFER:
                self._buffer.pop(0)
            self._buffer.append(event)
            return
        self._apply(event)

    def _apply(self, event: dict) -> bool:
        """One event through the sequencer; ``False`` when it revealed a gap."""
        verdict = self._sequencer.check(self.book.update_id, event)
        if verdict is Verdict.STALE:
            return True
        if verdict is Verdict.GAP:
            self._gap(event)
            return False
        self.book.apply_levels(event["b"], event["a"], update_id=event["u"])
        if self._on_update is not None and self.state == "synced":
            try:
                self._on_update(self.book)
            except Exception:
                log.failure("{sync}: on_update raised", sync=self)
        return True

    def _fetch_snapshot(self) -> None:
        if self._snapshot_pending or self.state == "stopped":
            return
        self._snapshot_pending = True
        params = [("symbol", self.symbol), ("limit", self._limit)]
        if self._scheduler is None:
            d = self._rest.request("GET", self._path, params)
        else:
            weight = snapshot_weight(self.market, self._limit)
            d = self._scheduler.acquire(weight)
            d.addCallback(lambda _: self._rest.request("GET", self._path, params))
        d.addCallbacks(self._snapshot, self._snapshot_failed)

    def _snapshot(self, snapshot: dict) -> None:
        self._snapshot_pending = False
        if self.state == "stopped":
            return
        last = int(snapshot["lastUpdateId"])
        if self.market == "spot" and self._buffer and last < int(self._buffer[0]["U"]):
            # older than what the stream already sent: Binance says fetch again
            self._set_state(self.state, {"refetch": "snapshot older than the first event"})
            self._reactor.callLater(_REFETCH_DELAY, self._fetch_snapshot)
            return
        self.book.apply_snapshot(last, snapshot["bids"], snapshot["asks"])
        self._sequencer.start()
        buffered, self._buffer = self._buffer, []
        for index, event in enumerate(buffered):
            if not self._apply(event):
                self._buffer.extend(buffered[index + 1 :])  # kept for the next snapshot
                return
        was = self.state
        self._set_state("synced", {"lastUpdateId": last})
        if was == "syncing":
            waiters, self._synced_waiters = self._synced_waiters, []
            for d in waiters:
                d.callback(self)

    def _gap(self, event: dict) -> None:
        self.gaps += 1
        detail = {
            "book_id": self.book.update_id,
            "U": event.get("U"),
            "u": event.get("u"),
            "pu": event.get("pu"),
        }
        log.warn("{sync}: sequence gap {detail}; resyncing", sync=self, detail=detail)
        self.book.clear()
        self._buffer = [event]
        self._set_state("resyncing" if self.state == "synced" else self.state, detail)
        self._fetch_snapshot()

    def _snapshot_failed(self, failure: Any) -> None:
        self._snapshot_pending = False
        if self.state == "stopped":
            return
        log.warn("{sync}: snapshot failed ({error}); retrying", sync=self, error=failure.value)
        delay = getattr(failure.value, "retry_after", None) or 2.0
        self._reactor.callLater(delay, self._fetch_snapshot)

    def _fail(self, failure: Any) -> None:
        self._set_state("stopped", {"error": str(failure.value)})
        self._fail_waiters(failure.value)

    def _fail_waiters(self, error: Exception) -> None:
        waiters, self._synced_waiters = self._synced_waiters, []
        for d in waiters:
            d.errback(error)

    def _set_state(self, state: str, detail: dict) -> None:
        self.state = state
        if self._on_state is not None:
            try:
                self._on_state(state, detail)
            except Exception:
                log.failure("{sync}: on_state raised", sync=self)
