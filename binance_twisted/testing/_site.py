"""The fake's server objects: one web site for streams, WebSocket API and REST, tracked.

:class:`ServerSite` builds them once per fake, the same whether their bytes travel over a TCP
port on 127.0.0.1 or through an in-memory transport
(:mod:`binance_twisted.testing.memory`): the root resource (:class:`Root`), a ``Site``
around it, TLS when asked, and the :class:`ConnectionTracker` that knows every open
connection so the fake can abort them all.
"""

from __future__ import annotations

from autobahn.twisted.resource import WebSocketResource
from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IProtocolFactory, IReactorTime
from twisted.internet.protocol import Protocol
from twisted.internet.ssl import Certificate
from twisted.protocols.policies import WrappingFactory
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.web.resource import IResource, Resource
from twisted.web.server import Request, Site

from binance_twisted.endpoints import Endpoints
from binance_twisted.testing._names import ROUTES
from binance_twisted.testing._protocol import ConnectionFactory, StreamConnection
from binance_twisted.testing._rest import RestAPI
from binance_twisted.testing._state import ServerState
from binance_twisted.testing._tls import make_test_certificate_authority
from binance_twisted.testing._wsapi import WsApiConnection

__all__ = ["ConnectionTracker", "Root", "ServerSite", "fake_endpoints"]


class ServerSite:
    """The fake's resource tree and protocol factory, ready to listen or to be paired.

    ``factory`` is what a port listens with (the tracker around the site, around TLS when
    ``tls``); ``resource`` the root resource, for in-memory HTTP such as treq's
    ``StubTreq``; ``trust_root`` the test CA's certificate when ``tls``, else ``None``.
    """

    def __init__(self, state: ServerState, reactor: IReactorTime, tls: bool = False) -> None:
        self.resource = Root(
            WebSocketResource(ConnectionFactory(state, StreamConnection, reactor)),
            WebSocketResource(ConnectionFactory(state, WsApiConnection, reactor)),
            RestAPI(state),
        )
        factory: IProtocolFactory = Site(self.resource, reactor=reactor)
        self.trust_root: Certificate | None = None
        if tls:
            authority = make_test_certificate_authority()
            self.trust_root = authority.certificate
            factory = TLSMemoryBIOFactory(
                authority.issue_server_certificate().options(), False, factory
            )
        # The tracker wraps TLS rather than the other way round: autobahn wants to see the
        # TLS protocol itself as the transport of a wss:// connection.
        self.tracker = ConnectionTracker(factory)

    @property
    def factory(self) -> IProtocolFactory:
        """The protocol factory to listen with."""
        return self.tracker


def fake_endpoints(host: str, port: int, tls: bool) -> Endpoints:
    """Every URL of a fake served at ``host:port``; the WS-API and futures fields point there."""
    ws, http = ("wss", "https") if tls else ("ws", "http")
    stream_url, rest_url = f"{ws}://{host}:{port}", f"{http}://{host}:{port}"
    return Endpoints(
        name="fake",
        stream_url=stream_url,
        ws_api_url=f"{stream_url}/ws-api/v3",
        rest_url=rest_url,
        futures_stream_url=stream_url,
        futures_ws_api_url=f"{stream_url}/ws-fapi/v1",
        futures_rest_url=rest_url,
        coin_futures_stream_url=stream_url,
        coin_futures_rest_url=rest_url,
        portfolio_margin_rest_url=rest_url,
        portfolio_margin_stream_url=f"{stream_url}/pm",
        margin_risk_stream_url=stream_url,
    )


class Root(Resource):
    """Stream paths go to the stream resource, WebSocket API ones to its own, the rest to REST.

    Stream paths start with ``/ws``, ``/stream``, a futures route (``/public``, …) or
    ``/pm``; WebSocket API paths with ``/ws-api`` or ``/ws-fapi``. Each WebSocket resource
    parses the whole path, and refuses a bad one such as ``/public/nope``.
    """

    _STREAM_HEADS = frozenset(name.encode() for name in ("ws", "stream", "pm", *ROUTES))
    _WS_API_HEADS = frozenset({b"ws-api", b"ws-fapi"})

    def __init__(self, streams: IResource, ws_api: IResource, rest: IResource) -> None:
        super().__init__()
        self._streams = streams
        self._ws_api = ws_api
        self._rest = rest

    def getChild(self, path: bytes, request: Request) -> IResource:
        if path in self._STREAM_HEADS:
            return self._streams
        return self._ws_api if path in self._WS_API_HEADS else self._rest


class ConnectionTracker(WrappingFactory):
    """Knows every open connection, HTTP or WebSocket, so stop() can end them all."""

    noisy = False

    def __init__(self, factory: IProtocolFactory) -> None:
        super().__init__(factory)
        self._idle: list[Deferred[None]] = []

    def unregisterProtocol(self, p: Protocol) -> None:
        super().unregisterProtocol(p)
        if not self.protocols:
            waiting, self._idle = self._idle, []
            for idle in waiting:
                idle.callback(None)

    def abort_all(self) -> None:
        """Abort every connection still open."""
        for wrapper in list(self.protocols):
            wrapper.transport.abortConnection()

    def idle(self) -> Deferred[None]:
        """Fires once no connection is open."""
        if not self.protocols:
            return succeed(None)
        idle: Deferred[None] = Deferred()
        self._idle.append(idle)
        return idle
