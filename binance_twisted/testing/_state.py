"""What one fake's connections, REST side and public API share: the server state.

Connections see it as their :class:`~binance_twisted.testing._protocol.Hub`, the REST side as
its :class:`~binance_twisted.testing._rest.MarketView`; :class:`FakeBinance` wraps it in the
public API. Keeping it apart keeps those internal hooks out of FakeBinance's interface.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

import attrs
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from binance_twisted._json import dumps
from binance_twisted.testing._events import render
from binance_twisted.testing._market import Levels, Market
from binance_twisted.testing._names import recognise
from binance_twisted.testing._protocol import ConnectionPolicy, StreamConnection
from binance_twisted.testing._subscriptions import Subscriptions

__all__ = ["LogEntry", "ServerState"]

_VERBOSE_KINDS = frozenset({"request", "invalid", "ping", "pong"})


@attrs.frozen
class LogEntry:
    """One thing that happened on the fake, in order.

    ``time`` is reactor seconds; ``connection`` the connection id (``None`` for a refused
    handshake); ``kind`` one of ``connect refused request invalid ping pong close rate-limit
    pong-timeout lifetime``; ``detail`` the specifics (for ``connect``: ``path`` and
    ``route``, the USD-M futures route or ``None``; for ``request``: the control message as
    decoded; for ``close``: ``code``, ``reason``, ``by`` ``"client"``/``"server"`` and
    ``clean``).
    """

    time: float
    connection: int | None
    kind: str
    detail: dict[str, Any]


class ServerState:
    """The log, the open connections and their subscriptions, the market, pending faults."""

    _logger = Logger(namespace="binance_twisted.testing.FakeBinance")

    def __init__(
        self, reactor: IReactorTime, policy: ConnectionPolicy, symbols: Sequence[str], seed: int
    ) -> None:
        self.reactor = reactor
        self.policy = policy
        self.symbols = symbols
        self.market = Market(seed)
        self.subscriptions: Subscriptions[StreamConnection] = Subscriptions()
        self.log: list[LogEntry] = []
        self.connections: list[StreamConnection] = []
        self.refusals: deque[int] = deque()
        self.stalled = False
        self.reading_paused = False
        self._next_id = 1
        self._ticks = 0

    # -- connections --------------------------------------------------------------------

    def record(
        self, kind: str, connection: StreamConnection | None, detail: dict[str, Any]
    ) -> None:
        """Append a :class:`LogEntry` (and log it: per-message kinds at debug level)."""
        entry = LogEntry(
            self.reactor.seconds(), connection.id if connection else None, kind, detail
        )
        self.log.append(entry)
        emit = self._logger.debug if kind in _VERBOSE_KINDS else self._logger.info
        emit(
            "{kind} #{connection}: {detail}", kind=kind, connection=entry.connection, detail=detail
        )

    def take_refusal(self) -> int | None:
        """The status to refuse the next upgrade with, if any is queued."""
        return self.refusals.popleft() if self.refusals else None

    def opened(self, connection: StreamConnection) -> None:
        """Give a new connection its id and start tracking it."""
        connection.id, self._next_id = self._next_id, self._next_id + 1
        connection.connected_at = self.reactor.seconds()
        self.connections.append(connection)
        self.record("connect", connection, {"path": connection.path, "route": connection.route})
        if self.reading_paused:
            connection.pause_reading(True)

    def closed(self, connection: StreamConnection) -> None:
        """Forget a connection and its subscriptions."""
        self.connections.remove(connection)
        self.subscriptions.forget(connection)

    def deliver(self, stream: str, payload: Any, listeners: Sequence[StreamConnection]) -> int:
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
            if spec is None:
                continue
            if recognise(name) is None:  # futures-only: silent on the Spot paths
                listeners = [c for c in listeners if c.route is not None]
                if not listeners:
                    continue
            streams.append((name, spec, listeners))
        wanted = {spec.symbol for _, spec, _ in streams}
        everything = set(self.symbols) if None in wanted else set()
        for symbol in {symbol for symbol in wanted if symbol is not None} | everything:
            self.market.get(symbol).step(now)
        for name, spec, listeners in streams:
            for payload in render(spec, self.market, self.symbols, now, tick):
                self.deliver(name, payload, listeners)

    def knows(self, symbol: str) -> bool:
        """Whether a lowercase symbol has (or may get) a market: listed or subscribed to."""
        return symbol in self.symbols or symbol in self.market

    def snapshot(self, symbol: str, limit: int) -> tuple[int, Levels, Levels] | None:
        """The REST depth snapshot of a known lowercase symbol, else ``None``."""
        return self.market.get(symbol).depth(limit) if self.knows(symbol) else None

    def now_ms(self) -> int:
        """The reactor clock in milliseconds (Binance's ``E``, ``T``, ``serverTime``)."""
        return int(self.reactor.seconds() * 1000)
