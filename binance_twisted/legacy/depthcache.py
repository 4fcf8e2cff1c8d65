"""python-binance's ``DepthCache`` and depth-cache managers, on :class:`DepthSynchroniser`.

Legacy code keeps working after one import change::

    from binance_twisted import DepthCacheManager   # was: from binance.depthcache import ...

    dcm = DepthCacheManager(client, "BNBBTC", callback=process_depth)
    bids = dcm.get_depth_cache().get_bids()

Underneath, the book follows Binance's current rules, where 0.7.11 could apply a stale event
over a newer snapshot and kept levels whose quantity was spelt ``"0.000"``. Snapshots arrive
asynchronously (0.7.11 fetched them on the reactor thread, freezing every socket), many books
share a REST weight budget, an error reaches the callback as ``None`` once and stops the
cache (0.7.11 followed it with a ``KeyError``), and the constructor's wait for the first sync
has a timeout (0.7.11 could wait forever).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.threadable import isInIOThread

from binance_twisted.depth.book import OrderBook
from binance_twisted.depth.synchroniser import DepthSynchroniser, diff_stream
from binance_twisted.errors import BinanceTwistedError, SyncTimeoutError
from binance_twisted.legacy.depthbook import Converter, DepthCache, cache_settings, refresh_seconds
from binance_twisted.legacy.manager import BinanceSocketManager
from binance_twisted.legacy.reactor_thread import (
    ReactorStoppedError,
    call_in_reactor,
    reactor_stopped,
)
from binance_twisted.legacy.sockets import LegacySocket, SocketRegistry
from binance_twisted.legacy.threaded import ThreadedWebsocketManager
from binance_twisted.legacy.venue import Venue
from binance_twisted.streams import check_symbol

__all__ = [
    "BaseDepthCacheManager",
    "DepthCache",
    "DepthCacheManager",
    "FuturesDepthCacheManager",
    "ThreadedDepthCacheManager",
    "wait_for_sync",
]

log = Logger(namespace="binance_twisted.depthcache")
#: how long close() waits for the reactor thread to take the cache down
_CLOSE_WAIT = 5.0


class DepthCacheSocket(LegacySocket):
    """A depth cache registered with its manager: ``stop_socket(key)`` and ``close()`` stop it.

    On the reactor thread it owns one :class:`DepthSynchroniser`, which shares the manager's
    stream connections, REST client and snapshot budget with every other cache.
    """

    def __init__(
        self,
        venue: Venue,
        registry: SocketRegistry,
        key: str,
        stream: str,
        depth_cache: DepthCache,
        callback: Callable[[DepthCache | None], Any] | None,
        settings: dict[str, Any],
        on_failure: Callable[[], Any],
    ) -> None:
        super().__init__(venue, registry, key, callback if callback is not None else _ignore)
        self.stream = stream
        self.depth_cache = depth_cache
        self.settings = settings
        self.synchroniser: DepthSynchroniser | None = None
        #: set once the book first syncs, or the cache stops
        self.settled = threading.Event()
        self._on_failure = on_failure
        self._open_error: Exception | None = None

    @property
    def error(self) -> Exception | None:
        """What stopped the cache for good, if anything did."""
        synchroniser = self.synchroniser
        return synchroniser.error if synchroniser is not None else self._open_error

    def open(self) -> defer.Deferred:
        """On the reactor thread: create the synchroniser and start syncing (the Deferred
        fires at once: :attr:`settled` says when the book first synced)."""
        if self.stopped:
            self.settled.set()
            return defer.succeed(None)
        try:
            self._open()
        except Exception as e:  # reported like any fatal error, never only logged
            log.failure("{key}: the depth cache could not start", key=self.key)
            self._open_error = e
            self._failed()
        return defer.succeed(None)

    def _open(self) -> None:
        client, rest, scheduler = self.venue.depth_sources(self.settings["market"])
        synchroniser = DepthSynchroniser(
            self.venue.reactor,
            client,
            rest,
            self.depth_cache.symbol,
            scheduler=scheduler,
            on_update=self._updated,
            on_state=self._state,
            book_lock=self.depth_cache.lock,
            **self.settings,
        )
        self.synchroniser = synchroniser
        self.depth_cache.book = synchroniser.book
        synchroniser.start().addErrback(lambda _: None)  # failures arrive through _state

    def close(self) -> Any:
        """On the reactor thread: stop syncing (idempotent)."""
        self.stopped = True
        self.settled.set()
        synchroniser = self.synchroniser
        if synchroniser is None:
            return defer.succeed(None)
        return synchroniser.stop()

    def queued(self) -> bool:
        """Whether the snapshot waits for room in the REST weight budget (thread-safe read)."""
        synchroniser = self.synchroniser
        return synchroniser is not None and synchroniser.queued

    def describe(self) -> str:
        """The synchroniser's state and error, for a timeout message."""
        synchroniser = self.synchroniser
        error = f", error: {self.error}" if self.error else ""
        if synchroniser is None:
            return f"not started{error}"
        return f"state {synchroniser.state}{error}"

    def _updated(self, book: OrderBook) -> None:
        assert self.synchroniser is not None
        self.depth_cache.update_time = self.synchroniser.event_time
        self.deliver(self.depth_cache)

    def _state(self, state: str, detail: dict) -> None:
        if state == "synced":
            self.settled.set()
        elif state == "stopped":
            self.settled.set()
            if self.error is not None:
                self._failed()

    def _failed(self) -> None:
        """Stopped for good on an error: ``callback(None)`` once, the key is freed."""
        self.settled.set()
        if self.stopped:
            return
        self.deliver(None)
        self.stopped = True
        self.registry.forget(self)
        self._on_failure()


