"""An in-memory network on a ``MemoryReactorClock``: ports, connectors, transports, pipes.

:class:`InMemoryReactor` keeps what listens on it (``listenTCP``) and connects
``connectTCP``/``connectSSL`` to it through a pair of in-memory transports, one
:class:`_Pipe` per connection. Nothing moves until :meth:`InMemoryReactor.flush` (or
:meth:`~InMemoryReactor.advance`, which moves the clock timer by timer and flushes after
each): the same model as ``twisted.test.iosim``, with what a reconnecting client needs on
top of it: an ``IConnector`` that reports failures and losses to its factory and can connect
again, refused connections when nothing listens, and transports that honour
``pauseProducing`` (a server that stops reading) and ``abortConnection``.
"""

from __future__ import annotations

import itertools
from typing import Any, cast

from twisted.internet.address import IPv4Address
from twisted.internet.base import BaseConnector
from twisted.internet.error import (
    CannotListenError,
    ConnectionAborted,
    ConnectionDone,
    ConnectionLost,
    ConnectionRefusedError,
)
from twisted.internet.interfaces import (
    IConsumer,
    IListeningPort,
    IProtocolFactory,
    IPushProducer,
    ISSLTransport,
    ITCPTransport,
)
from twisted.internet.protocol import Protocol
from twisted.internet.testing import MemoryReactorClock
from twisted.python.failure import Failure
from zope.interface import directlyProvides, implementer

from binance_twisted.testing._protocol import ReactorTimer

__all__ = ["InMemoryReactor"]

_FIRST_PORT = 50000
_FIRST_CLIENT_PORT = 60000
_MAX_ROUNDS = 100_000
_LOOPBACK = frozenset({"127.0.0.1", "localhost"})


class InMemoryReactor(MemoryReactorClock):
    """A ``MemoryReactorClock`` whose clients really connect to its servers, in memory.

    ``listenTCP`` (port 0 picks a free one) and ``connectTCP``/``connectSSL`` work as on a
    real reactor, minus the sockets: a connection attempt completes on the next
    :meth:`flush`, or is refused (``ConnectionRefusedError``) when nothing listens there;
    losses and failures reach the client factory, so reconnecting clients reconnect. TLS is
    not simulated: ``connectSSL`` connects in clear, the transports claiming
    ``ISSLTransport``. Bytes move only in :meth:`flush` and :meth:`advance`; the handshake
    and close timeouts of a connecting autobahn factory run on this clock too.

    The calls are still recorded as by ``MemoryReactorClock`` (``tcpServers``,
    ``tcpClients``, ``sslClients``, ``connectors``).
    """

    def __init__(self) -> None:
        super().__init__()
        self._listening: dict[int, _Port] = {}
        self._pipes: list[_Pipe] = []
        self._free_ports = itertools.count(_FIRST_PORT)
        self._client_ports = itertools.count(_FIRST_CLIENT_PORT)

    # -- time and bytes ---------------------------------------------------------------

    def flush(self) -> None:
        """Run what is due now and move bytes both ways until every connection is quiet."""
        for _ in range(_MAX_ROUNDS):
            super().advance(0)
            moved = [pipe for pipe in list(self._pipes) if pipe.pump()]
            self._pipes = [pipe for pipe in self._pipes if not pipe.finished]
            if not moved and not self._due_by(self.rightNow):
                return
        raise RuntimeError("in-memory connections never went quiet (a busy loop?)")

    def advance(self, amount: float) -> None:
        """Move the clock ``amount`` seconds on, timer by timer, flushing after each.

        So every timer sees the bytes that the timers before it made travel, as it would
        over a real network that is much faster than the timers.
        """
        if not amount >= 0:
            raise ValueError(f"amount must be >= 0 seconds, not {amount!r}")
        end = self.rightNow + amount
        while self.step(end):
            pass
        self.rightNow = max(self.rightNow, end)
        self.flush()

    def step(self, until: float) -> bool:
        """Flush, then run the next timer due by ``until`` and flush again; False if none."""
        self.flush()
        due = self._next_due()
        if due is None or due > until:
            return False
        self.rightNow = max(self.rightNow, due)
        self.flush()
        return True

    def _next_due(self) -> float | None:
        return min((call.getTime() for call in self.getDelayedCalls()), default=None)

    def _due_by(self, moment: float) -> bool:
        return any(call.getTime() <= moment for call in self.getDelayedCalls())

    # -- listening and connecting -----------------------------------------------------

    def listenTCP(
        self, port: int, factory: IProtocolFactory, backlog: int = 50, interface: str = ""
    ) -> IListeningPort:
        if port == 0:
            port = next(p for p in self._free_ports if p not in self._listening)
        if port in self._listening:
            raise CannotListenError(interface, port, OSError("address already in use"))
        self.tcpServers.append((port, factory, backlog, interface))
        listening = _Port(self, port, factory, interface)
        self._listening[port] = listening
        factory.doStart()
        return listening

    def connectTCP(
        self,
        host: str,
        port: int,
        factory: Any,
        timeout: float = 30,
        bindAddress: Any = None,
    ) -> _Connector:
        cast("list[Any]", self.tcpClients).append((host, port, factory, timeout, bindAddress))
        return self._dial(host, port, factory, timeout, tls=False)

    def connectSSL(
        self,
        host: str,
        port: int,
        factory: Any,
        contextFactory: Any,
        timeout: float = 30,
        bindAddress: Any = None,
    ) -> _Connector:
        self.sslClients.append((host, port, factory, contextFactory, timeout, bindAddress))
        return self._dial(host, port, factory, timeout, tls=True)

    def _dial(self, host: str, port: int, factory: Any, timeout: float, tls: bool) -> _Connector:
        if hasattr(factory, "_batched_timer"):  # an autobahn factory: its timeouts run here
            factory._batched_timer = ReactorTimer(self)
        connector = _Connector(self, host, port, factory, timeout, tls)
        self.connectors.append(connector)
        connector.connect()
        return connector

    def _stopped_listening(self, port: _Port) -> None:
        if self._listening.get(port.number) is port:
            del self._listening[port.number]

    def _server_for(self, host: str, port: int) -> _Port | None:
        listening = self._listening.get(port)
        if listening is None or not listening.accepts(host):
            return None
        return listening

    def _connect(self, connector: _Connector) -> None:
        """Complete a connection attempt: pair the client with the server, or refuse it."""
        server = self._server_for(connector.host, connector.port)
        client_address = IPv4Address("TCP", "127.0.0.1", next(self._client_ports))
        server_address = IPv4Address("TCP", connector.host, connector.port)
        server_protocol = server.factory.buildProtocol(client_address) if server else None
        if server_protocol is None:
            refused = ConnectionRefusedError(connector.host, connector.port)
            connector.connectionFailed(Failure(refused))
            return
        client_protocol = connector.buildProtocol(server_address) or Protocol()
        client = _Transport(client_protocol, client_address, server_address, connector)
        server_side = _Transport(server_protocol, server_address, client_address)
        if connector.tls:
            directlyProvides(client, ISSLTransport)
            directlyProvides(server_side, ISSLTransport)
        connector.transport = client  # type: ignore[assignment]
        self._pipes.append(_Pipe(client, server_side))
        server_protocol.makeConnection(server_side)
        client_protocol.makeConnection(client)


