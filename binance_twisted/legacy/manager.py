"""python-binance 0.x's ``BinanceSocketManager``, on today's Binance, as a thin thread facade.

Legacy code keeps working after one import change::

    from binance_twisted import BinanceSocketManager   # was: from binance.websockets import ...

Every ``start_*_socket`` returns the same key as python-binance 0.7.11 (or ``False`` for a
duplicate) and the callback gets the same message shapes; what changed underneath is the
native :class:`~binance_twisted.StreamClient`: verified TLS, reconnects that never give up
silently, stall detection, 24 h rotation. This module holds no protocol logic: it validates
arguments in the caller's thread, keeps the key registry and the manager thread, and hands
everything else to the sockets and their :class:`~binance_twisted.legacy.venue.Venue` on the
reactor thread (see :mod:`binance_twisted.legacy.reactor_thread`).
"""

from __future__ import annotations

import functools
import threading
import warnings
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.threadable import isInIOThread

from binance_twisted.endpoints import RETIRED_OPTIONS_STREAM_URLS
from binance_twisted.events import ConnectionEvent
from binance_twisted.legacy import plans
from binance_twisted.legacy.accounts import ACCOUNT_API_KINDS, KINDS, AccountSocket
from binance_twisted.legacy.blocking import SyncWsApiMethods
from binance_twisted.legacy.logbridge import forward_to_stdlib
from binance_twisted.legacy.plans import SocketPlan
from binance_twisted.legacy.reactor_thread import (
    HEARTBEAT,
    ReactorStoppedError,
    call_in_reactor,
    ensure_running,
    reactor_stopped,
)
from binance_twisted.legacy.sockets import SocketRegistry, StreamSocket, note_once
from binance_twisted.legacy.venue import Options, Venue, legacy_urls
from binance_twisted.wsapi.table import WsApiMethod

__all__ = ["BinanceSocketManager"]

log = Logger(namespace="binance_twisted.manager")

F = TypeVar("F", bound=Callable[..., Any])

_CLOSE_TIMEOUT = 5.0
#: a blocking ws_* call waits at most this long (the request's own timeout is 10 s)
_SYNC_TIMEOUT = 15.0
_LEGACY_STREAM_URL, _LEGACY_FSTREAM_URL, _LEGACY_WS_API_URL = legacy_urls()


def _callback_may_come_first(method: F) -> F:
    """Accept python-binance 1.x's callback-first order where it is unambiguous.

    0.x is ``start_trade_socket(symbol, callback)``, 1.x ``start_trade_socket(callback,
    symbol)``; a symbol is never callable, so a callable first argument is swapped.
    """

    @functools.wraps(method)
    def accept(self: Any, *args: Any, **kwargs: Any) -> Any:
        if len(args) >= 2 and callable(args[0]) and not callable(args[1]):
            args = (args[1], args[0], *args[2:])
        elif len(args) == 1 and callable(args[0]) and "callback" not in kwargs:
            kwargs["callback"] = args[0]
            args = ()
        return method(self, *args, **kwargs)

    return accept  # type: ignore[return-value]


