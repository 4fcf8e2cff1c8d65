"""python-binance 1.x's asyncio ``BinanceSocketManager``, on the same core as the rest.

1.x code keeps working after one import change::

    from binance_twisted.aio import BinanceSocketManager   # was: from binance import ...

    bm = BinanceSocketManager(client)              # python-binance's AsyncClient, or None
    async with bm.trade_socket("BNBBTC") as ts:
        msg = await ts.recv()

under ``asyncio.run(main())`` (the manager starts Twisted's asyncio reactor on the running
loop) or in Twisted coroutines (``ensureDeferred``). Socket methods check their arguments
at once and return an :class:`~binance_twisted.aio.sockets.AsyncSocket`; one socket per
``f"{socket_type}_{path}"`` key, as in 1.x. Streams with the same host share one
connection; each socket has its own bounded queue.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from twisted.internet import defer

from binance_twisted._core.policy import Overflow
from binance_twisted.aio.loop import running_reactor, wait
from binance_twisted.aio.queue import check_queue
from binance_twisted.aio.sockets import AsyncSocket, SaysDisconnects
from binance_twisted.events import ConnectionEvent
from binance_twisted.legacy import plans
from binance_twisted.legacy.accounts import ACCOUNT_API_KINDS, AccountSocket
from binance_twisted.legacy.logbridge import forward_to_stdlib
from binance_twisted.legacy.plans import SocketPlan
from binance_twisted.legacy.sockets import LegacySocket, SocketRegistry, StreamSocket, note_once
from binance_twisted.legacy.venue import Options, Venue, legacy_urls

__all__ = ["KEEPALIVE_TIMEOUT", "BinanceSocketManager"]

#: python-binance 1.x's default ``user_timeout`` (listenKey keepalive), seconds
KEEPALIVE_TIMEOUT = 5 * 60
_LEGACY_STREAM_URL, _LEGACY_FSTREAM_URL, _LEGACY_WS_API_URL = legacy_urls()
#: 1.x's URL templates (``{}`` is the client's tld); a value changed from these redirects
_TEMPLATES = {
    "STREAM_URL": "wss://stream.binance.{}:9443/",
    "FSTREAM_URL": "wss://fstream.binance.{}/",
    "DSTREAM_URL": "wss://dstream.binance.{}/",
    "WS_API_URL": _LEGACY_WS_API_URL,
}
_SPOT, _FUTURES, _ACCOUNT = "Spot", "USD_M_Futures", "Account"


class _StreamCarrier(SaysDisconnects, StreamSocket):
    """A market-stream socket that also says when its connection drops."""


class _AccountCarrier(SaysDisconnects, AccountSocket):
    """An account socket that also says when its connection drops."""


class _Redirects:
    """The venue's view of the manager's 1.x URL attributes: a value changed from 1.x's
    default redirects new sockets there (the venue compares with 0.7.11's defaults)."""

    def __init__(self, manager: BinanceSocketManager, tld: str) -> None:
        self._manager = manager
        self._tld = tld

    def _changed(self, name: str) -> str | None:
        value = str(getattr(self._manager, name))
        return value if value != _TEMPLATES[name].format(self._tld) else None

    @property
    def STREAM_URL(self) -> str:
        return self._changed("STREAM_URL") or _LEGACY_STREAM_URL

    @property
    def FSTREAM_URL(self) -> str:
        return self._changed("FSTREAM_URL") or _LEGACY_FSTREAM_URL

    @property
    def DSTREAM_URL(self) -> str | None:
        return self._changed("DSTREAM_URL")

    @property
    def WS_API_URL(self) -> str:
        return self._changed("WS_API_URL") or _LEGACY_WS_API_URL


class BinanceSocketManager:
    """Drop-in for ``binance.BinanceSocketManager`` (python-binance 1.x, asyncio).

    ``client`` may be python-binance's ``AsyncClient`` (its keys, ``tld`` and ``testnet``
    are used), any object with ``API_KEY``/``API_SECRET``, or ``None``. ``max_queue_size``
    bounds each socket's queue; unlike 1.x a full queue does not end the socket: it drops
    the oldest messages (``overflow="drop_newest"``: the newest), says so once in the
    stream and counts them (``socket.dropped``). Other keyword options are the 0.x
    manager's (``endpoints``, ``max_retries``, ``stall_timeout``, ``trust_root``, …).
    Changing ``STREAM_URL``, ``FSTREAM_URL``, ``DSTREAM_URL`` or ``WS_API_URL`` on the
    manager redirects sockets made afterwards.
    """

    STREAM_URL = _TEMPLATES["STREAM_URL"]
    FSTREAM_URL = _TEMPLATES["FSTREAM_URL"]
    DSTREAM_URL = _TEMPLATES["DSTREAM_URL"]
    WS_API_URL = _TEMPLATES["WS_API_URL"]

    WEBSOCKET_DEPTH_5 = "5"
    WEBSOCKET_DEPTH_10 = "10"
    WEBSOCKET_DEPTH_20 = "20"

    def __init__(
        self,
        client: Any = None,
        user_timeout: float = KEEPALIVE_TIMEOUT,
        max_queue_size: int = 100,
        verbose: bool = False,
        *,
        overflow: Overflow = "drop_oldest",
        **options: Any,
    ) -> None:
        check_queue(max_queue_size, overflow)
        parsed = Options.parse(options)
        reactor = parsed.reactor if parsed.reactor is not None else running_reactor()
        tld = parsed.tld or getattr(client, "tld", None) or "com"
        for name, template in _TEMPLATES.items():
            if getattr(self, name) == template:  # not changed on a subclass
                setattr(self, name, template.format(tld))
        self.testnet = bool(parsed.testnet or getattr(client, "testnet", False))
        self.venue = Venue(
            reactor, parsed, client, _Redirects(self, tld), user_timeout, self._account_event
        )
        self._max_queue_size = max_queue_size
        self._overflow: Overflow = overflow
        #: the open sockets by 1.x's key ``f"{socket_type}_{path}"``
        self._conns: dict[str, AsyncSocket] = {}
        forward_to_stdlib()
        if verbose:
            logging.getLogger("binance_twisted").setLevel(logging.DEBUG)

    def __repr__(self) -> str:
        return f"<aio.BinanceSocketManager sockets={len(self._conns)}>"

    # -- Spot market sockets -----------------------------------------------------------------

    def depth_socket(
        self, symbol: str, depth: str | None = None, interval: int | None = None
    ) -> AsyncSocket:
        """``<sym>@depth`` (diff) or ``<sym>@depth<5|10|20>``, optionally ``@100ms``."""
        return self._market(_SPOT, plans.depth(symbol, depth, interval))

    def kline_socket(self, symbol: str, interval: str = "1m") -> AsyncSocket:
        return self._market(_SPOT, plans.kline(symbol, interval))

    def miniticker_socket(self, update_time: int = 1000) -> AsyncSocket:
        """``!miniTicker@arr`` (Binance sends it once per second, whatever ``update_time``)."""
        return self._market(_SPOT, plans.miniticker(update_time))

    def trade_socket(self, symbol: str) -> AsyncSocket:
        return self._market(_SPOT, plans.trade(symbol))

    def aggtrade_socket(self, symbol: str) -> AsyncSocket:
        return self._market(_SPOT, plans.aggtrade(symbol))

    def symbol_miniticker_socket(self, symbol: str) -> AsyncSocket:
        return self._market(_SPOT, plans.symbol_miniticker(symbol))

    def symbol_ticker_socket(self, symbol: str) -> AsyncSocket:
        return self._market(_SPOT, plans.symbol_ticker(symbol))

    def ticker_socket(self) -> AsyncSocket:
        """``!ticker@arr`` was retired on 2026-03-26: served by ``!ticker_1d@arr``."""
        return self._market(_SPOT, plans.ticker())

    def symbol_book_ticker_socket(self, symbol: str) -> AsyncSocket:
        return self._market(_SPOT, plans.symbol_book_ticker(symbol))

    def book_ticker_socket(self) -> AsyncSocket:
        """Spot ``!bookTicker`` is gone: raises, naming the per-symbol stream."""
        return self._market(_SPOT, plans.book_ticker())

    def multiplex_socket(self, streams: Iterable[str]) -> AsyncSocket:
        """Several streams; messages are ``{"stream", "data"}``."""
        return self._market(_SPOT, plans.multiplex(streams))

    # -- futures market sockets (messages are ``{"stream", "data"}``, as in 1.x) -----------

    def kline_futures_socket(
        self,
        symbol: str,
        interval: str = "1m",
        futures_type: Any = None,
        contract_type: Any = "perpetual",
    ) -> AsyncSocket:
        """``<pair>_<contract>@continuousKline_<interval>`` (unwrapped messages, as 1.x)."""
        return self._futures(plans.futures_kline(symbol, interval, contract_type), futures_type)

    def aggtrade_futures_socket(self, symbol: str, futures_type: Any = None) -> AsyncSocket:
        return self._futures(plans.futures_aggtrade(symbol), futures_type)

    def futures_ticker_socket(self) -> AsyncSocket:
        return self._futures(plans.futures_ticker(), None)

    def futures_coin_ticker_socket(self) -> AsyncSocket:
        return self._futures(plans.futures_ticker(), "COIN_M")

    def index_price_socket(self, symbol: str, fast: bool = True) -> AsyncSocket:
        return self._futures(plans.index_price(symbol, fast), "COIN_M")

    def symbol_mark_price_socket(
        self, symbol: str, fast: bool = True, futures_type: Any = None
    ) -> AsyncSocket:
        return self._futures(plans.symbol_mark_price(symbol, fast), futures_type)

    def all_mark_price_socket(self, fast: bool = True, futures_type: Any = None) -> AsyncSocket:
        return self._futures(plans.all_mark_price(fast), futures_type)

    def symbol_ticker_futures_socket(self, symbol: str, futures_type: Any = None) -> AsyncSocket:
        """Futures ``<sym>@bookTicker`` (1.x's name says ticker)."""
        return self._futures(plans.symbol_ticker_futures(symbol), futures_type)

    def individual_symbol_ticker_futures_socket(
        self, symbol: str, futures_type: Any = None
    ) -> AsyncSocket:
        return self._futures(plans.individual_symbol_ticker_futures(symbol), futures_type)

    def all_ticker_futures_socket(
        self, channel: str = "!bookTicker", futures_type: Any = None
    ) -> AsyncSocket:
        return self._futures(plans.futures_channel(channel), futures_type)

    def futures_depth_socket(
        self, symbol: str, depth: str = "10", futures_type: Any = None
    ) -> AsyncSocket:
        return self._futures(plans.futures_depth(symbol, depth), futures_type)

    def futures_rpi_depth_socket(self, symbol: str, futures_type: Any = None) -> AsyncSocket:
        return self._futures(plans.futures_rpi_depth(symbol), futures_type)

    def futures_multiplex_socket(
        self, streams: Iterable[str], futures_type: Any = None, category: str = "market"
    ) -> AsyncSocket:
        """Several futures streams (each routed by its kind; ``category`` is not needed)."""
        return self._futures(plans.futures_multiplex(streams), futures_type)

    # -- account sockets ---------------------------------------------------------------------

    def user_socket(self) -> AsyncSocket:
        """Spot user data over the WebSocket API (a listenKey on Binance.US)."""
        return self._account(self.venue.spot_user_data_kind(), "user")

    def margin_socket(self) -> AsyncSocket:
        """Cross-margin user data over a listenToken."""
        return self._account("margin", "margin")

    def isolated_margin_socket(self, symbol: str) -> AsyncSocket:
        """Isolated-margin user data of ``symbol`` over a listenToken."""
        checked = plans.streams.check_symbol(symbol).upper()
        return self._account("isolated", checked, checked)

    def futures_user_socket(self) -> AsyncSocket:
        """USD-M futures user data over a kept-alive listenKey."""
        return self._account("futures", "futures")

    futures_socket = futures_user_socket

    def coin_futures_user_socket(self) -> AsyncSocket:
        """COIN-M futures user data over a kept-alive listenKey."""
        return self._account("coin_futures", "coin_futures")

    coin_futures_socket = coin_futures_user_socket

    # -- gone for good -----------------------------------------------------------------------

    def options_multiplex_socket(self, streams: Iterable[str]) -> AsyncSocket:
        """Vanilla options streams are not served: raises RetiredStreamError."""
        return self._market(_SPOT, plans.options("/".join(streams)))

    def stats(self) -> dict[str, dict[str, Any]]:
        """The counters of the shared connections, by name (``StreamClient.stats()``'s)."""
        return self.venue.stats()

    # -- closing -----------------------------------------------------------------------------

    async def close(self) -> None:
        """Close every socket and the connections they shared (not in 1.x, whose sockets
        close one by one; leaving an ``async with`` does that here too)."""
        sockets = list(self._conns.values())
        for socket in sockets:
            await socket.close()
        await wait(self.venue.release())

    # -- internals ---------------------------------------------------------------------------

    def _market(self, socket_type: str, plan: SocketPlan) -> AsyncSocket:
        self.venue.stream_host(plan.market)  # no host for it: ValueError now, before any I/O
        if plan.note is not None:
            note_once(plan.note)

        def carrier(registry: SocketRegistry, callback: Any) -> LegacySocket:
            return _StreamCarrier(self.venue, registry, plan.key, plan, callback)

        return self._socket(f"{socket_type}_{plan.key}", carrier)

    def _futures(self, plan: SocketPlan, futures_type: Any) -> AsyncSocket:
        return self._market(_FUTURES, plans.on_market(plan, plans.futures_market(futures_type)))

    def _account(self, kind: str, path: str, symbol: str | None = None) -> AsyncSocket:
        self.venue.load_credentials()  # no keys: MissingCredentialsError now

        def carrier(registry: SocketRegistry, callback: Any) -> LegacySocket:
            return _AccountCarrier(self.venue, registry, path, kind, callback, symbol)

        return self._socket(f"{_ACCOUNT}_{path}", carrier)

    def _socket(self, key: str, carrier: Any) -> AsyncSocket:
        socket = self._conns.get(key)
        if socket is None:
            socket = AsyncSocket(key, carrier, self._max_queue_size, self._overflow, self)
            self._conns[key] = socket
        return socket

    # -- the sockets' owner (see AsyncSocket) ------------------------------------------------

    def entered(self, socket: AsyncSocket) -> None:
        """A socket opens (again, maybe after it closed): it is one of this manager's."""
        self._conns.setdefault(socket.key, socket)

    def exited(self, socket: AsyncSocket) -> defer.Deferred:
        """A socket closed: forget it; the last one out closes the shared connections."""
        if self._conns.get(socket.key) is socket:
            del self._conns[socket.key]
        if self._conns:
            return defer.succeed(None)
        return self.venue.release()

    def _account_event(self, event: ConnectionEvent) -> None:
        """Events of the account WebSocket API connection reach every account socket on it."""
        for socket in list(self._conns.values()):
            carrier = socket.carrier
            if isinstance(carrier, AccountSocket) and carrier.kind in ACCOUNT_API_KINDS:
                carrier.connection_event(event)
