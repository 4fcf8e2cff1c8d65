"""python-binance 1.x's asyncio ``DepthCacheManager``: a book kept in sync, read by ``recv()``.

::

    async with DepthCacheManager(client, "BNBBTC") as dcm_socket:
        depth_cache = await dcm_socket.recv()
        print(depth_cache.get_bids()[:5])

1.x fetched one snapshot and applied diffs with a sequence check that moved backwards on a
straddling event. Here the native :class:`~binance_twisted.depth.synchroniser.DepthSynchroniser`
keeps the book (Binance's documented procedure, exact prices, snapshots within the REST
weight budget, resyncs after gaps). ``recv()`` returns the same
:class:`~binance_twisted.legacy.depthbook.DepthCache` once the book has changed since the
last ``recv()`` (changes in between are merged, so a slow reader never falls behind), or
1.x's error dict once if the book stopped for good; then ``ReadLoopClosed``.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import defer

from binance_twisted._core.policy import check_seconds
from binance_twisted.aio.loop import wait
from binance_twisted.aio.manager import BinanceSocketManager
from binance_twisted.aio.queue import ReadLoopClosed
from binance_twisted.depth.book import OrderBook
from binance_twisted.depth.synchroniser import DepthSynchroniser
from binance_twisted.errors import SyncTimeoutError, error_message
from binance_twisted.legacy.depthbook import Converter, DepthCache, cache_settings, refresh_seconds
from binance_twisted.streams import check_symbol

__all__ = ["DepthCacheManager", "FuturesDepthCacheManager"]


class DepthCacheManager:
    """Drop-in for ``binance.DepthCacheManager`` (python-binance 1.x, asyncio), Spot.

    ``refresh_interval``: ``None`` or ``0`` never rebuilds the book from a new snapshot (as
    in 1.x), seconds > 0 every that often (make-before-break: the book never looks empty).
    ``limit`` is the snapshot depth, ``ws_interval`` the diff stream's speed (``None`` or
    ``100`` ms). Entering waits until the book first synced, at most ``sync_timeout``
    seconds (:class:`~binance_twisted.errors.SyncTimeoutError`), and raises what stopped
    it (e.g. an invalid symbol). Without ``bm`` the cache makes its own manager (keyword
    ``options`` go to it) and closes it on exit.
    """

    _market = "spot"
    #: seconds ``async with`` waits for the first sync by default
    SYNC_TIMEOUT = 30.0

    def __init__(
        self,
        client: Any,
        symbol: str,
        loop: Any = None,
        refresh_interval: float | None = None,
        bm: BinanceSocketManager | None = None,
        limit: int | None = None,
        conv_type: Converter = float,
        ws_interval: int | None = None,
        *,
        sync_timeout: float = SYNC_TIMEOUT,
        **options: Any,
    ) -> None:
        check_symbol(symbol)
        if bm is not None and not isinstance(bm, BinanceSocketManager):
            raise TypeError(f"bm must be a binance_twisted.aio BinanceSocketManager, got {bm!r}")
        if bm is not None and options:
            raise TypeError(
                f"options {', '.join(sorted(options))} are for a new manager; bm= given"
            )
        check_seconds("sync_timeout", sync_timeout)
        refresh = refresh_seconds(refresh_interval, None)
        self._settings = cache_settings(self._market, limit, ws_interval, refresh)
        self._symbol = symbol
        self._sync_timeout = float(sync_timeout)
        self._owns_bm = bm is None
        self._bm = bm if bm is not None else BinanceSocketManager(client, **options)
        self._bm.venue.check_depth(self._market)  # no host for it: ValueError now
        self._depth_cache: DepthCache | None = DepthCache(symbol, conv_type)
        self._synchroniser: DepthSynchroniser | None = None
        self._changed = False  # the book changed since the last recv()
        self._waiter: defer.Deferred | None = None
        self._settled: defer.Deferred | None = None
        self._ended: str | None = None
        self._error: dict | None = None  # 1.x's error dict, not yet read

    def __repr__(self) -> str:
        state = self._synchroniser.state if self._synchroniser is not None else "idle"
        return f"<aio.{type(self).__name__} {self._symbol} {state}>"

    @property
    def synchroniser(self) -> DepthSynchroniser | None:
        """The native synchroniser behind the cache (``state``, ``gaps``, ``corrections``)."""
        return self._synchroniser

    async def __aenter__(self) -> DepthCacheManager:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def connect(self) -> None:
        """Start syncing; returns once the book first synced (see the class)."""
        if self._synchroniser is not None:
            return
        depth_cache = self._depth_cache
        if depth_cache is None:
            raise ReadLoopClosed(f"{self._symbol}: the depth cache was closed")
        venue = self._bm.venue
        client, rest, scheduler = venue.depth_sources(self._market)
        synchroniser = DepthSynchroniser(
            venue.reactor,
            client,
            rest,
            depth_cache.symbol,
            scheduler=scheduler,
            on_update=self._updated,
            on_state=self._state,
            book_lock=depth_cache.lock,
            **self._settings,
        )
        self._synchroniser = synchroniser
        depth_cache.book = synchroniser.book
        settled = self._settled = defer.Deferred()
        settled.addTimeout(self._sync_timeout, venue.reactor, self._sync_timed_out)
        synchroniser.start().addErrback(lambda _: None)  # failures arrive through _state
        try:
            await wait(settled)
        except BaseException:  # a timeout, the book's error, or a cancel: leave nothing running
            await self.close()
            raise

    async def recv(self) -> DepthCache | dict:
        """The cache once it changed since the last ``recv()`` (waits for a change), or the
        error dict once; ``ReadLoopClosed`` after that or once closed."""
        if self._error is not None:
            error, self._error = self._error, None
            return error
        if self._ended is not None or self._depth_cache is None:
            raise ReadLoopClosed(self._ended or f"{self._symbol}: not open")
        if self._changed:
            self._changed = False
            return self._depth_cache
        if self._waiter is not None:
            raise RuntimeError("another coroutine is already waiting in recv() on this cache")
        self._waiter = defer.Deferred(lambda _: self._forget_waiter())
        return await wait(self._waiter)

    def get_depth_cache(self) -> DepthCache | None:
        """The live :class:`DepthCache` (``None`` once closed)."""
        return self._depth_cache

    def get_symbol(self) -> str:
        return self._symbol

    async def close(self) -> None:
        """Stop syncing (idempotent); a manager the cache made itself is closed too."""
        self._end(f"{self._symbol}: the depth cache was closed")
        self._depth_cache = None
        synchroniser, self._synchroniser = self._synchroniser, None
        if synchroniser is not None:
            await wait(synchroniser.stop())
        if self._owns_bm:
            await self._bm.close()

    # -- the synchroniser's callbacks (reactor thread) -------------------------------------

    def _updated(self, book: OrderBook) -> None:
        depth_cache = self._depth_cache
        if depth_cache is None or self._synchroniser is None:
            return
        depth_cache.update_time = self._synchroniser.event_time
        waiter, self._waiter = self._waiter, None
        if waiter is not None:
            waiter.callback(depth_cache)
        else:
            self._changed = True

    def _state(self, state: str, detail: dict) -> None:
        synchroniser = self._synchroniser
        if state == "synced":
            self._settle(None)
        elif state == "stopped" and synchroniser is not None and synchroniser.error is not None:
            error = synchroniser.error
            self._settle(error)
            self._error = error_message(type(error).__name__, str(error))
            self._end(f"{self._symbol}: the depth cache stopped: {error}")

    def _settle(self, error: Exception | None) -> None:
        settled, self._settled = self._settled, None
        if settled is None or settled.called:  # timed out already
            return
        if error is None:
            settled.callback(None)
        else:
            settled.errback(error)

    def _sync_timed_out(self, result: Any, timeout: float) -> Any:
        raise SyncTimeoutError(
            f"{self._symbol}: the depth cache did not sync within {timeout:g} s (sync_timeout=)"
        )

    def _end(self, reason: str) -> None:
        if self._ended is None:
            self._ended = reason
        waiter, self._waiter = self._waiter, None
        if waiter is None:
            return
        if self._error is not None:
            error, self._error = self._error, None
            waiter.callback(error)
        else:
            waiter.errback(ReadLoopClosed(reason))

    def _forget_waiter(self) -> None:
        self._waiter = None


class FuturesDepthCacheManager(DepthCacheManager):
    """A USD-M futures book (``pu`` continuity); ``ws_interval`` 250 (default), 500 or 100."""

    _market = "futures"
