"""What one fake's connections, REST side and public API share: the server state.

Connections see it as their :class:`~binance_twisted.testing._protocol.Hub`, the REST side as
its :class:`~binance_twisted.testing._rest.MarketView`; :class:`FakeBinance` wraps it in the
public API. Keeping it apart keeps those internal hooks out of FakeBinance's interface.

It is part of the exchange simulation, not of the wire: it knows a connection only as a
:class:`Peer` (what the wire module's connections offer), and its only time source is the
``clock`` it is given.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import attrs
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from binance_twisted._json import dumps
from binance_twisted.testing._auth import redact_text
from binance_twisted.testing._bookfaults import BookFaults, DepthPlan, Held
from binance_twisted.testing._events import depth_event, render
from binance_twisted.testing._exchange import Exchange
from binance_twisted.testing._limits import ConnectionPolicy
from binance_twisted.testing._market import Levels, Market, SymbolMarket
from binance_twisted.testing._names import ROUTES, StreamSpec, cadence_ms, recognise
from binance_twisted.testing._subscriptions import Subscriptions
from binance_twisted.testing._userdata import PREFIX_PRODUCTS, UserData

__all__ = ["Fault", "LogEntry", "Peer", "RestFault", "ServerState"]

_VERBOSE_KINDS = frozenset({"request", "invalid", "ping", "pong", "http"})
_MINUTE_MS = 60_000


class Peer(Protocol):
    """One open WebSocket connection, as the state sees it (the wire side implements it)."""

    id: int
    service: str
    path: str
    route: str | None
    combined: bool
    connected_at: float

    def __hash__(self) -> int:
        """Peers key the subscription tables."""

    def send(self, payload: bytes, binary: bool = False) -> bool:
        """Send one message; whether it went out."""

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake."""

    def abort(self, reason: str) -> None:
        """Drop the connection at once."""

    def pause_reading(self, paused: bool) -> None:
        """Stop (or resume) reading from the client."""

    def suspend_heartbeat(self) -> None:
        """No pings and no pong deadline for now."""

    def resume_heartbeat(self) -> None:
        """Ping again."""


@attrs.frozen
class LogEntry:
    """One thing that happened on the fake, in order.

    ``time`` is the fake's clock in seconds; ``connection`` the connection id (``None`` for a
    refused handshake and for what is not tied to a WebSocket connection); ``kind`` one of
    ``connect refused request invalid ping pong close rate-limit pong-timeout lifetime
    fault book-fault book-fault-applied http listen-key-expired listen-key-closed
    subscription-ended``; ``detail`` the specifics (for ``connect``: ``path`` and
    ``route``, the USD-M futures route or ``None``; for ``request``: the control message or
    WebSocket API request as decoded; for ``close``: ``code``, ``reason``, ``by``
    ``"client"``/``"server"`` and ``clean``). API keys, signatures, listen keys and listen
    tokens appear only as their first four characters and an ellipsis.
    """

    time: float
    connection: int | None
    kind: str
    detail: dict[str, Any]


@attrs.define
class Fault:
    """How to answer the next WebSocket API request(s) of one method."""

    delay: float | None
    status: int | None
    drop: bool
    retry_after: float | None
    code: int | None
    msg: str | None
    count: int


@attrs.define
class RestFault:
    """How to answer the next REST request(s)."""

    status: int
    retry_after: float | None
    count: int


