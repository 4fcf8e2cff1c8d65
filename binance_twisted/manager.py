"""python-binance 0.x's ``BinanceSocketManager``, on today's Binance, as a thin thread facade.

Legacy code keeps working after one import change::

    from binance_twisted import BinanceSocketManager   # was: from binance.websockets import ...

Every ``start_*_socket`` returns the same key as python-binance 0.7.11 (or ``False`` for a
duplicate) and the callback gets the same message shapes; what changed underneath is the
native :class:`~binance_twisted.StreamClient`: verified TLS, reconnects that never give up
silently, stall detection, 24 h rotation. This module holds no protocol logic: it validates
arguments in the caller's thread, keeps the key registry, and hands everything else to the
reactor thread (see :mod:`binance_twisted.reactor_thread`).
"""

from __future__ import annotations

import functools
import threading
import warnings
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import attrs
from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.threadable import isInIOThread

from binance_twisted import legacy_paths
from binance_twisted.client import StreamClient, Subscription
from binance_twisted.connection import ConnectionPolicy
from binance_twisted.depthcache import SnapshotScheduler
from binance_twisted.endpoints import Endpoints
from binance_twisted.errors import MissingCredentialsError
from binance_twisted.events import ConnectionEvent
from binance_twisted.legacy_accounts import KINDS, AccountSocket, Credentials, rest_root
from binance_twisted.legacy_paths import SocketPlan
from binance_twisted.legacy_sockets import LegacySocket
from binance_twisted.logbridge import forward_to_stdlib
from binance_twisted.reactor_thread import (
    ReactorStoppedError,
    call_in_reactor,
    ensure_running,
    reactor_stopped,
)
from binance_twisted.rest import ListenKeys, RestClient
from binance_twisted.tls import TrustRoot
from binance_twisted.userdata import ListenKeyStream
from binance_twisted.wsapi import WebSocketAPI
from binance_twisted.wsapi_methods import WsApiMethod
from binance_twisted.wsapi_sync import SyncWsApiMethods

__all__ = ["BinanceSocketManager"]

log = Logger(namespace="binance_twisted.manager")

F = TypeVar("F", bound=Callable[..., Any])

_LEGACY_STREAM_URL = "wss://stream.binance.com:9443/"
_LEGACY_FSTREAM_URL = "wss://fstream.binance.com/"
_LEGACY_WS_API_URL = "wss://ws-api.binance.com:443/ws-api/v3"
#: USD-M futures servers ping every 3 minutes, Spot every 20 s: a quiet futures session is
#: only dead after more than two missed pings.
_FUTURES_STALL_TIMEOUT = 400.0
_CLOSE_TIMEOUT = 5.0
#: a blocking ws_* call waits at most this long (the request's own timeout is 10 s)
_SYNC_TIMEOUT = 15.0
_OPTIONS = (
    "api_key",
    "api_secret",
    "tld",
    "testnet",
    "endpoints",
    "max_retries",
    "stall_timeout",
    "rotate_after",
    "trust_root",
    "on_event",
    "reactor",
    "user_data",
)
#: how start_user_socket gets Spot user data: auto (None), or forced
_USER_DATA = (None, "ws_api", "listen_key")
#: venues that have no Spot listenKeys (binance.com removed them on 2026-02-20)
_NO_SPOT_LISTEN_KEYS = ("binance.com", "testnet", "demo", "market-data-only")
#: a depth cache's snapshot REST field per market
_DEPTH_REST = {"spot": "rest_url", "futures": "futures_rest_url"}
_noted: set[str] = set()
_noted_lock = threading.Lock()


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