class BinanceSocketManager(SyncWsApiMethods, threading.Thread):
    """Drop-in for ``binance.websockets.BinanceSocketManager`` (python-binance 0.x).

    ``client`` may be a python-binance ``Client`` of any version, any object with
    ``API_KEY``/``API_SECRET`` (and optionally ``tld``, ``testnet``), or ``None``. Keyword
    options: ``api_key``, ``api_secret``, ``tld``, ``testnet``, ``endpoints``,
    ``max_retries`` (default 5, as before; ``None`` retries forever), ``stall_timeout``,
    ``rotate_after``, ``trust_root``, ``on_event`` (``True``: connection events reach the
    callback as ``{'e': 'event', ...}`` dicts; a callable: ``on_event(conn_key, event)``),
    ``reactor``, and ``user_data``: how :meth:`start_user_socket` gets Spot user data
    (``None``: the WebSocket API, except a kept-alive listenKey on Binance.US, the last
    mechanism Binance.US documented; ``'ws_api'`` or ``'listen_key'`` to choose).
    Overriding ``STREAM_URL`` or ``FSTREAM_URL`` on the class or the instance redirects new
    sockets, as it did.
    """

    STREAM_URL = _LEGACY_STREAM_URL
    FSTREAM_URL = _LEGACY_FSTREAM_URL
    WS_API_URL = _LEGACY_WS_API_URL
    VSTREAM_URL, VSTREAM_TESTNET_URL = RETIRED_OPTIONS_STREAM_URLS

    WEBSOCKET_DEPTH_5 = "5"
    WEBSOCKET_DEPTH_10 = "10"
    WEBSOCKET_DEPTH_20 = "20"

    DEFAULT_USER_TIMEOUT = 30 * 60

    def __init__(
        self, client: Any = None, user_timeout: float = DEFAULT_USER_TIMEOUT, **options: Any
    ) -> None:
        threading.Thread.__init__(self, name="BinanceSocketManager")
        parsed = Options.parse(options)
        if parsed.reactor is None:
            from twisted.internet import reactor
        else:
            reactor = parsed.reactor
        if reactor_stopped(reactor):
            raise ReactorStoppedError()
        forward_to_stdlib()
        self._reactor: Any = reactor
        self._client = client
        self._user_timeout = user_timeout
        #: the conn_keys of this manager's sockets (``_conns`` is its dict, as in 0.7.11)
        self.registry = SocketRegistry()
        self._conns = self.registry.conns
        #: where this manager's sockets connect and what they share there
        self.venue = Venue(reactor, parsed, client, self, user_timeout, self._account_event)
        self._closed_event = threading.Event()
        self._ever_started = False
        self._shutdown_watched = False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {'running' if self.is_alive() else 'idle'} " + (
            f"sockets={len(self._conns)}>"
        )

    @property
    def reactor(self) -> Any:
        """The reactor the manager's sockets run on."""
        return self._reactor

    # -- Spot sockets (python-binance 0.7.11) ----------------------------------------------

    @_callback_may_come_first
    def start_depth_socket(
        self,
        symbol: str,
        callback: Callable,
        depth: int | str | None = None,
        interval: int | None = None,
    ) -> str | bool:
        """``<sym>@depth`` (diff), ``<sym>@depth<5|10|20>``, optionally ``@100ms``."""
        return self._start(plans.depth(symbol, depth, interval), callback)

    @_callback_may_come_first
    def start_kline_socket(
        self, symbol: str, callback: Callable, interval: str = "1m"
    ) -> str | bool:
        """``<sym>@kline_<interval>``; the interval must be one Binance serves."""
        return self._start(plans.kline(symbol, interval), callback)

    def start_miniticker_socket(self, callback: Callable, update_time: int = 1000) -> str | bool:
        """``!miniTicker@arr`` for every symbol; the key keeps the legacy ``@<n>ms`` suffix."""
        return self._start(plans.miniticker(update_time), callback)

    @_callback_may_come_first
    def start_trade_socket(self, symbol: str, callback: Callable) -> str | bool:
        """``<sym>@trade``."""
        return self._start(plans.trade(symbol), callback)

    @_callback_may_come_first
    def start_aggtrade_socket(self, symbol: str, callback: Callable) -> str | bool:
        """``<sym>@aggTrade``."""
        return self._start(plans.aggtrade(symbol), callback)

    @_callback_may_come_first
    def start_symbol_ticker_socket(self, symbol: str, callback: Callable) -> str | bool:
        """``<sym>@ticker``."""
        return self._start(plans.symbol_ticker(symbol), callback)

    def start_ticker_socket(self, callback: Callable) -> str | bool:
        """``!ticker@arr`` (retired 2026-03-26): served by ``!ticker_1d@arr``, logged once."""
        return self._start(plans.ticker(), callback)

    @_callback_may_come_first
    def start_symbol_book_ticker_socket(self, symbol: str, callback: Callable) -> str | bool:
        """``<sym>@bookTicker``."""
        return self._start(plans.symbol_book_ticker(symbol), callback)

    def start_book_ticker_socket(self, callback: Callable) -> str | bool:
        """Spot ``!bookTicker`` was removed in 2022: raises, naming the per-symbol stream."""
        return self._start(plans.book_ticker(), callback)

    @_callback_may_come_first
    def start_multiplex_socket(self, streams: Iterable[str], callback: Callable) -> str | bool:
        """Several streams on one key ``streams=a/b``; messages arrive as ``{stream, data}``."""
        return self._start(plans.multiplex(streams), callback)

    # -- USD-M futures sockets (routed /public and /market URLs since 2026) -----------------

    @_callback_may_come_first
    def start_aggtrade_futures_socket(self, symbol: str, callback: Callable) -> str | bool:
        """Futures ``<sym>@aggTrade`` (wrapped messages, as before)."""
        return self._start(plans.futures_aggtrade(symbol), callback)

    @_callback_may_come_first
    def start_symbol_mark_price_socket(
        self, symbol: str, callback: Callable, fast: bool = True
    ) -> str | bool:
        """Futures ``<sym>@markPrice@1s`` (``fast``) or ``<sym>@markPrice``."""
        return self._start(plans.symbol_mark_price(symbol, fast), callback)

    def start_all_mark_price_socket(self, callback: Callable, fast: bool = True) -> str | bool:
        """Futures ``!markPrice@arr@1s`` (``fast``) or ``!markPrice@arr``."""
        return self._start(plans.all_mark_price(fast), callback)

    @_callback_may_come_first
    def start_symbol_ticker_futures_socket(self, symbol: str, callback: Callable) -> str | bool:
        """Futures ``<sym>@bookTicker`` (the 0.7.x name says ticker; it was always bookTicker)."""
        return self._start(plans.symbol_ticker_futures(symbol), callback)

    @_callback_may_come_first
    def start_individual_symbol_ticker_futures_socket(
        self, symbol: str, callback: Callable
    ) -> str | bool:
        """Futures ``<sym>@ticker``."""
        return self._start(plans.individual_symbol_ticker_futures(symbol), callback)

    def start_all_ticker_futures_socket(self, callback: Callable) -> str | bool:
        """Futures ``!bookTicker`` for every symbol."""
        return self._start(plans.all_ticker_futures(), callback)

    # -- account streams (Binance removed Spot and margin listenKeys on 2026-02-20) -----------

    def start_user_socket(self, callback: Callable) -> str:
        """Spot user data, now over the WebSocket API; returns ``'user'`` (not a credential).

        On Binance.US (or with ``user_data='listen_key'``) over a kept-alive listenKey.
        """
        return self._start_account(self.venue.spot_user_data_kind(), callback)

    def start_margin_socket(self, callback: Callable) -> str:
        """Cross-margin user data over a listenToken; returns ``'margin'``."""
        return self._start_account("margin", callback)

    @_callback_may_come_first
    def start_isolated_margin_socket(self, symbol: str, callback: Callable) -> str:
        """Isolated-margin user data over a listenToken; returns ``'isolated_margin:<SYM>'``."""
        return self._start_account("isolated", callback, symbol)

    def start_futures_user_socket(self, callback: Callable) -> str:
        """USD-M futures user data (python-binance 1.x) over a kept-alive listenKey."""
        return self._start_account("futures", callback)

    def start_coin_futures_user_socket(self, callback: Callable) -> str:
        """COIN-M futures user data (python-binance 1.x) over a kept-alive listenKey."""
        return self._start_account("coin_futures", callback)

    # -- gone for good ------------------------------------------------------------------------

    @_callback_may_come_first
    def start_options_ticker_socket(self, symbol: str, callback: Callable) -> str | bool:
        """Vanilla options are gone (vstream.binance.com): raises RetiredStreamError."""
        return self._start(plans.options(f"{symbol.lower()}@ticker"), callback)

    @_callback_may_come_first
    def start_options_recent_trades_socket(self, symbol: str, callback: Callable) -> str | bool:
        """Vanilla options are gone (vstream.binance.com): raises RetiredStreamError."""
        return self._start(plans.options(f"{symbol.lower()}@trade"), callback)

    @_callback_may_come_first
    def start_options_kline_socket(
        self, symbol: str, callback: Callable, interval: str = "1m"
    ) -> str | bool:
        """Vanilla options are gone (vstream.binance.com): raises RetiredStreamError."""
        return self._start(plans.options(f"{symbol.lower()}@kline_{interval}"), callback)

    @_callback_may_come_first
    def start_options_depth_socket(
        self, symbol: str, callback: Callable, depth: str = "10"
    ) -> str | bool:
        """Vanilla options are gone (vstream.binance.com): raises RetiredStreamError."""
        return self._start(plans.options(f"{symbol.lower()}@depth{depth}"), callback)

    @_callback_may_come_first
    def start_options_multiplex_socket(
        self, streams: Iterable[str], callback: Callable
    ) -> str | bool:
        """Vanilla options are gone (vstream.binance.com): raises RetiredStreamError."""
        return self._start(plans.options("/".join(streams)), callback)

    # -- stopping --------------------------------------------------------------------------

    def stop_socket(self, conn_key: str) -> None:
        """Stop one socket by the key ``start_*`` returned; unknown keys are ignored."""
        socket = self.registry.pop(conn_key)
        if socket is not None:
            socket.stopped = True
            self.venue.call_soon(socket.close)

    def close(self) -> None:
        """Stop every socket and end the manager thread, so the process can exit.

        The manager stays usable: ``start_*`` afterwards opens new sockets, and ``start()``
        may be called again. The reactor is left running for other managers.
        """
        sockets = self.registry.take_all()

        def shut_down() -> defer.Deferred:
            closing = [s.close() for s in sockets] + [self.venue.release()]
            return defer.gatherResults(closing, consumeErrors=True)

        if self._reactor.running and not reactor_stopped(self._reactor):
            try:
                call_in_reactor(self._reactor, shut_down, timeout=_CLOSE_TIMEOUT)
            except Exception:
                log.failure("closing the sockets failed; the manager stops anyway")
        self._closed_event.set()

    def stats(self) -> dict[str, dict[str, Any]]:
        """The counters of this manager's connections, by name (``"spot-1"``, ``"ws-api"``…):
        messages, bytes, connects, reconnects, failed attempts, the last error… (the native
        ``StreamClient.stats()``); ``{}`` before any socket or once the reactor stopped."""
        if reactor_stopped(self._reactor) or not self._reactor.running:
            return {}
        stats: dict[str, dict[str, Any]] = call_in_reactor(
            self._reactor, self.venue.stats, timeout=_SYNC_TIMEOUT
        )
        return stats

    def stop_depth_socket(self, symbol: str) -> None:
        """Deprecated (python-binance 0.1-0.3): use ``stop_socket(conn_key)``."""
        self._stop_matching(f"{symbol.lower()}@depth", "stop_depth_socket")

    def stop_kline_socket(self, symbol: str) -> None:
        """Deprecated (python-binance 0.1-0.3): use ``stop_socket(conn_key)``."""
        self._stop_matching(f"{symbol.lower()}@kline", "stop_kline_socket")

    def stop_trade_socket(self, symbol: str) -> None:
        """Deprecated (python-binance 0.1-0.3): use ``stop_socket(conn_key)``."""
        self._stop_matching(f"{symbol.lower()}@trade", "stop_trade_socket")

    def stop_ticker_socket(self) -> None:
        """Deprecated (python-binance 0.1-0.3): use ``stop_socket(conn_key)``."""
        self._stop_matching("!ticker@arr", "stop_ticker_socket")

    def stop_user_socket(self) -> None:
        """Deprecated (python-binance 0.1-0.3): use ``stop_socket(conn_key)``."""
        self._stop_matching("user", "stop_user_socket")

    # -- the thread --------------------------------------------------------------------------

    def start(self) -> None:
        """Start streaming: idempotent, and allowed again after :meth:`close`.

        The manager thread stays alive (non-daemon) until :meth:`close` or until the
        reactor stops, so a script that ends after ``bm.start()`` keeps streaming.
        """
        ensure_running(self._reactor)
        with self.registry.lock:
            if self.is_alive():
                return
            if self._ever_started:
                threading.Thread.__init__(self, name=self.name)
            self._ever_started = True
            self._closed_event.clear()
        self.venue.call_soon(self._watch_shutdown)
        threading.Thread.start(self)

    def run(self) -> None:
        """The manager thread only waits: callbacks run on the reactor thread.

        It ends on :meth:`close`, or once the reactor has stopped, however early: a stop
        that came before the reactor ran this manager's shutdown trigger is noticed within
        ``HEARTBEAT`` seconds, so ``reactor.stop()`` always lets the process exit.
        """
        while not self._closed_event.wait(HEARTBEAT):
            if reactor_stopped(self._reactor):
                return

    # -- internals -------------------------------------------------------------------------

    def _start(self, plan: SocketPlan, callback: Callable) -> str | bool:
        if not callable(callback):
            raise TypeError(f"callback must be callable, got {callback!r}")
        if reactor_stopped(self._reactor):
            raise ReactorStoppedError()
        self.venue.stream_host(plan.market)  # fails here, before any I/O, if there is none
        with self.registry.lock:
            key = plan.key
            existing = self._conns.get(key)
            if existing is not None:
                if not isinstance(existing, StreamSocket) or existing.plan.market == plan.market:
                    return False
                key = f"{plan.market}:{key}"  # 0.7.11 returned False here (keys collided)
                if key in self._conns:
                    return False
            socket = StreamSocket(self.venue, self.registry, key, plan, callback)
            self._conns[key] = socket
        if plan.note is not None:
            note_once(plan.note)
        self.venue.call_soon(socket.open)
        return key

    def _start_account(self, kind: str, callback: Callable, symbol: str | None = None) -> str:
        """Register an account socket; a second start of the same one replaces it (as before)."""
        if not callable(callback):
            raise TypeError(f"callback must be callable, got {callback!r}")
        if reactor_stopped(self._reactor):
            raise ReactorStoppedError()
        self.venue.load_credentials()
        if symbol is not None:
            symbol = plans.streams.check_symbol(symbol).upper()
        key = KINDS[kind].format(symbol=symbol)
        socket = AccountSocket(self.venue, self.registry, key, kind, callback, symbol)
        with self.registry.lock:
            previous = self._conns.pop(key, None)
            self._conns[key] = socket
        if previous is not None:
            previous.stopped = True
            self.venue.call_soon(previous.close)
        self.venue.call_soon(socket.open)
        return key

    def _account_event(self, event: ConnectionEvent) -> None:
        """Events of the account WebSocket API connection reach every account socket on it."""
        for socket in self.registry.sockets():
            if isinstance(socket, AccountSocket) and socket.kind in ACCOUNT_API_KINDS:
                socket.connection_event(event)

    def _ws_call(self, row: WsApiMethod, params: dict[str, Any]) -> Any:
        """A blocking ``ws_*`` call: run its Deferred on the reactor, wait in this thread."""
        if isInIOThread() and self._reactor.running:
            raise RuntimeError(
                f"{row.name}() blocks until Binance answers, so it cannot run on the reactor "
                f"thread (in a callback); use WebSocketAPI.{row.name}(), which returns a Deferred"
            )
        keyed = self.venue.load_credentials(required=row.signed) is not None
        ensure_running(self._reactor)

        def call() -> Any:
            return getattr(self.venue.ws_api(row.market, keyed), row.name)(**params)

        return call_in_reactor(self._reactor, call, timeout=_SYNC_TIMEOUT)

    def _stop_matching(self, prefix: str, name: str) -> None:
        warnings.warn(
            f"{name}() is deprecated since python-binance 0.3.4; use stop_socket(conn_key)",
            DeprecationWarning,
            stacklevel=3,
        )
        with self.registry.lock:
            keys = [k for k in self._conns if k.split(":", 1)[-1].startswith(prefix)]
        for key in keys:
            self.stop_socket(key)

    def _watch_shutdown(self) -> None:
        if not self._shutdown_watched:
            self._shutdown_watched = True
            self._reactor.addSystemEventTrigger("before", "shutdown", self._closed_event.set)