class ServerState:
    """The log, the open connections and their subscriptions, the market, pending faults."""

    _logger = Logger(namespace="binance_twisted.testing.FakeBinance")

    def __init__(
        self,
        clock: IReactorTime,
        policy: ConnectionPolicy,
        symbols: Sequence[str],
        seed: int,
        *,
        listen_key_validity: float = 3600.0,
        us_listen_keys: bool = False,
        logon_key_types: frozenset[str] = frozenset({"Ed25519"}),
        cadence: str = "tick",
        strict_symbols: bool = False,
    ) -> None:
        #: every timer and time stamp of the fake (the sockets' reactor is not needed here)
        self.clock = clock
        self.policy = policy
        self.symbols = symbols
        self.market = Market(seed)
        self.subscriptions: Subscriptions[Peer] = Subscriptions()
        self.log: list[LogEntry] = []
        self.connections: list[Peer] = []
        self.refusals: deque[int] = deque()
        self.stalled = False
        self.reading_paused = False
        self.time_offset_ms = 0
        self.us_listen_keys = us_listen_keys
        self.logon_key_types = logon_key_types
        self.wsapi_faults: dict[str, deque[Fault]] = {}
        self.rest_faults: deque[RestFault] = deque()
        self.book_faults = BookFaults()
        self.userdata = UserData(
            clock,
            self.server_ms,
            self.record,
            self.deliver,
            self.ws_api_connections,
            listen_key_validity,
            seed,
        )
        self.listeners = self.userdata.listeners
        self.exchange = Exchange(self.market, seed)
        self.userdata.exchange = self.exchange
        #: Symbols the WebSocket API has asked about: they tick like subscribed ones.
        self.touched: set[str] = set()
        #: "binance": klines, tickers, partial depth… at Binance's cadence; "tick": every tick
        self.cadence = cadence
        #: only ``symbols`` have markets (a stream of another is silent, requests get -1121)
        self.strict_symbols = strict_symbols
        self._published: dict[str, int] = {}  # stream → the cadence window it last went out in
        self._weights: dict[str, tuple[int, int]] = {}
        self._next_id = 1
        self._ticks = 0

    # -- connections --------------------------------------------------------------------

    def record(self, kind: str, connection: Peer | None, detail: dict[str, Any]) -> None:
        """Append a :class:`LogEntry` (and log it: per-message kinds at debug level)."""
        entry = LogEntry(self.clock.seconds(), connection.id if connection else None, kind, detail)
        self.log.append(entry)
        emit = self._logger.debug if kind in _VERBOSE_KINDS else self._logger.info
        emit(
            "{kind} #{connection}: {detail}", kind=kind, connection=entry.connection, detail=detail
        )

    def take_refusal(self) -> int | None:
        """The status to refuse the next upgrade with, if any is queued."""
        return self.refusals.popleft() if self.refusals else None

    def opened(self, connection: Peer) -> None:
        """Give a new connection its id and start tracking it."""
        connection.id, self._next_id = self._next_id, self._next_id + 1
        connection.connected_at = self.clock.seconds()
        self.connections.append(connection)
        path = redact_text(connection.path)
        self.record("connect", connection, {"path": path, "route": connection.route})
        if self.reading_paused:
            connection.pause_reading(True)

    def closed(self, connection: Peer) -> None:
        """Forget a connection and its subscriptions."""
        self.connections.remove(connection)
        self.subscriptions.forget(connection)
        self.listeners.forget(connection)

    def ws_api_connections(self) -> Iterator[Any]:
        """The open WebSocket API connections."""
        return (c for c in list(self.connections) if c.service == "ws-api")

    def listen_key_serves(self, key: str, route: str | None) -> bool:
        """Whether ``key`` is live and of a product served on a URL with ``route``."""
        record = self.userdata.live_key(key)
        return record is not None and record.product in PREFIX_PRODUCTS.get(route, ())

    def server_shutdown(self) -> int:
        """``serverShutdown`` to every connection, in each one's shape; how many got it."""
        event = {"e": "serverShutdown", "E": self.server_ms()}
        streams = [c for c in self.connections if c.service != "ws-api"]
        sent = self.deliver("!serverShutdown", event, streams)
        frame = dumps({"event": event})
        return sent + sum(c.send(frame) for c in self.ws_api_connections())

    def deliver(self, stream: str, payload: Any, listeners: Sequence[Peer]) -> int:
        """Send one payload to ``listeners``, wrapped for combined ones; returns how many got it.

        The payload is serialised once, and wrapped at most once, however many listen.
        """
        raw = dumps(payload)
        wrapped = None
        sent = 0
        for connection in listeners:
            if connection.combined:
                if wrapped is None:
                    wrapped = b'{"stream":' + dumps(stream) + b',"data":' + raw + b"}"
                sent += connection.send(wrapped)
            else:
                sent += connection.send(raw)
        return sent

    # -- the market ---------------------------------------------------------------------

    def step_market(self) -> None:
        """One tick: step every symbol somebody listens to, publish every recognised stream.

        The work is proportional to the subscribed streams (plus :attr:`symbols` while an
        all-market stream is subscribed), not to the connections; only the futures-only
        names are filtered per connection, to those that came in on a futures route.
        """
        now = self.now_ms()
        tick, self._ticks = self._ticks, self._ticks + 1
        streams = []
        for name, listeners in self.subscriptions.by_stream():
            spec = recognise(name, futures=True)
            if spec is None or not self._has_market(spec):
                continue
            if recognise(name) is None:  # futures-only: silent on the Spot paths
                listeners = [c for c in listeners if c.route in ROUTES]
                if not listeners:
                    continue
            streams.append((name, spec, listeners))
        wanted: set[str | None] = {spec.symbol for _, spec, _ in streams}
        wanted |= self.touched
        everything = set(self.symbols) if None in wanted else set()
        diffs = {spec.symbol for _, spec, _ in streams if spec.kind == "depth"}
        for symbol in {symbol for symbol in wanted if symbol is not None} | everything:
            market = self.market.get(symbol)
            hidden = self.book_faults.take_gap(symbol) if symbol in diffs else 0
            step = market.step(now, hidden)
            if hidden:
                diff = step.diff
                detail = {"U": diff.first_update_id, "u": diff.final_update_id}
                self._applied("gap", market, skipped=hidden, **detail)
        plans = {symbol: self.book_faults.plan(symbol) for symbol in diffs if symbol}
        for name, spec, listeners in streams:
            if spec.kind == "depth" and spec.symbol is not None:
                self._publish_depth(name, spec.symbol, listeners, now, plans[spec.symbol])
                continue
            # rendered at every tick, so that candles absorb every trade; sent when due (a
            # kline's close always falls on a new window: intervals are whole windows)
            payloads = render(spec, self.market, self.symbols, now, tick)
            if self._due(name, spec, now):
                for payload in payloads:
                    self.deliver(name, payload, listeners)
        for symbol, plan in plans.items():
            self.book_faults.finish(symbol, plan)

    def _has_market(self, spec: StreamSpec) -> bool:
        """Unless ``strict_symbols``, every well-formed symbol gets one when asked about."""
        return not (
            self.strict_symbols and spec.symbol is not None and spec.symbol not in self.symbols
        )

    def _due(self, name: str, spec: StreamSpec, now: int) -> bool:
        """Whether ``name`` goes out at this tick: always, or at Binance's cadence when this
        tick opens a new window of it."""
        every = cadence_ms(name, spec) if self.cadence == "binance" else 0
        if not every:
            return True
        window = now // every
        if self._published.get(name) == window:
            return False
        self._published[name] = window
        return True

    def _publish_depth(
        self, name: str, symbol: str, listeners: list[Peer], now: int, plan: DepthPlan
    ) -> None:
        """One step's diff event of ``name``: Spot shape on Spot paths, futures on routes.

        ``plan`` says whether to send it twice, hold it back for a swap, or send the event
        held back at the previous step right after it.
        """
        market = self.market.get(symbol)
        assert market.last_step is not None
        diff = market.last_step.diff
        ids = {"U": diff.first_update_id, "u": diff.final_update_id}
        spot = [c for c in listeners if c.route not in ROUTES]
        futures = [c for c in listeners if c.route in ROUTES]
        for is_futures, group in ((False, spot), (True, futures)):
            if not group:
                continue
            payload = depth_event(market, now, is_futures)
            if plan.hold:
                plan.held.append(Held(name, is_futures, payload, plan.copies))
                self._applied("reorder", market, stream=name, held=True, **ids)
                continue
            for _ in range(plan.copies):
                self.deliver(name, payload, group)
            if plan.copies > 1:
                self._applied("duplicate", market, stream=name, **ids)
            for held in plan.release:
                if (held.stream, held.futures) != (name, is_futures):
                    continue
                for _ in range(held.copies):
                    self.deliver(name, held.payload, group)
                released = {"U": held.payload["U"], "u": held.payload["u"]}
                self._applied("reorder", market, stream=name, after=ids, **released)

    def _applied(self, fault: str, market: SymbolMarket, **detail: Any) -> None:
        self.record("book-fault-applied", None, {"fault": fault, "symbol": market.name, **detail})

    def knows(self, symbol: str) -> bool:
        """Whether a lowercase symbol has (or may get) a market: listed, or (unless
        ``strict_symbols``) subscribed to."""
        if symbol in self.symbols:
            return True
        if self.strict_symbols:
            return False
        if symbol in self.market:
            return True
        for name, _ in self.subscriptions.by_stream():
            spec = recognise(name, futures=True)
            if spec is not None and spec.symbol == symbol:
                return True
        return False

    def known_symbols(self) -> list[str]:
        """The listed symbols, then every other one with a market, lowercase."""
        return list(self.symbols) + [s for s in self.market.names() if s not in self.symbols]

    def touch(self, symbol: str) -> SymbolMarket:
        """The market of a known lowercase symbol, which from now on ticks with the rest."""
        self.touched.add(symbol)
        return self.market.get(symbol)

    def snapshot(self, symbol: str, limit: int) -> tuple[int, Levels, Levels] | None:
        """The REST depth snapshot of a known lowercase symbol, else ``None``.

        A stale snapshot queued for the symbol (:meth:`BookFaults.add_stale`) is served, and
        consumed, first.
        """
        if not self.knows(symbol):
            return None
        market = self.market.get(symbol)
        behind = self.book_faults.take_stale(symbol)
        if behind is None:
            return market.depth(limit)
        snapshot = market.past_depth(behind, limit)
        current = market.update_id
        self._applied("stale", market, lastUpdateId=snapshot[0], current=current)
        return snapshot

    def now_ms(self) -> int:
        """The fake's clock in milliseconds (the market's ``E`` and ``T``).

        Rounded, not truncated: a test clock at 1.15 s reads 1.1499999… and is 1150 ms.
        """
        return round(self.clock.seconds() * 1000)

    def server_ms(self) -> int:
        """The server clock: :meth:`now_ms` plus the simulated skew (``serverTime``)."""
        return self.now_ms() + self.time_offset_ms

    # -- WebSocket API weight and faults --------------------------------------------------

    def weigh(self, weight: int, venue: str = "spot") -> int:
        """Add a request's weight to this minute's REQUEST_WEIGHT; the count after it.

        Spot (``/ws-api/v3``) and USD-M futures (``/ws-fapi/v1``) count apart, as their
        hosts do.
        """
        minute = self.server_ms() // _MINUTE_MS
        counted, total = self._weights.get(venue, (minute, 0))
        if counted != minute:
            total = 0
        total += weight
        self._weights[venue] = (minute, total)
        return total

    def take_wsapi_fault(self, method: str) -> Fault | None:
        """The fault to apply to this request of ``method``, if one is queued."""
        queue = self.wsapi_faults.get(method)
        if not queue:
            return None
        fault = queue[0]
        fault.count -= 1
        if fault.count <= 0:
            queue.popleft()
        return fault

    def take_rest_fault(self) -> RestFault | None:
        """The fault to answer this REST request with, if one is queued."""
        if not self.rest_faults:
            return None
        fault = self.rest_faults[0]
        fault.count -= 1
        if fault.count <= 0:
            self.rest_faults.popleft()
        return fault
