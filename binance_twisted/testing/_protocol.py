"""One server-side market-stream connection of the fake: handshake, control frames, limits.

Shared state (subscriptions, the log, faults that span connections) lives in the hub, the
:class:`~binance_twisted.testing.FakeBinance` that owns the factory; this module only knows
the hub through the :class:`Hub` protocol, so it does not import the server module.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, Protocol

import attrs
from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from autobahn.websocket.types import ConnectionDeny
from twisted.internet.interfaces import IDelayedCall, IPushProducer, IReactorTime

from binance_twisted._json import dumps
from binance_twisted.testing._control import (
    INVALID_STREAM,
    ControlError,
    Request,
    decode,
    error_frame,
    result_frame,
)
from binance_twisted.testing._limits import Heartbeat, RateWindow
from binance_twisted.testing._names import BadURL, parse_url
from binance_twisted.testing._subscriptions import Subscriptions

__all__ = ["ConnectionPolicy", "Hub", "StreamConnection", "StreamFactory"]

_FRAME_EXCERPT = 200


@attrs.frozen
class ConnectionPolicy:
    """What the server enforces on every connection (see :class:`FakeBinance`)."""

    ping_interval: float | None
    pong_timeout: float | None
    max_incoming_rate: int | None
    max_streams: int
    lifetime: float | None
    close_on_invalid_stream: bool


class Hub(Protocol):
    """The server-wide state a connection reports to."""

    reactor: IReactorTime
    policy: ConnectionPolicy
    subscriptions: Subscriptions[StreamConnection]
    stalled: bool

    def record(
        self, kind: str, connection: StreamConnection | None, detail: dict[str, Any]
    ) -> None:
        """Append to the fake's log."""

    def take_refusal(self) -> int | None:
        """The HTTP status for the next upgrade if it is to be refused."""

    def opened(self, connection: StreamConnection) -> None:
        """Register a new open connection, giving it its ``id`` and ``connected_at``."""

    def closed(self, connection: StreamConnection) -> None:
        """Forget a connection that has gone."""


