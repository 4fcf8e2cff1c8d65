"""One python-binance 1.x socket: ``async with`` opens it, ``await recv()`` reads it.

What carries the messages is the legacy facade's socket (the same plans, venue and shared
connections as the thread managers); its callback fills a
:class:`~binance_twisted.aio.queue.MessageQueue` that ``recv()`` reads. Problems arrive in
the stream as 1.x's error dicts: ``BinanceWebsocketClosed`` when a connection drops (it
reconnects by itself), ``BinanceWebsocketUnableToConnect`` when it gives up,
``BinanceWebsocketQueueOverflow`` when the consumer falls behind (the socket goes on).
After a socket gave up or closed, ``recv()`` drains what is queued, then raises
:class:`~binance_twisted.aio.queue.ReadLoopClosed`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from twisted.internet import defer

from binance_twisted._core.policy import Overflow
from binance_twisted.aio.loop import wait
from binance_twisted.aio.queue import MessageQueue, ReadLoopClosed
from binance_twisted.errors import error_message
from binance_twisted.events import CLOSED_BY_CLIENT, ConnectionEvent, EventKind
from binance_twisted.legacy.sockets import LegacySocket, SocketRegistry

__all__ = ["AsyncSocket", "SaysDisconnects", "SocketOwner"]

#: what makes the socket that carries an AsyncSocket, given its registry and callback
MakeSocket = Callable[[SocketRegistry, Callable[[Any], None]], LegacySocket]


class SocketOwner(Protocol):
    """The manager of a socket: it knows which sockets are open, and what they share."""

    def entered(self, socket: AsyncSocket) -> None:
        """``socket`` opens (again)."""

    def exited(self, socket: AsyncSocket) -> defer.Deferred:
        """``socket`` closed; fires once what it alone used is released."""


class SaysDisconnects(LegacySocket):
    """A legacy socket that also tells its reader of each dropped connection, as 1.x did
    (``BinanceWebsocketClosed``), so a reader knows where a gap may be."""

    def connection_event(self, event: ConnectionEvent) -> None:
        if (
            event.kind is EventKind.DISCONNECTED
            and event.reason != CLOSED_BY_CLIENT
            and not self.stopped
        ):
            reason = f"Connection closed ({event.reason}). Reconnecting..."
            self.deliver(error_message("BinanceWebsocketClosed", reason))
        super().connection_event(event)


class _OneSocket(SocketRegistry):
    """The registry of one AsyncSocket's carrier: when the carrier lets go of its key (it
    gave up, failed for good, or was closed), no more messages will come."""

    def __init__(self, ended: Callable[[], None]) -> None:
        super().__init__()
        self._ended = ended

    def forget(self, socket: LegacySocket) -> None:
        super().forget(socket)
        self._ended()


class AsyncSocket:
    """A python-binance 1.x ``ReconnectingWebsocket``/``KeepAliveWebsocket`` look-alike."""

    def __init__(
        self,
        key: str,
        make: MakeSocket,
        max_queue_size: int,
        overflow: Overflow,
        owner: SocketOwner,
    ) -> None:
        self.key = key
        self._make = make
        self._size = max_queue_size
        self._overflow: Overflow = overflow
        self._owner = owner
        self._queue: MessageQueue | None = None
        self._carrier: LegacySocket | None = None

    def __repr__(self) -> str:
        state = "open" if self._carrier is not None else "closed"
        return f"<AsyncSocket {self.key!r} {state}>"

    @property
    def carrier(self) -> LegacySocket | None:
        """The legacy socket carrying this one while it is open."""
        return self._carrier

    @property
    def dropped(self) -> int:
        """Messages dropped because ``recv()`` fell ``max_queue_size`` behind."""
        return self._queue.dropped if self._queue is not None else 0

    async def __aenter__(self) -> AsyncSocket:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def connect(self) -> None:
        """Open (again, after a close or give-up); returns once the streams are confirmed,
        or once opening failed (the error is then the next ``recv()``)."""
        if self._carrier is not None and not self._queue_ended():
            return
        self._owner.entered(self)
        queue = self._queue = MessageQueue(self._size, self._overflow, self.key)
        registry = _OneSocket(lambda: queue.end(f"{self.key}: the socket has ended"))
        carrier = self._carrier = self._make(registry, queue.put)
        await wait(carrier.open())

    async def recv(self) -> Any:
        """The next message, or error dict; waits for one. ``ReadLoopClosed`` once the
        socket has ended and everything queued was read."""
        if self._queue is None:
            raise ReadLoopClosed(f"{self.key}: not open (use 'async with' on the socket first)")
        return await wait(self._queue.get())

    async def close(self) -> None:
        """Stop the socket (idempotent); ``recv()`` then raises ``ReadLoopClosed``."""
        carrier, self._carrier = self._carrier, None
        if self._queue is not None:
            self._queue.end(f"{self.key}: the socket was closed", discard=True)
        if carrier is not None:
            await wait(carrier.discard())
            await wait(self._owner.exited(self))

    def _queue_ended(self) -> bool:
        return self._queue is not None and self._queue.ended