class BaseDepthCacheManager:
    """What the Spot and futures depth-cache managers share (python-binance 0.7.11's base).

    The constructor starts the cache and, unless ``sync_timeout`` is ``None`` or it runs on
    the reactor thread, waits up to ``sync_timeout`` seconds for the first sync (time queued
    for the REST weight budget behind other caches does not count): it raises
    :class:`~binance_twisted.errors.SyncTimeoutError` if the book did not sync in time, or
    the error that stopped it (e.g. ``BinanceAPIError`` for an invalid symbol).

    ``refresh_interval``: ``None`` rebuilds the book from a new snapshot every 30 minutes
    (as before), ``0`` never, a number every that many seconds; the rebuild is
    make-before-break, so the cache never looks empty. Without ``bm`` the cache gets its own
    :class:`~binance_twisted.BinanceSocketManager` (keyword ``options`` go to it, e.g.
    ``endpoints`` or ``max_retries``) and closes it with the cache.
    """

    DEFAULT_REFRESH = 60 * 30
    #: seconds the constructor waits for the first sync by default
    SYNC_TIMEOUT = 30.0
    _market = "spot"

    def __init__(
        self,
        client: Any,
        symbol: str,
        callback: Callable[[DepthCache | None], Any] | None = None,
        refresh_interval: float | None = None,
        bm: BinanceSocketManager | None = None,
        limit: int | None = None,
        ws_interval: int | None = None,
        *,
        conv_type: Converter = float,
        sync_timeout: float | None = SYNC_TIMEOUT,
        _key: str | None = None,
        **options: Any,
    ) -> None:
        check_symbol(symbol)
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable or None, got {callback!r}")
        if sync_timeout is not None and not (
            isinstance(sync_timeout, (int, float)) and sync_timeout > 0
        ):
            raise ValueError(f"sync_timeout must be None (no wait) or > 0 s, got {sync_timeout!r}")
        if bm is not None and not isinstance(bm, BinanceSocketManager):
            raise TypeError(f"bm must be a binance_twisted BinanceSocketManager, got {bm!r}")
        if bm is not None and options:
            raise TypeError(
                f"options {', '.join(sorted(options))} are for a new manager; bm= given"
            )
        refresh = refresh_seconds(refresh_interval, self.DEFAULT_REFRESH)
        settings = cache_settings(self._market, limit, ws_interval, refresh)
        speed = settings["speed"]
        self._symbol = symbol
        self._owns_bm = bm is None
        self._bm = bm if bm is not None else BinanceSocketManager(client, **options)
        self._depth_cache: DepthCache | None = DepthCache(symbol, conv_type)
        depth_cache = self._depth_cache
        stream = diff_stream(symbol, speed)

        venue = self._bm.venue
        if reactor_stopped(venue.reactor):
            raise ReactorStoppedError()
        venue.check_depth(self._market)  # fails here, before any I/O

        def make(key: str) -> DepthCacheSocket:
            return DepthCacheSocket(
                venue,
                self._bm.registry,
                key,
                stream,
                depth_cache,
                callback,
                settings,
                self._stopped_by_error,
            )

        socket = self._bm.registry.add_unique(_key or stream, make)
        assert isinstance(socket, DepthCacheSocket)
        self._socket = socket
        self._conn_key = socket.key
        venue.call_soon(socket.open)
        try:
            if not self._bm.is_alive():
                self._bm.start()
            if sync_timeout is not None and not (isInIOThread() and venue.reactor.running):
                self._wait_for_sync(sync_timeout)
        except BaseException:  # a timeout, the cache's error, or Ctrl-C: leave nothing running
            self.close()
            raise

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._conn_key!r} {self._socket.describe()}>"

    @property
    def state(self) -> str:
        """``syncing``, ``synced``, ``resyncing`` (book empty or stale) or ``stopped``."""
        synchroniser = self._socket.synchroniser
        if synchroniser is None:
            return "stopped" if self._socket.stopped else "syncing"
        return synchroniser.state

    @property
    def synchroniser(self) -> DepthSynchroniser | None:
        """The native :class:`DepthSynchroniser` behind the cache (``gaps``, ``corrections``…)."""
        return self._socket.synchroniser

    def get_depth_cache(self) -> DepthCache | None:
        """The live :class:`DepthCache` (``None`` once closed or stopped by an error)."""
        return self._depth_cache

    def get_symbol(self) -> str:
        """The symbol, as given."""
        return self._symbol

    def close(self, close_socket: bool = False) -> None:
        """Stop the cache; no callback comes after this returns (0.7.11 slept a second).

        From another thread it waits for the reactor thread, so a callback running at that
        moment has finished. ``close_socket`` also closes the manager; a manager the cache
        created itself is always closed, so the process can exit.
        """
        socket = self._socket
        socket.stopped = True  # no callback starts after this
        try:
            call_in_reactor(self._bm.reactor, socket.discard, timeout=_CLOSE_WAIT)
        except ReactorStoppedError:
            pass  # nothing runs any more
        except BinanceTwistedError:
            log.failure("{key}: closing the depth cache timed out", key=socket.key)
        if close_socket or self._owns_bm:
            self._bm.close()
        self._depth_cache = None

    # -- internals ---------------------------------------------------------------------------

    def _wait_for_sync(self, timeout: float) -> None:
        """Return once synced; raise the cache's error, or SyncTimeoutError (caller closes)."""
        socket = self._socket
        if wait_for_sync(socket.settled.wait, socket.queued, timeout):
            if socket.error is not None:
                raise socket.error
            if socket.stopped:
                raise SyncTimeoutError(
                    f"{self._symbol}: the depth cache was closed before it synced"
                )
            return
        described = socket.describe()
        raise SyncTimeoutError(
            f"{self._symbol}: the order book did not sync within {timeout:g} s ({described}); "
            "pass sync_timeout=None to return at once"
        )

    def _stopped_by_error(self) -> None:
        self._depth_cache = None
        if self._owns_bm:
            self._bm.close()


