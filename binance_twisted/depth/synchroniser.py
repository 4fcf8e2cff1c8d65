"""A local order book kept in sync with Binance, without ever blocking the reactor.

:class:`DepthSynchroniser` follows Binance's current procedure (binance-platform.md §5):
subscribe to the diff stream and buffer it, fetch a snapshot asynchronously (REST through
treq), refetch a Spot snapshot that is older than the first buffered event, drop what the
snapshot already covers, replay the buffer, then apply live events. A sequence gap (Spot
``U > id + 1``, futures ``pu != id``) drops the book and resyncs by itself. The book is an
exact :class:`~binance_twisted.book.OrderBook` (Decimal prices, numeric zero removal).

A dropped connection marks the book stale (``resyncing``) until the stream resumes: if the
ids follow on, nothing was missed and it is ``synced`` again without a snapshot; the reconnect
also fetches one (make-before-break), so a quiet symbol is settled too. An optional
periodic refresh rebuilds the book from a new snapshot make-before-break and counts any level
it had to correct. State is visible (``syncing``, ``synced``, ``resyncing``, ``stopped``) and
every change is reported to ``on_state(state, detail)``; ``on_update(book)`` follows every
applied event.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from twisted.internet import defer
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger

from binance_twisted.depth.book import (
    FUTURES_SNAPSHOT_LIMIT,
    SPOT_SNAPSHOT_LIMIT,
    FuturesSequencer,
    OrderBook,
    SpotSequencer,
    Verdict,
)
from binance_twisted.depth.budget import SnapshotScheduler, snapshot_weight
from binance_twisted.errors import (
    BinanceAPIError,
    ClientClosedError,
    ConnectionGaveUpError,
    RateLimitedError,
)
from binance_twisted.events import ConnectionEvent, EventKind
from binance_twisted.market.client import StreamSource, Subscription
from binance_twisted.rest import RestClient
from binance_twisted.streams import check_symbol

__all__ = ["DepthSynchroniser", "check_book_options", "diff_stream"]

log = Logger(namespace="binance_twisted.depth")

_Sequencer = type[SpotSequencer] | type[FuturesSequencer]
_MARKETS: dict[str, tuple[str, int, _Sequencer, tuple[int, ...]]] = {
    # market → (snapshot path, snapshot limit, sequencer, stream speeds in ms, default first)
    "spot": ("/api/v3/depth", SPOT_SNAPSHOT_LIMIT, SpotSequencer, (100, 1000)),
    "futures": ("/fapi/v1/depth", FUTURES_SNAPSHOT_LIMIT, FuturesSequencer, (100, 250, 500)),
}
_REFETCH_DELAY = 0.5
_RETRY_DELAY = 2.0
_MAX_BUFFER = 10_000


def check_book_options(market: str, limit: int | None, speed: int | None) -> tuple[int, int]:
    """``(limit, speed)`` for a ``market`` book, defaults filled in; bad values raise ValueError.

    ``limit`` is the snapshot depth (default and most: Spot 5000, futures 1000); ``speed``
    the diff stream's update speed in ms (default 100).
    """
    if market not in _MARKETS:
        raise ValueError(f"market must be one of {', '.join(_MARKETS)}, got {market!r}")
    _, max_limit, _, speeds = _MARKETS[market]
    if limit is None:
        limit = max_limit
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= max_limit:
        raise ValueError(f"limit must be an int from 1 to {max_limit} for {market}, got {limit!r}")
    if speed is None:
        speed = speeds[0]
    if speed not in speeds:
        allowed = ", ".join(map(str, speeds))
        raise ValueError(f"speed must be one of {allowed} (ms) for {market}, got {speed!r}")
    return limit, speed


def diff_stream(symbol: str, speed: int) -> str:
    """The diff depth stream name: the market's default speed (Spot 1000, futures 250 ms)
    carries no suffix, others ``@<speed>ms``."""
    return f"{symbol.lower()}@depth" + ("" if speed in (1000, 250) else f"@{speed}ms")


class DepthSynchroniser:
    """One symbol's order book, synced from ``client``'s diff stream and ``rest`` snapshots.

    ``client`` streams the market's diff depth (a Spot or a futures ``/public``
    :class:`~binance_twisted.StreamClient`); ``rest`` serves the snapshots (the Spot or
    futures REST base). ``speed`` is the stream's update speed in ms (Spot 1000 or 100,
    futures 250, 500 or 100). ``refresh_interval`` (seconds) rebuilds the book from a fresh
    snapshot that often, make-before-break, and counts levels it had to correct (a healthy
    book has none). ``book_lock`` is held while the book changes, for readers in other
    threads (the legacy facade).

    State (``syncing``, ``synced``, ``resyncing``, ``stopped``) goes to ``on_state(state,
    detail)``; detail names the cause: ``lastUpdateId`` when synced, the ids of a gap, the
    reason of a disconnect, ``error`` when stopped for good. ``on_update(book)`` follows every
    event applied while synced. Stopping for good happens only on errors retrying cannot fix
    (Binance refusing the request, e.g. an invalid symbol; the connection giving up): they
    are kept in :attr:`error`.
    """

    def __init__(
        self,
        reactor: IReactorTime,
        client: StreamSource,
        rest: RestClient,
        symbol: str,
        *,
        market: str = "spot",
        speed: int | None = None,
        limit: int | None = None,
        on_update: Callable[[OrderBook], Any] | None = None,
        on_state: Callable[[str, dict], Any] | None = None,
        scheduler: SnapshotScheduler | None = None,
        refresh_interval: float | None = None,
        book_lock: AbstractContextManager | None = None,
    ) -> None:
        limit, speed = check_book_options(market, limit, speed)
        path, _, sequencer, _ = _MARKETS[market]
        if refresh_interval is not None and not refresh_interval > 0:
            raise ValueError(f"refresh_interval must be None or > 0 s, got {refresh_interval!r}")
        self.symbol = check_symbol(symbol).upper()
        self.market = market
        self.book = OrderBook(self.symbol)
        self.state = "idle"
        #: sequence gaps seen (each caused a resync)
        self.gaps = 0
        #: levels a refresh found different from the live book (0 on a healthy book)
        self.corrections = 0
        #: ``E`` (event time, ms) of the last applied event
        self.event_time: int | None = None
        #: why the synchroniser stopped by itself, if it did
        self.error: Exception | None = None
        #: a snapshot is waiting for room in the scheduler's REST weight budget
        self.queued = False
        self._reactor = reactor
        self._client = client
        self._rest = rest
        self._path = path
        self._limit = limit
        self._new_sequencer = sequencer
        self._sequencer: SpotSequencer | FuturesSequencer = sequencer()
        #: the diff stream followed
        self.stream = diff_stream(self.symbol, speed)
        self._on_update = on_update
        self._on_state = on_state
        self._scheduler = scheduler
        self._refresh_interval = refresh_interval
        self._lock = book_lock if book_lock is not None else nullcontext()
        self._buffer: list[dict] = []
        self._snapshot_pending = False
        self._recording: list[dict] | None = None
        self._subscription: Subscription | None = None
        self._synced_waiters: list[defer.Deferred] = []
        self._timers: dict[str, IDelayedCall] = {}
        self._in_flight: set[defer.Deferred] = set()
        self._connected = True

    def __repr__(self) -> str:
        return f"<DepthSynchroniser {self.market} {self.symbol} {self.state}>"

    def start(self) -> defer.Deferred:
        """Subscribe and sync; fires with this synchroniser once the book is first in sync."""
        d: defer.Deferred = defer.Deferred()
        self._synced_waiters.append(d)
        self._set_state("syncing", {})
        subscribing = self._client.subscribe([self.stream], self._on_diff, self._on_event)
        subscribing.addCallbacks(self._subscribed, self._fail)
        return d

    def stop(self) -> defer.Deferred:
        """Unsubscribe and forget the book; pending ``start()`` Deferreds fail."""
        return self._stop(None)

    def refresh(self) -> None:
        """Rebuild the book from a fresh snapshot while it stays live (make-before-break).

        Events applied meanwhile are recorded and replayed on the new snapshot; the result
        replaces the book in one step, so readers never see it empty. Works while synced, and
        while stale after a disconnect (the book kept); a no-op otherwise.
        """
        if self._recording is not None or self.book.update_id is None or not self._connected:
            return
        if self.state not in ("synced", "resyncing"):
            return
        recording: list[dict] = []
        self._recording = recording
        d = self._request_snapshot()
        d.addCallback(self._refreshed, recording)
        d.addErrback(self._refresh_failed, recording)

    # -- internals ---------------------------------------------------------------------------

    def _subscribed(self, subscription: Subscription) -> None:
        self._subscription = subscription
        if self.state == "stopped":
            # stopped while subscribing; the connection may already be gone
            subscription.unsubscribe().addErrback(lambda _: None)
            return
        self._fetch_snapshot()

    def _on_diff(self, stream: str, event: dict) -> None:
        if self.state in ("stopped", "idle"):
            return
        if self.book.update_id is None:
            if self.state == "synced":  # cleared behind our back (a bad level via the facade)
                self._resync({"reason": "the book was cleared"}, [event])
                return
            if len(self._buffer) >= _MAX_BUFFER:
                self._buffer.pop(0)
            self._buffer.append(event)
            return
        if self._apply(event) is Verdict.APPLY and self.state == "resyncing":
            # reconnected and the ids follow on: nothing was missed, no snapshot needed
            self._synced({"lastUpdateId": self.book.update_id, "resumed": True})

    def _on_event(self, event: ConnectionEvent) -> None:
        """Connection trouble: a dropped stream makes the book stale; giving up stops it."""
        if event.kind is EventKind.GAVE_UP:
            reason = event.reason or "retries exhausted"
            self._stop(ConnectionGaveUpError(event.connection, event.attempt or 0, reason))
        elif event.kind in (EventKind.DISCONNECTED, EventKind.STALLED):
            self._connected = False
            self._recording = None  # a refresh in flight must not declare a dead stream synced
            if self.state == "synced":
                self._set_state("resyncing", {"reason": event.reason or event.kind.value})
        elif event.kind in (EventKind.RECONNECTED, EventKind.CONNECTED):
            self._connected = True
            if self.state == "resyncing":
                # a quiet symbol may send nothing for long: a snapshot settles it now
                self.refresh()

    def _apply(self, event: dict) -> Verdict:
        """One event through the sequencer; a GAP, or a malformed event, starts a resync."""
        try:
            verdict = self._sequencer.check(self.book.update_id, event)
            if verdict is Verdict.APPLY:
                with self._lock:
                    self.book.apply_levels(event["b"], event["a"], update_id=event["u"])
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
            # dropped; a fresh snapshot repairs whatever the event may have half-applied
            log.warn("{sync}: malformed depth event dropped ({error})", sync=self, error=e)
            self._resync({"malformed": str(e)}, [])
            return Verdict.GAP
        if verdict is Verdict.STALE:
            return verdict
        if verdict is Verdict.GAP:
            self._gap(event)
            return verdict
        self.event_time = event.get("E")
        if self._recording is not None:
            self._recording.append(event)
        if self.state == "synced":
            self._updated()
        return verdict

    def _updated(self) -> None:
        if self._on_update is not None:
            try:
                self._on_update(self.book)
            except Exception:
                log.failure("{sync}: on_update raised", sync=self)

    def _request_snapshot(self) -> defer.Deferred:
        """A snapshot request (after its turn in the weight budget); cancelled by stop()."""
        params = [("symbol", self.symbol), ("limit", self._limit)]
        if self._scheduler is None:
            d = self._rest.request("GET", self._path, params)
        else:

            def granted(_: object) -> defer.Deferred:
                self.queued = False
                return self._rest.request("GET", self._path, params)

            d = self._scheduler.acquire(snapshot_weight(self.market, self._limit))
            self.queued = not d.called
            if self.queued:
                log.info("{sync}: snapshot queued for the REST weight budget", sync=self)
            d.addCallback(granted)
        self._in_flight.add(d)

        def done(result: Any) -> Any:
            self._in_flight.discard(d)
            return result

        return d.addBoth(done)

    def _fetch_snapshot(self) -> None:
        if self._snapshot_pending or self.state == "stopped":
            return
        self._snapshot_pending = True
        # an exception in _snapshot (a malformed snapshot) is retried like a failed request
        self._request_snapshot().addCallback(self._snapshot).addErrback(self._snapshot_failed)

    def _later(self, name: str, delay: float, function: Callable[[], Any]) -> None:
        """One pending timer per purpose; replaced if already set, cancelled on stop."""
        previous = self._timers.pop(name, None)
        if previous is not None and previous.active():
            previous.cancel()

        def fire() -> None:
            self._timers.pop(name, None)
            function()

        self._timers[name] = self._reactor.callLater(delay, fire)

    def _snapshot(self, snapshot: dict) -> None:
        self._snapshot_pending = False
        if self.state == "stopped":
            return
        last = int(snapshot["lastUpdateId"])
        if self.market == "spot" and self._buffer and last < int(self._buffer[0]["U"]):
            # older than what the stream already sent: Binance says fetch again
            self._set_state(self.state, {"refetch": "snapshot older than the first event"})
            self._later("snapshot", _REFETCH_DELAY, self._fetch_snapshot)
            return
        with self._lock:
            self.book.apply_snapshot(last, snapshot["bids"], snapshot["asks"])
        self._sequencer.start()
        buffered, self._buffer = self._buffer, []
        for index, event in enumerate(buffered):
            if self._apply(event) is Verdict.GAP:
                self._buffer.extend(buffered[index + 1 :])  # kept for the next snapshot
                return
        self._synced({"lastUpdateId": last})

    def _synced(self, detail: dict) -> None:
        self._set_state("synced", detail)
        waiters, self._synced_waiters = self._synced_waiters, []
        for d in waiters:
            d.callback(self)
        if self._refresh_interval is not None and "refresh" not in self._timers:
            self._later("refresh", self._refresh_interval, self._refresh_due)
        self._updated()

    def _refresh_due(self) -> None:
        self.refresh()
        if self.state != "stopped" and self._refresh_interval is not None:
            self._later("refresh", self._refresh_interval, self._refresh_due)

    def _refreshed(self, snapshot: dict, recording: list[dict]) -> None:
        """Build a book from the snapshot plus the recorded events and swap it in.

        A snapshot at the book's id is compared level by level (``corrections``); one ahead
        of the stream replaces the book, and the events it covers will arrive as stale; one
        older than the book, or than the recorded events, is not used.
        """
        if recording is not self._recording:
            return  # a gap, a disconnect or a stop superseded this refresh
        self._recording = None
        held_id = self.book.update_id
        if held_id is None or self.state not in ("synced", "resyncing"):
            return
        fresh = OrderBook(self.symbol)
        fresh.apply_snapshot(int(snapshot["lastUpdateId"]), snapshot["bids"], snapshot["asks"])
        sequencer = self._new_sequencer()
        sequencer.start()
        for event in recording:
            verdict = sequencer.check(fresh.update_id, event)
            if verdict is Verdict.GAP:
                fresh.update_id = None
                break
            if verdict is Verdict.APPLY:
                fresh.apply_levels(event["b"], event["a"], update_id=event["u"])
        if fresh.update_id is None or fresh.update_id < held_id:
            log.info("{sync}: refresh skipped (snapshot older than the book)", sync=self)
            return
        corrected = _disagreements(self.book, fresh) if fresh.update_id == held_id else 0
        with self._lock:
            self.book.adopt(fresh)
        if fresh.update_id != held_id:
            self._sequencer.start()  # the next event must join the snapshot
        self.corrections += corrected
        if corrected:
            log.warn("{sync}: refresh corrected {n} levels", sync=self, n=corrected)
        self._synced({"lastUpdateId": fresh.update_id, "refreshed": corrected})

    def _refresh_failed(self, failure: Any, recording: list[dict]) -> None:
        if recording is not self._recording:
            return  # superseded (or cancelled by stop)
        self._recording = None
        log.warn("{sync}: refresh snapshot failed ({error})", sync=self, error=failure.value)

    def _gap(self, event: dict) -> None:
        self.gaps += 1
        detail = {
            "book_id": self.book.update_id,
            "U": event.get("U"),
            "u": event.get("u"),
            "pu": event.get("pu"),
        }
        log.warn("{sync}: sequence gap {detail}; resyncing", sync=self, detail=detail)
        self._resync(detail, [event])

    def _resync(self, detail: dict, buffer: list[dict]) -> None:
        """Drop the book and sync again from a new snapshot, starting with ``buffer``."""
        with self._lock:
            self.book.clear()
        self._buffer = buffer
        self._recording = None
        self._set_state("resyncing" if self.state == "synced" else self.state, detail)
        self._fetch_snapshot()

    def _snapshot_failed(self, failure: Any) -> None:
        self._snapshot_pending = False
        if self.state == "stopped":
            return
        error = failure.value
        if _refused(error):
            self._stop(error)
            return
        log.warn("{sync}: snapshot failed ({error}); retrying", sync=self, error=error)
        delay = getattr(error, "retry_after", None) or _RETRY_DELAY
        self._later("snapshot", delay, self._fetch_snapshot)

    def _fail(self, failure: Any) -> None:
        self._stop(failure.value)

    def _stop(self, error: Exception | None) -> defer.Deferred:
        """Stop for good; with ``error`` it is kept, logged and reported in the state detail."""
        if self.state == "stopped":
            return defer.succeed(None)
        self.error = error
        if error is not None:
            log.error("{sync}: stopped: {error}", sync=self, error=error)
        for timer in self._timers.values():
            if timer.active():
                timer.cancel()
        self._timers.clear()
        self._buffer.clear()
        self._recording = None
        with self._lock:
            self.book.clear()
        self._set_state("stopped", {"error": str(error)} if error is not None else {})
        for request in list(self._in_flight):
            request.cancel()  # frees its place in the weight budget, or aborts the request
        waiters, self._synced_waiters = self._synced_waiters, []
        for d in waiters:
            d.errback(error or ClientClosedError(f"{self!r} was stopped"))
        subscription, self._subscription = self._subscription, None
        if subscription is None:
            return defer.succeed(None)
        d = subscription.unsubscribe()
        d.addErrback(lambda _: None)  # the connection may be gone already
        return d

    def _set_state(self, state: str, detail: dict) -> None:
        self.state = state
        if self._on_state is not None:
            try:
                self._on_state(state, detail)
            except Exception:
                log.failure("{sync}: on_state raised", sync=self)


def _refused(error: Exception) -> bool:
    """Binance refused the request itself (e.g. ``-1121 Invalid symbol``): retrying cannot help.

    Rate limits (429/418), server errors (5xx) and network trouble are retried instead.
    """
    if isinstance(error, RateLimitedError):
        return False
    return isinstance(error, BinanceAPIError) and 400 <= error.status < 500


def _disagreements(held: OrderBook, fresh: OrderBook) -> int:
    """Price levels where ``held`` differs from ``fresh``, within the range ``fresh`` covers."""
    count = 0
    for held_side, fresh_side in ((held.bids(), fresh.bids()), (held.asks(), fresh.asks())):
        if not fresh_side:
            continue
        truth = dict(fresh_side)
        low, high = min(truth), max(truth)
        inside = {price: qty for price, qty in held_side if low <= price <= high}
        count += sum(inside.get(price) != truth.get(price) for price in inside.keys() | truth)
    return count
