"""An in-memory harness for the connection core: real objects, fake sockets, fake time.

``Harness`` drives a real :class:`StreamConnection`, its real ``SessionFactory`` and real
``SessionProtocol`` sessions on a ``MemoryReactorClock``. Only the socket is replaced: a
session is "opened" by calling the same hooks autobahn calls, and what the client sends is
recorded as decoded JSON, so tests read like a conversation with the server.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any

from autobahn.websocket.protocol import WebSocketProtocol
from twisted.internet import defer, ssl
from twisted.internet.error import ConnectionDone
from twisted.internet.testing import MemoryReactorClock
from twisted.python.failure import Failure

from binance_twisted import venues
from binance_twisted._core.policy import ConnectionPolicy
from binance_twisted._core.protocol import SessionFactory, SessionProtocol
from binance_twisted._json import dumps, loads
from binance_twisted.events import ConnectionEvent, EventKind
from binance_twisted.market.connection import StreamConnection

BASE_URL = "ws://127.0.0.1:9"


class Harness:
    """One connection, its clock, the events it emitted and the sessions it opened."""

    def __init__(
        self,
        policy: ConnectionPolicy | None = None,
        make: Callable[..., Any] | None = None,
        market: str = "spot",
    ) -> None:
        self.clock = MemoryReactorClock()
        self.events: list[ConnectionEvent] = []
        self.received: list[tuple[str, Any]] = []
        if make is None:
            self.connection = StreamConnection(
                self.clock,
                "spot-1",
                BASE_URL,
                policy=policy or ConnectionPolicy(),
                profile=venues.profile(market),
                trust_root=ssl.platformTrust(),
                on_event=self.events.append,
            )
        else:
            self.connection = make(self.clock, self.events.append)

    def route(self, *streams: str) -> None:
        """Send every payload of ``streams`` to ``self.received``."""
        for stream in streams:
            self.connection.routes.setdefault(stream, []).append(
                (lambda s, d: self.received.append((s, d)), False, "test")
            )

    def kinds(self) -> list[EventKind]:
        return [event.kind for event in self.events]

    def open(self, factory: SessionFactory | None = None) -> SessionProtocol:
        """Complete one connection attempt of ``factory`` (default: the current lineage)."""
        factory = factory or self.connection._factory
        assert factory is not None
        connector = self.connector_of(factory)
        factory.startedConnecting(connector)
        proto = factory.buildProtocol(None)
        proto.sent = []
        proto.state = WebSocketProtocol.STATE_OPEN
        proto.data = b""  # autobahn's receive buffer, empty after a handshake
        proto.sendMessage = lambda payload, isBinary=False: proto.sent.append(loads(payload))
        proto.sendClose = lambda code=None, reason=None: _closed_by_client(proto, code)
        proto.dropConnection = lambda abort=False: proto.sent.append({"dropped": abort})
        proto._connector = connector
        proto.onOpen()
        return proto

    def connector_of(self, factory: SessionFactory) -> Any:
        """The connector ``connectWS`` made for ``factory`` (retries reuse it)."""
        for client, connector in zip(self.clock.tcpClients, self.clock.connectors, strict=True):
            if client[2] is factory:
                return connector
        raise AssertionError(f"{factory} never connected")

    def fail_attempt(self, reason: Exception | None = None) -> None:
        """The current lineage's pending attempt fails before any session exists."""
        factory = self.connection._factory
        assert factory is not None
        connector = self.connector_of(factory)
        factory.startedConnecting(connector)
        factory.clientConnectionFailed(connector, Failure(reason or ConnectionRefused()))

    def lose(self, proto: SessionProtocol, reason: Exception | None = None) -> None:
        """The session's socket is gone."""
        proto.state = WebSocketProtocol.STATE_CLOSED
        proto.factory.clientConnectionLost(proto._connector, Failure(reason or ConnectionDone()))

    def ack(self, proto: SessionProtocol) -> list[dict]:
        """Answer every control request the session sent and nobody answered yet."""
        answered = []
        for request in requests(proto):
            if request["id"] in proto.pending:
                answered.append(request)
                result = [] if request["method"] == "LIST_SUBSCRIPTIONS" else None
                self.send(proto, {"result": result, "id": request["id"]})
        return answered

    @staticmethod
    def send(proto: SessionProtocol, message: Any) -> None:
        """The server sends one JSON text frame."""
        proto.onMessage(dumps(message), False)

    @staticmethod
    def send_data(proto: SessionProtocol, stream: str, data: Any) -> None:
        """The server sends one combined-stream payload."""
        proto.onMessage(dumps({"stream": stream, "data": data}), False)


def requests(proto: SessionProtocol, method: str | None = None) -> list[dict]:
    """Control messages the client sent on ``proto`` (optionally of one method)."""
    return [m for m in proto.sent if "method" in m and (method is None or m["method"] == method)]


def subscribed(proto: SessionProtocol) -> list[str]:
    """Every stream the client asked for with SUBSCRIBE on ``proto``, in order."""
    return [s for m in requests(proto, "SUBSCRIBE") for s in m["params"]]


def trade(trade_id: int) -> dict:
    return {"e": "trade", "E": 1, "s": "BTCUSDT", "t": trade_id, "p": "1", "q": "1"}


def depth_update(first: int, last: int) -> dict:
    return {"e": "depthUpdate", "E": 1, "s": "BTCUSDT", "U": first, "u": last, "b": [], "a": []}


def _closed_by_client(proto: SessionProtocol, code: int | None) -> None:
    proto.sent.append({"close": code})
    proto.state = WebSocketProtocol.STATE_CLOSING


class ConnectionRefused(Exception):
    def __str__(self) -> str:
        return "Connection was refused by other side"


def asynchronous(test: Callable[..., Coroutine[Any, Any, Any]]) -> Callable[..., defer.Deferred]:
    """Run an ``async def`` test method under trial (which awaits the returned Deferred)."""

    @functools.wraps(test)
    def run(self: Any, *args: Any) -> defer.Deferred:
        return defer.ensureDeferred(test(self, *args))

    return run


async def wait_until(predicate: Callable[[], Any], timeout: float = 5.0) -> None:
    """Poll ``predicate`` on the real reactor every 10 ms (no sleeping) until it is true."""
    from twisted.internet import reactor, task

    waited = 0.0
    while not predicate():
        if waited >= timeout:
            raise AssertionError(f"condition not met within {timeout} s")
        await task.deferLater(reactor, 0.01, lambda: None)
        waited += 0.01


async def advance_until(
    clock: Any, step: float, predicate: Callable[[], Any], timeout: float = 5.0
) -> None:
    """Step a FakeBinance's ``clock`` by ``step`` once per reactor turn until ``predicate()``.

    The fake's timers (market ticks, pings) then fire as fast as the reactor turns, while
    the bytes they send travel over the real sockets meanwhile: no wall-clock wait for a
    timer. Fails after ``timeout`` real seconds.
    """
    from twisted.internet import reactor, task

    deadline = reactor.seconds() + timeout
    while not predicate():
        if reactor.seconds() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        clock.advance(step)
        await task.deferLater(reactor, 0, lambda: None)