def wait_for_sync(
    wait: Callable[[float], bool],
    queued: Callable[[], bool],
    timeout: float,
    clock: Callable[[], float] = time.monotonic,
    step: float = 0.05,
) -> bool:
    """Wait until ``wait`` says synced; ``False`` after ``timeout`` s of trying.

    Time spent queued for the REST weight budget does not count: creating a hundred caches
    in a loop is slow by design (Binance's weight limit), and each constructor should wait its
    turn instead of timing out behind the others.
    """
    spent = 0.0
    while True:
        before = clock()
        if wait(step):
            return True
        if not queued():
            spent += clock() - before
        if spent >= timeout:
            return False


def _ignore(depth_cache: Any) -> None:
    """The callback of a cache nobody listens to (it is read with get_depth_cache())."""


class DepthCacheManager(BaseDepthCacheManager):
    """Drop-in for ``binance.depthcache.DepthCacheManager`` (python-binance 0.x): a Spot book.

    ``DepthCacheManager(client, symbol, callback=None, refresh_interval=None, bm=None,
    limit=500, ws_interval=None)``, as in 0.7.11: ``callback(depth_cache)`` runs on the reactor
    thread after every update (``None`` once if the cache stops on an error); ``limit`` is the
    snapshot depth (1 to 5000; ``None`` means 500, as before); ``ws_interval=100`` follows the
    100 ms diff stream.
    """