@implementer(IListeningPort)
class _Port:
    """A port listening on the in-memory reactor."""

    def __init__(
        self, reactor: InMemoryReactor, number: int, factory: IProtocolFactory, interface: str
    ) -> None:
        self._reactor = reactor
        self.number = number
        self.factory = factory
        self._interface = interface
        self._listening = True

    def accepts(self, host: str) -> bool:
        """Whether a client connecting to ``host`` reaches this port."""
        if self._interface in ("", "0.0.0.0"):
            return True
        return host == self._interface or {host, self._interface} <= _LOOPBACK

    def startListening(self) -> None:
        """Already listening since ``listenTCP``."""

    def stopListening(self) -> None:
        """Refuse new connections; open ones stay, as on a real port."""
        if self._listening:
            self._listening = False
            self._reactor._stopped_listening(self)
            self.factory.doStop()

    def getHost(self) -> IPv4Address:
        return IPv4Address("TCP", self._interface or "0.0.0.0", self.number)


class _Connector(BaseConnector):
    """Twisted's connector logic (retries, timeout, factory calls) over the in-memory reactor."""

    def __init__(
        self,
        reactor: InMemoryReactor,
        host: str,
        port: int,
        factory: Any,
        timeout: float,
        tls: bool,
    ) -> None:
        super().__init__(factory, timeout, reactor)  # type: ignore[arg-type]
        self.memory = reactor
        self.host = host
        self.port = port
        self.tls = tls

    def _makeTransport(self) -> Any:
        return _Dial(self)

    def getDestination(self) -> IPv4Address:
        return IPv4Address("TCP", self.host, self.port)


class _Dial:
    """One connection attempt, completed (or refused) when the reactor next runs its timers."""

    def __init__(self, connector: _Connector) -> None:
        self._connector = connector
        self._call = connector.memory.callLater(0, connector.memory._connect, connector)

    def failIfNotConnected(self, reason: Exception) -> None:
        """The attempt was stopped or timed out before it completed."""
        if self._call.active():
            self._call.cancel()
            self._connector.connectionFailed(Failure(reason))