@attrs.frozen
class _Options:
    api_key: str | None = None
    api_secret: str | None = attrs.field(default=None, repr=False)
    tld: str | None = None
    testnet: bool | None = None
    endpoints: Endpoints | None = None
    max_retries: int | None = 5
    stall_timeout: float | None = None
    rotate_after: float | None = 23 * 3600.0
    trust_root: TrustRoot = None
    on_event: Any = None
    reactor: Any = None
    user_data: str | None = None

    @classmethod
    def parse(cls, options: dict[str, Any]) -> _Options:
        unknown = sorted(set(options) - set(_OPTIONS))
        if unknown:
            raise TypeError(
                f"unknown option(s) {', '.join(unknown)}; allowed: {', '.join(_OPTIONS)}"
            )
        parsed = cls(**options)
        on_event = parsed.on_event
        if on_event not in (None, False, True) and not callable(on_event):
            raise TypeError("on_event must be None, True (events reach the callback) or callable")
        if parsed.user_data not in _USER_DATA:
            raise ValueError(
                "user_data must be None (WebSocket API, or listenKey on Binance.US), 'ws_api' "
                f"or 'listen_key', got {parsed.user_data!r}"
            )
        return parsed


class StreamSocket(LegacySocket):
    """A legacy market-stream socket: subscriptions on the manager's shared StreamClients."""

    def __init__(
        self, manager: BinanceSocketManager, key: str, plan: SocketPlan, callback: Callable
    ) -> None:
        super().__init__(manager, key, callback)
        self.plan = plan
        self.subscriptions: list[Subscription] = []

    def open(self) -> None:
        """On the reactor thread: subscribe every route's streams."""
        if self.stopped:
            return
        callback = self.callback
        deliver = callback if self.plan.envelope else (lambda stream, data: callback(data))
        for client, names in self.manager._clients_for(self.plan):
            d = client.subscribe(names, deliver, self.connection_event, envelope=self.plan.envelope)
            d.addCallbacks(self.subscribed, self.failed)

    def subscribed(self, subscription: Subscription) -> None:
        if self.stopped:
            subscription.unsubscribe()
        else:
            self.subscriptions.append(subscription)

    def close(self) -> defer.Deferred:
        """On the reactor thread: unsubscribe everything (idempotent)."""
        self.stopped = True
        subscriptions, self.subscriptions = self.subscriptions, []
        d = defer.gatherResults([s.unsubscribe() for s in subscriptions], consumeErrors=True)
        d.addErrback(lambda _: None)
        return d


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
    VSTREAM_URL = "wss://vstream.binance.com/"
    VSTREAM_TESTNET_URL = "wss://testnetws.binanceops.com/"

    WEBSOCKET_DEPTH_5 = "5"
    WEBSOCKET_DEPTH_10 = "10"
    WEBSOCKET_DEPTH_20 = "20"

    DEFAULT_USER_TIMEOUT = 30 * 60

    def __init__(
        self, client: Any = None, user_timeout: float = DEFAULT_USER_TIMEOUT, **options: Any
    ) -> None:
        threading.Thread.__init__(self, name="BinanceSocketManager")
        self._options = _Options.parse(options)
        if self._options.reactor is None:
            from twisted.internet import reactor
        else:
            reactor = self._options.reactor
        if reactor_stopped(reactor):
            raise ReactorStoppedError()
        forward_to_stdlib()
        self._reactor: Any = reactor
        self._client = client
        self._user_timeout = user_timeout
        self._endpoints = self._resolve_endpoints(client)
        self._conns: dict[str, LegacySocket] = {}
        self._registry_lock = threading.RLock()
        self._stream_clients: dict[str, StreamClient] = {}
        self._api: WebSocketAPI | None = None
        self._public_apis: dict[str, WebSocketAPI] = {}
        self._rest_clients: dict[str, RestClient] = {}
        self._snapshot_schedulers: dict[str, SnapshotScheduler] = {}
        self._credentials: Credentials | None = None
        self._closed_event = threading.Event()
        self._ever_started = False
        self._shutdown_watched = False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {'running' if self.is_alive() else 'idle'} " + (
            f"sockets={len(self._conns)}>"
        )

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
        return self._start(legacy_paths.depth(symbol, depth, interval), callback)

    @_callback_may_come_first
    def start_kline_socket(
        self, symbol: str, callback: Callable, interval: str = "1m"
    ) -> str | bool:
        """``<sym>@kline_<interval>``; the interval must be one Binance serves."""
        return self._start(legacy_paths.kline(symbol, interval), callback)

    def start_miniticker_socket(self, callback: Callable, update_time: int = 1000) -> str | bool:
        """``!miniTicker@arr`` for every symbol; the key keeps the legacy ``@<n>ms`` suffix."""
        return self._start(legacy_paths.miniticker(update_time), callback)

    @_callback_may_come_first
    def start_trade_socket(self, symbol: str, callback: Callable) -> str | bool:
        """``<sym>@trade``."""
        return self._start(legacy_paths.trade(symbol), callback)

    @_callback_may_come_first
    def start_aggtrade_socket(self, symbol: str, callback: Callable) -> str | bool:
        """``<sym>@aggTrade``."""
        return self._start(legacy_paths.aggtrade(symbol), callback)

    @_callback_may_come_first
    def start_symbol_ticker_socket(self, symbol: str, callback: Callable) -> str | bool:
        """``<sym>@ticker``."""
        return self._start(legacy_paths.symbol_ticker(symbol), callback)

    def start_ticker_socket(self, callback: Callable) -> str | bool:
        """``!ticker@arr`` (retired 2026-03-26): served by ``!ticker_1d@arr``, logged once."""
        return self._start(legacy_paths.ticker(), callback)

    @_callback_may_come_first
    def start_symbol_book_ticker_socket(self, symbol: str, callback: Callable) -> str | bool:
        """``<sym>@bookTicker``."""
        return self._start(legacy_paths.symbol_book_ticker(symbol), callback)

    def start_book_ticker_socket(self, callback: Callable) -> str | bool:
        """Spot ``!bookTicker`` was removed in 2022: raises, naming the per-symbol stream."""
        return self._start(legacy_paths.book_ticker(), callback)

    @_callback_may_come_first
    def start_multiplex_socket(self, streams: Iterable[str], callback: Callable) -> str | bool:
        """Several streams on one key ``streams=a/b``; messages arrive as ``{stream, data}``."""
        return self._start(legacy_paths.multiplex(streams), callback)

    # -- USD-M futures sockets (routed /public and /market URLs since 2026) -----------------

    @_callback_may_come_first
    def start_aggtrade_futures_socket(self, symbol: str, callback: Callable) -> str | bool:
        """Futures ``<sym>@aggTrade`` (wrapped messages, as before)."""
        return self._start(legacy_paths.futures_aggtrade(symbol), callback)

    @_callback_may_come_first
    def start_symbol_mark_price_socket(
        self, symbol: str, callback: Callable, fast: bool = True
    ) -> str | bool:
        """Futures ``<sym>@markPrice@1s`` (``fast``) or ``<sym>@markPrice``."""
        return self._start(legacy_paths.symbol_mark_price(symbol, fast), callback)

    def start_all_mark_price_socket(self, callback: Callable, fast: bool = True) -> str | bool:
        """Futures ``!markPrice@arr@1s`` (``fast``) or ``!markPrice@arr``."""
        return self._start(legacy_paths.all_mark_price(fast), callback)

    @_callback_may_come_first
    def start_symbol_ticker_futures_socket(self, symbol: str, callback: Callable) -> str | bool:
        """Futures ``<sym>@bookTicker`` (the 0.7.x name says ticker; it was always bookTicker)."""
        return self._start(legacy_paths.symbol_ticker_futures(symbol), callback)

    @_callback_may_come_first
    def start_individual_symbol_ticker_futures_socket(
        self, symbol: str, callback: Callable
    ) -> str | bool:
        """Futures ``<sym>@ticker``."""
        return self._start(legacy_paths.individual_symbol_ticker_futures(symbol), callback)

    def start_all_ticker_futures_socket(self, callback: Callable) -> str | bool:
        """Futures ``!bookTicker`` for every symbol."""
        return self._start(legacy_paths.all_ticker_futures(), callback)

    # -- account streams (Binance removed Spot and margin listenKeys on 2026-02-20) -----------

    def start_user_socket(self, callback: Callable) -> str:
        """Spot user data, now over the WebSocket API; returns ``'user'`` (not a credential).

        On Binance.US (or with ``user_data='listen_key'``) over a kept-alive listenKey.
        """
        return self._start_account(self._spot_user_data_kind(), callback)

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
        return self._start(legacy_paths.options(f"{symbol.lower()}@ticker"), callback)

    @_callback_may_come_first
    def start_options_recent_trades_socket(self, symbol: str, callback: Callable) -> str | bool:
        """Vanilla options are gone (vstream.binance.com): raises RetiredStreamError."""
        return self._start(legacy_paths.options(f"{symbol.lower()}@trade"), callback)

    @_callback_may_come_first
    def start_options_kline_socket(
        self, symbol: str, callback: Callable, interval: str = "1m"
    ) -> str | bool:
        """Vanilla options are gone (vstream.binance.com): raises RetiredStreamError."""
        return self._start(legacy_paths.options(f"{symbol.lower()}@kline_{interval}"), callback)

    @_callback_may_come_first
    def start_options_depth_socket(
        self, symbol: str, callback: Callable, depth: str = "10"
    ) -> str | bool:
        """Vanilla options are gone (vstream.binance.com): raises RetiredStreamError."""
        return self._start(legacy_paths.options(f"{symbol.lower()}@depth{depth}"), callback)

    @_callback_may_come_first
    def start_options_multiplex_socket(
        self, streams: Iterable[str], callback: Callable
    ) -> str | bool:
        """Vanilla options are gone (vstream.binance.com): raises RetiredStreamError."""
        return self._start(legacy_paths.options("/".join(streams)), callback)

    # -- stopping --------------------------------------------------------------------------

    def stop_socket(self, conn_key: str) -> None:
        """Stop one socket by the key ``start_*`` returned; unknown keys are ignored."""
        with self._registry_lock:
            socket = self._conns.pop(conn_key, None)
        if socket is not None:
            self._in_reactor(socket.close)

    def close(self) -> None:
        """Stop every socket and end the manager thread, so the process can exit.

        The manager stays usable: ``start_*`` afterwards opens new sockets, and ``start()``
        may be called again. The reactor is left running for other managers.
        """
        with self._registry_lock:
            sockets = list(self._conns.values())
            self._conns.clear()
            clients: list[Any] = list(self._stream_clients.values())
            self._stream_clients.clear()
            if self._api is not None:
                clients.append(self._api)
                self._api = None
            clients.extend(self._public_apis.values())
            self._public_apis.clear()
            self._rest_clients.clear()
            schedulers = list(self._snapshot_schedulers.values())
            self._snapshot_schedulers.clear()
            for socket in sockets:
                socket.stopped = True  # an open() still queued for the reactor does nothing

        def shut_down() -> defer.Deferred:
            for scheduler in schedulers:
                scheduler.stop()
            closing = [s.close() for s in sockets] + [c.close() for c in clients]
            return defer.gatherResults(closing, consumeErrors=True)

        if self._reactor.running and not reactor_stopped(self._reactor):
            try:
                call_in_reactor(self._reactor, shut_down, timeout=_CLOSE_TIMEOUT)
            except Exception:
                log.failure("closing the sockets failed; the manager stops anyway")
        self._closed_event.set()

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
        with self._registry_lock:
            if self.is_alive():
                return
            if self._ever_started:
                threading.Thread.__init__(self, name=self.name)
            self._ever_started = True
            self._closed_event.clear()
        self._in_reactor(self._watch_shutdown)
        threading.Thread.start(self)

    def run(self) -> None:
        """The manager thread only waits: callbacks run on the reactor thread."""
        self._closed_event.wait()

    # -- internals -------------------------------------------------------------------------

    def _start(self, plan: SocketPlan, callback: Callable) -> str | bool:
        if not callable(callback):
            raise TypeError(f"callback must be callable, got {callback!r}")
        if reactor_stopped(self._reactor):
            raise ReactorStoppedError()
        self._bases(plan)  # fails here, before any I/O, if the venue has no such endpoint
        with self._registry_lock:
            key = plan.key
            existing = self._conns.get(key)
            if existing is not None:
                if not isinstance(existing, StreamSocket) or existing.plan.market == plan.market:
                    return False
                key = f"{plan.market}:{key}"  # 0.7.11 returned False here (keys collided)
                if key in self._conns:
                    return False
            socket = StreamSocket(self, key, plan, callback)
            self._conns[key] = socket
        if plan.note is not None:
            _note_once(plan.note)
        self._in_reactor(socket.open)
        return key

    def _bases(self, plan: SocketPlan) -> list[tuple[str, list[str]]]:
        """``[(stream base URL, names)]``: Spot in one, futures split by route."""
        if plan.market == "spot":
            if self.STREAM_URL != _LEGACY_STREAM_URL:
                return [(self.STREAM_URL.rstrip("/"), list(plan.streams))]
            return [(self._endpoints.stream_url, list(plan.streams))]
        if self.FSTREAM_URL != _LEGACY_FSTREAM_URL:
            futures_base: str | None = self.FSTREAM_URL.rstrip("/")
        else:
            futures_base = self._endpoints.futures_stream_url
        if futures_base is None:
            raise ValueError(
                f"{self._endpoints.name} has no USD-M futures streams; "
                "use tld='com' or set FSTREAM_URL"
            )
        routes: dict[str, list[str]] = {}
        for name in plan.streams:
            routes.setdefault(legacy_paths.futures_route(name), []).append(name)
        return [(f"{futures_base}/{route}", names) for route, names in routes.items()]

    def _clients_for(self, plan: SocketPlan) -> list[tuple[StreamClient, list[str]]]:
        """On the reactor thread: one shared StreamClient per base URL."""
        futures = plan.market == "futures"
        pairs = []
        for base, names in self._bases(plan):
            client = self._stream_clients.get(base)
            if client is None:
                client = StreamClient(
                    self._reactor,
                    self._endpoints,
                    stream_url=base,
                    policy=self._policy(futures),
                    trust_root=self._options.trust_root,
                    validate=None if futures else legacy_paths.streams.validate,
                    name="futures" if futures else "spot",
                )
                self._stream_clients[base] = client
            pairs.append((client, names))
        return pairs

    def _policy(self, futures: bool) -> ConnectionPolicy:
        options = self._options
        stall = options.stall_timeout
        if stall is None:
            stall = _FUTURES_STALL_TIMEOUT if futures else 60.0
        return ConnectionPolicy(
            max_retries=options.max_retries, stall_timeout=stall, rotate_after=options.rotate_after
        )

    def _resolve_endpoints(self, client: Any) -> Endpoints:
        options = self._options
        if options.endpoints is not None:
            return options.endpoints
        testnet = options.testnet
        if testnet is None:
            testnet = bool(getattr(client, "testnet", False))
        if testnet:
            return Endpoints.testnet()
        return Endpoints.for_tld(options.tld or getattr(client, "tld", None) or "com")

    def _start_account(self, kind: str, callback: Callable, symbol: str | None = None) -> str:
        """Register an account socket; a second start of the same one replaces it (as before)."""
        if not callable(callback):
            raise TypeError(f"callback must be callable, got {callback!r}")
        if reactor_stopped(self._reactor):
            raise ReactorStoppedError()
        credentials = Credentials.find(self._options, self._client)
        if symbol is not None:
            symbol = legacy_paths.streams.check_symbol(symbol).upper()
        key = KINDS[kind].format(symbol=symbol)
        socket = AccountSocket(key, kind, callback, symbol)
        with self._registry_lock:
            previous = self._conns.pop(key, None)
            self._conns[key] = socket
            self._credentials = credentials
        if previous is not None:
            self._in_reactor(previous.close)
        self._in_reactor(lambda: socket.open(self))
        return key

    def _account_api(self) -> WebSocketAPI:
        """On the reactor thread: the one WebSocket API connection for account sockets."""
        if self._api is None:
            assert self._credentials is not None
            self._api = WebSocketAPI(
                self._reactor,
                url=self._ws_api_url(),
                api_key=self._credentials.api_key,
                private_key_or_secret=self._credentials.signer,
                policy=self._policy(False),
                trust_root=self._options.trust_root,
                on_event=self._account_event,
            )
        return self._api

    def _rest_base(self, field: str) -> str:
        """The REST base for an Endpoints field; ValueError if the venue has none.

        A python-binance client's ``API_URL``/``FUTURES_URL`` (a proxy, or Binance.US) win,
        except on the testnet (python-binance keeps the mainnet URLs there and switches at
        call time) or when ``endpoints=`` was given.
        """
        base = getattr(self._endpoints, field)
        attribute = {"rest_url": "API_URL", "futures_rest_url": "FUTURES_URL"}.get(field, "")
        if self._options.endpoints is None and self._endpoints.name != "testnet":
            base = rest_root(getattr(self._client, attribute, None)) or base
        if base is None:
            raise ValueError(f"{self._endpoints.name} has no REST endpoint {field}")
        return str(base)

    def _rest(self, field: str, signed: bool = True) -> RestClient:
        """On the reactor thread: a REST client for an Endpoints field's base (keyed if signed)."""
        base = self._rest_base(field)
        cache_key = base if signed else f"public {base}"
        client = self._rest_clients.get(cache_key)
        if client is None:
            credentials = self._credentials if signed else None
            assert credentials is not None or not signed
            client = RestClient(
                self._reactor,
                base,
                api_key=credentials.api_key if credentials is not None else None,
                signer=credentials.signer if credentials is not None else None,
                trust_root=self._options.trust_root,
            )
            self._rest_clients[cache_key] = client
        return client

    def _start_depth_cache(
        self, market: str, stream: str, key: str, make: Callable[[str], Any]
    ) -> Any:
        """Register a depth cache of ``stream`` under ``key`` (``key#2``… when taken), open it.

        Raises here, before any I/O, if the venue has no streams or REST for ``market``.
        """
        if reactor_stopped(self._reactor):
            raise ReactorStoppedError()
        self._bases(SocketPlan(key, market, (stream,)))
        self._rest_base(_DEPTH_REST[market])
        with self._registry_lock:
            unique, n = key, 1
            while unique in self._conns:
                n += 1
                unique = f"{key}#{n}"
            socket = make(unique)
            self._conns[unique] = socket
        self._in_reactor(socket.open)
        return socket

    def _depth_sources(
        self, market: str, stream: str
    ) -> tuple[StreamClient, RestClient, SnapshotScheduler]:
        """On the reactor thread: a depth cache's stream client, snapshot REST and budget.

        Books of one market share them all, so their snapshots share one weight budget.
        """
        [(client, _)] = self._clients_for(SocketPlan(stream, market, (stream,)))
        rest = self._rest(_DEPTH_REST[market], signed=False)
        scheduler = self._snapshot_schedulers.get(market)
        if scheduler is None:
            scheduler = SnapshotScheduler(self._reactor)
            self._snapshot_schedulers[market] = scheduler
        return client, rest, scheduler

    def _spot_user_data_kind(self) -> str:
        """``'user'`` (WebSocket API) or ``'us_spot'`` (listenKey), checked before any I/O."""
        choice = self._options.user_data
        venue = self._endpoints.name
        if choice is None:
            return "us_spot" if venue == "binance.us" else "user"
        if choice == "listen_key" and venue in _NO_SPOT_LISTEN_KEYS:
            raise ValueError(
                f"user_data='listen_key' is not available on {venue}: Spot listenKeys were "
                "removed on 2026-02-20; leave user_data unset to use the WebSocket API"
            )
        return "us_spot" if choice == "listen_key" else "user"

    def _listen_key_stream(self, kind: str, socket: AccountSocket) -> ListenKeyStream:
        """On the reactor thread: a listenKey user-data stream (futures, Binance.US Spot)."""
        endpoints = self._endpoints
        if kind == "futures" and self.FSTREAM_URL != _LEGACY_FSTREAM_URL:
            endpoints = endpoints.replace(futures_stream_url=self.FSTREAM_URL.rstrip("/"))
        field = {"futures": "futures_rest_url", "us_spot": "rest_url"}.get(
            kind, "coin_futures_rest_url"
        )

        return ListenKeyStream(
            self._reactor,
            endpoints,
            ListenKeys(self._rest(field), kind),
            socket.deliver,
            on_error=socket.report,
            keepalive_every=self._user_timeout,
            policy=self._policy(True),
            trust_root=self._options.trust_root,
            on_connection_event=socket.connection_event,
        )

    def _account_event(self, event: ConnectionEvent) -> None:
        """Events of the WebSocket API connection reach every account socket on it."""
        for socket in list(self._conns.values()):
            if isinstance(socket, AccountSocket) and socket.kind in ("user", "margin", "isolated"):
                socket.connection_event(event)

    def _ws_call(self, row: WsApiMethod, params: dict[str, Any]) -> Any:
        """A blocking ``ws_*`` call: run its Deferred on the reactor, wait in this thread."""
        if isInIOThread() and self._reactor.running:
            raise RuntimeError(
                f"{row.name}() blocks until Binance answers, so it cannot run on the reactor "
                f"thread (in a callback); use WebSocketAPI.{row.name}(), which returns a Deferred"
            )
        credentials = self._credentials
        if credentials is None:
            try:
                credentials = Credentials.find(self._options, self._client)  # loads the key once
            except MissingCredentialsError:
                if row.signed:
                    raise
            with self._registry_lock:
                if credentials is not None and self._credentials is None:
                    self._credentials = credentials
        ensure_running(self._reactor)

        def call() -> Any:
            return getattr(self._ws_api(row.market, credentials is not None), row.name)(**params)

        return call_in_reactor(self._reactor, call, timeout=_SYNC_TIMEOUT)

    def _ws_api(self, market: str, keyed: bool) -> WebSocketAPI:
        """On the reactor thread: Spot calls share the account connection when keyed."""
        if market == "spot" and keyed:
            return self._account_api()
        name = f"{market}{'-keyed' if keyed else ''}"
        api = self._public_apis.get(name)
        if api is None:
            credentials = self._credentials if keyed else None
            options: dict[str, Any] = {
                "policy": self._policy(market == "futures"),
                "trust_root": self._options.trust_root,
            }
            if credentials is not None:
                options.update(
                    api_key=credentials.api_key, private_key_or_secret=credentials.signer
                )
            if market == "futures":
                api = WebSocketAPI.futures(self._reactor, self._endpoints, **options)
            else:
                api = WebSocketAPI(self._reactor, url=self._ws_api_url(), name="ws-api", **options)
            self._public_apis[name] = api
        return api

    def _ws_api_url(self) -> str:
        default = self._endpoints.ws_api_url
        if self.WS_API_URL != _LEGACY_WS_API_URL or not default:
            return self.WS_API_URL
        return default

    def _forget(self, socket: LegacySocket) -> None:
        """Release a dead socket's key (0.7.11 kept it, so a restart returned False)."""
        with self._registry_lock:
            if self._conns.get(socket.key) is socket:
                del self._conns[socket.key]

    def _discard(self, socket: LegacySocket) -> None:
        """On the reactor thread: stop ``socket`` and free its key if it still holds it.

        Unlike ``stop_socket(key)``, never touches a newer socket that reuses the key.
        """
        self._forget(socket)
        socket.close()

    def _stop_matching(self, prefix: str, name: str) -> None:
        warnings.warn(
            f"{name}() is deprecated since python-binance 0.3.4; use stop_socket(conn_key)",
            DeprecationWarning,
            stacklevel=3,
        )
        with self._registry_lock:
            keys = [k for k in self._conns if k.split(":", 1)[-1].startswith(prefix)]
        for key in keys:
            self.stop_socket(key)

    def _in_reactor(self, function: Callable[[], Any]) -> None:
        """Run on the reactor thread without waiting (queued until the reactor runs)."""
        if isInIOThread() and self._reactor.running:
            function()
        else:
            self._reactor.callFromThread(function)

    def _watch_shutdown(self) -> None:
        if not self._shutdown_watched:
            self._shutdown_watched = True
            self._reactor.addSystemEventTrigger("before", "shutdown", self._closed_event.set)


def _note_once(note: str) -> None:
    with _noted_lock:
        if note in _noted:
            return
        _noted.add(note)
    log.warn("{note}", note=note)