class StreamConnection(WebSocketServerProtocol):
    """A client connected to ``/ws…`` or ``/stream…``, possibly after a futures route.

    Public attributes: ``id`` (increasing from 1), ``path`` (the request URI), ``route``
    (``None`` on the Spot paths, else the USD-M futures route the path started with:
    ``"public"``, ``"market"`` or ``"private"``), ``combined`` (payloads wrapped as
    ``{"stream", "data"}``; ``SET_PROPERTY`` changes it), ``connected_at`` (reactor seconds),
    :attr:`streams` and :meth:`close`.
    """

    factory: StreamFactory

    id = 0
    path = ""
    route: str | None = None
    combined = False
    connected_at = 0.0
    _abort_reason: str | None = None
    _heartbeat: Heartbeat | None = None
    _lifetime_call: IDelayedCall | None = None

    @property
    def hub(self) -> Hub:
        """The fake this connection belongs to."""
        return self.factory.hub

    @property
    def streams(self) -> list[str]:
        """Subscribed stream names, in subscription order."""
        return self.hub.subscriptions.streams(self)

    # -- lifecycle ----------------------------------------------------------------------

    def onConnect(self, request: Any) -> None:
        hub = self.hub
        self.path = self.http_request_uri
        refusal = hub.take_refusal()
        try:
            if refusal is not None:
                raise BadURL(refusal, HTTPStatus(refusal).phrase)
            self.route, self.combined, self._initial_streams = parse_url(self.path)
            if len(self._initial_streams) > hub.policy.max_streams:
                raise BadURL(400, f"More than {hub.policy.max_streams} streams")
        except BadURL as e:
            hub.record("refused", None, {"status": e.status, "reason": e.reason, "path": self.path})
            raise ConnectionDeny(e.status, e.reason) from None

    def onOpen(self) -> None:
        hub = self.hub
        self._rate = RateWindow(hub.reactor, hub.policy.max_incoming_rate)
        self._heartbeat = Heartbeat(
            hub.reactor,
            hub.policy.ping_interval,
            hub.policy.pong_timeout,
            self._send_ping,
            self._pong_timeout,
        )
        hub.opened(self)
        hub.subscriptions.add(self, self._initial_streams)
        if not hub.stalled:
            self._heartbeat.start()
        if hub.policy.lifetime is not None:
            self._lifetime_call = hub.reactor.callLater(hub.policy.lifetime, self._expire)

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        if self._heartbeat is not None:
            self._heartbeat.stop()
        for call in (self._lifetime_call, self.closeHandshakeTimeoutCall):
            if call is not None and call.active():
                call.cancel()
        self._lifetime_call = self.closeHandshakeTimeoutCall = None
        if not self.id:
            return  # refused during the handshake: never registered
        if self.closedByMe:
            by, code = "server", self.localCloseCode
            reason = (self.localCloseReason or b"").decode("utf-8", "replace")
        elif self._abort_reason is not None:
            by, code, reason = "server", 1006, self._abort_reason
        else:
            by = "client"
        self.hub.record(
            "close", self, {"code": code, "reason": reason, "by": by, "clean": wasClean}
        )
        self.hub.closed(self)

    # -- what the hub and users call ----------------------------------------------------

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake; any code is allowed (1008 included)."""
        if self.state == self.STATE_OPEN:
            self.sendCloseFrame(code=code, reasonUtf8=reason.encode("utf-8"), isReply=False)

    def abort(self, reason: str) -> None:
        """Drop the TCP connection at once, without a close frame."""
        if self._abort_reason is None:
            self._abort_reason = reason
        self.dropConnection(abort=True)

    def send(self, payload: bytes, binary: bool = False) -> bool:
        """Send one message unless the connection is closing or the server is stalled."""
        if self.state != self.STATE_OPEN or self.hub.stalled:
            return False
        self.sendMessage(payload, isBinary=binary)
        return True

    def suspend_heartbeat(self) -> None:
        """No pings and no pong deadline until :meth:`resume_heartbeat`."""
        if self._heartbeat is not None:
            self._heartbeat.stop()

    def resume_heartbeat(self) -> None:
        """Ping again from now on."""
        if self._heartbeat is not None:
            self._heartbeat.start()

    def pause_reading(self, paused: bool) -> None:
        """Stop (or resume) reading from the socket, as a slow server would."""
        producer = IPushProducer(self.transport)
        if paused:
            producer.pauseProducing()
        else:
            producer.resumeProducing()

    # -- incoming frames ----------------------------------------------------------------

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        if not self._admit("binary" if isBinary else "text"):
            return
        try:
            request = decode(payload)
            self.hub.record("request", self, request.message)
            result = self._execute(request)
        except ControlError as error:
            self._reject(error, payload)
        else:
            self.send(dumps(result_frame(result, request.id)))

    def onPing(self, payload: bytes) -> None:
        if self._admit("ping") and not self.hub.stalled:
            self.sendPong(payload)

    def onPong(self, payload: bytes) -> None:
        if not self._admit("pong"):
            return
        assert self._heartbeat is not None
        answered = self._heartbeat.pong(payload)
        self.hub.record("pong", self, {"payload": _text(payload), "answered": answered})

    def _admit(self, kind: str) -> bool:
        """Count an incoming frame against the rate limit; close on the one too many."""
        if self.state != self.STATE_OPEN:
            return False
        if self._rate.admit():
            return True
        self.hub.record(
            "rate-limit", self, {"frame": kind, "limit": self.hub.policy.max_incoming_rate}
        )
        self.close(1008, "Too many requests")
        return False

    def _execute(self, request: Request) -> Any:
        subscriptions = self.hub.subscriptions
        if request.method == "SUBSCRIBE":
            total = subscriptions.count_with(self, request.params)
            limit = self.hub.policy.max_streams
            if total > limit:
                msg = f"Invalid request: too many streams ({total}; at most {limit} per connection)"
                raise ControlError(2, msg, request.id, has_id=True)
            subscriptions.add(self, request.params)
        elif request.method == "UNSUBSCRIBE":
            subscriptions.remove(self, request.params)
        elif request.method == "LIST_SUBSCRIPTIONS":
            return self.streams
        elif request.method == "SET_PROPERTY":
            self.combined = request.params[1]
        else:  # GET_PROPERTY
            return self.combined
        return None

    def _reject(self, error: ControlError, payload: bytes) -> None:
        frame = _text(payload[:_FRAME_EXCERPT])
        self.hub.record("invalid", self, {"code": error.code, "msg": error.msg, "frame": frame})
        self.send(dumps(error_frame(error)))
        if error.msg == INVALID_STREAM and self.hub.policy.close_on_invalid_stream:
            self.close(1008, "Invalid request")

    # -- timers -------------------------------------------------------------------------

    def _send_ping(self, payload: bytes) -> None:
        self.hub.record("ping", self, {"payload": _text(payload)})
        self.sendPing(payload)

    def _pong_timeout(self) -> None:
        self.hub.record("pong-timeout", self, {"timeout": self.hub.policy.pong_timeout})
        self.abort("pong timeout")

    def _expire(self) -> None:
        self._lifetime_call = None
        self.hub.record("lifetime", self, {"lifetime": self.hub.policy.lifetime})
        self.close(1000)


def _text(payload: bytes) -> str:
    return payload.decode("utf-8", "replace")


class StreamFactory(WebSocketServerFactory):
    """Builds :class:`StreamConnection` objects for one hub."""

    protocol = StreamConnection  # type: ignore[assignment]

    def __init__(self, hub: Hub) -> None:
        super().__init__(reactor=hub.reactor)
        self.hub = hub
        self.setProtocolOptions(webStatus=False)