@implementer(ITCPTransport, IConsumer, IPushProducer)
class _Transport:
    """One end of an in-memory connection: what a protocol writes waits here for the pipe."""

    disconnecting = False
    disconnected = False

    def __init__(
        self,
        protocol: Any,
        host: IPv4Address,
        peer: IPv4Address,
        connector: _Connector | None = None,
    ) -> None:
        self.protocol = protocol
        self._host = host
        self._peer = peer
        self._connector = connector
        self._outgoing: list[bytes] = []
        self._held: list[bytes] = []
        self._paused = False
        self.aborted = False
        #: why the other end went away, once it has (reported when this end reads again)
        self.peer_gone: Exception | None = None
        self._producer: Any = None
        self._streaming = False

    # -- ITransport / ITCPTransport -----------------------------------------------------

    def write(self, data: bytes) -> None:
        if not self.disconnecting and data:
            self._outgoing.append(bytes(data))

    def writeSequence(self, data: Any) -> None:
        self.write(b"".join(data))

    def loseConnection(self) -> None:
        self.disconnecting = True

    def abortConnection(self) -> None:
        """Close at once; what was not delivered yet is lost, as with a TCP reset."""
        self.disconnecting = self.aborted = True
        self._outgoing.clear()

    def loseWriteConnection(self) -> None:
        self.loseConnection()

    def getPeer(self) -> IPv4Address:
        return self._peer

    def getHost(self) -> IPv4Address:
        return self._host

    def getPeerCertificate(self) -> None:
        """No certificate: TLS is not simulated."""
        return None

    def getTcpNoDelay(self) -> bool:
        return True

    def setTcpNoDelay(self, enabled: bool) -> None:
        """Nothing to tune in memory."""

    def getTcpKeepAlive(self) -> bool:
        return False

    def setTcpKeepAlive(self, enabled: bool) -> None:
        """Nothing to tune in memory."""

    # -- IConsumer: what a producer writes through us ------------------------------------

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        self._producer, self._streaming = producer, streaming

    def unregisterProducer(self) -> None:
        self._producer = None

    # -- IPushProducer: our reading -----------------------------------------------------

    def pauseProducing(self) -> None:
        """Stop reading: incoming bytes wait until :meth:`resumeProducing`."""
        self._paused = True

    def resumeProducing(self) -> None:
        self._paused = False

    def stopProducing(self) -> None:
        self.loseConnection()

    # -- what the pipe does -------------------------------------------------------------

    def take_output(self) -> bytes:
        """Everything written since the last call; pull producers are asked for more."""
        if self._producer is not None and not self._streaming:
            self._producer.resumeProducing()
        data, self._outgoing = b"".join(self._outgoing), []
        return data

    def receive(self, data: bytes) -> None:
        """Bytes from the other end, kept for :meth:`deliver`."""
        self._held.append(data)

    def deliver(self) -> bool:
        """Hand held bytes to the protocol if reading; whether any were handed."""
        if self._paused or not self._held or self.disconnected:
            return False
        data, self._held = b"".join(self._held), []
        self.protocol.dataReceived(data)
        return True

    def reads(self) -> bool:
        """Whether this end would notice the other end closing now."""
        return not self._paused and not self._held

    def lost(self, reason: Exception) -> None:
        """The connection is gone for this end: tell the protocol (and the connector)."""
        self.disconnected = self.disconnecting = True
        if self._producer is not None:
            self._producer.stopProducing()
            self._producer = None
        self.protocol.connectionLost(Failure(reason))
        if self._connector is not None:
            self._connector.connectionLost(Failure(reason))


class _Pipe:
    """The two ends of one connection, and the bytes and closes between them."""

    def __init__(self, client: _Transport, server: _Transport) -> None:
        self._ends = ((client, server), (server, client))

    @property
    def finished(self) -> bool:
        """Both ends have been told the connection is gone."""
        return all(end.disconnected for end, _ in self._ends)

    def pump(self) -> bool:
        """Move bytes one way and the other, else one close; whether anything happened."""
        moved = False
        for sender, receiver in self._ends:
            data = sender.take_output()
            if data and not receiver.disconnected:
                receiver.receive(data)
        for end, _ in self._ends:
            moved = end.deliver() or moved
        return moved or self._close_one()

    def _close_one(self) -> bool:
        """Report one close: an end that closed itself at once, the other once it reads."""
        for end, other in self._ends:
            if end.disconnecting and not end.disconnected:
                aborted = end.aborted
                end.lost(end.peer_gone or (ConnectionAborted() if aborted else ConnectionDone()))
                if other.peer_gone is None:
                    other.peer_gone = ConnectionLost() if aborted else ConnectionDone()
                return True
        for end, _ in self._ends:
            if end.peer_gone is not None and not end.disconnected and end.reads():
                end.lost(end.peer_gone)
                return True
        return False