class FuturesDepthCacheManager(BaseDepthCacheManager):
    """A USD-M futures book (``pu`` continuity) on the routed ``/public`` stream URL.

    As :class:`DepthCacheManager`; ``limit`` is 1 to 1000 (default 1000, so the book is
    complete that deep), ``ws_interval`` 250 (the default), 500 or 100 ms.
    """

    _market = "futures"


class ThreadedDepthCacheManager(ThreadedWebsocketManager):
    """Drop-in for python-binance 1.x's ``ThreadedDepthCacheManager``.

    ``start_depth_cache(callback, symbol, …)`` returns ``'<sym>@depth<limit>'`` at once (no
    wait, as in 1.x); ``callback(depth_cache)`` follows every update, ``None`` once on a fatal
    error. ``stop_socket(name)`` stops one cache, ``stop()`` all. ``bm`` is accepted and
    ignored: this manager carries its caches.
    """

    def start_depth_cache(
        self,
        callback: Callable[[DepthCache | None], Any],
        symbol: str,
        refresh_interval: float | None = None,
        bm: Any = None,
        limit: int = 10,
        conv_type: Converter = float,
        ws_interval: int = 0,
    ) -> str:
        """A Spot depth cache; ``limit`` is the snapshot depth (1.x's default of 10 is small)."""
        return self._cache(
            DepthCacheManager, callback, symbol, refresh_interval, limit, conv_type, ws_interval
        )

    def start_futures_depth_socket(
        self,
        callback: Callable[[DepthCache | None], Any],
        symbol: str,
        refresh_interval: float | None = None,
        bm: Any = None,
        limit: int = 10,
        conv_type: Converter = float,
    ) -> str:
        """A USD-M futures depth cache (1.x replaced partial books; this one syncs diffs)."""
        return self._cache(
            FuturesDepthCacheManager, callback, symbol, refresh_interval, limit, conv_type, None
        )

    def _cache(
        self,
        cls: type[BaseDepthCacheManager],
        callback: Callable[[DepthCache | None], Any],
        symbol: str,
        refresh_interval: float | None,
        limit: int,
        conv_type: Converter,
        ws_interval: int | None,
    ) -> str:
        if not callable(callback):
            raise TypeError(f"callback must be callable, got {callback!r}")
        cache = cls(
            None,
            symbol,
            callback,
            refresh_interval,
            self,
            limit,
            ws_interval,
            conv_type=conv_type,
            sync_timeout=None,
            _key=f"{check_symbol(symbol)}@depth{limit}",
        )
        return cache._conn_key
