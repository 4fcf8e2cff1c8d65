"""Server-side WebSocket connections of the fake: the shared base, and market streams.

:class:`Connection` is what every WebSocket connection of the fake shares, whatever it
serves: the id and the log, server pings and the pong deadline, the incoming-frame rate
limit, the lifetime, stalls, aborts and slow reading. :class:`StreamConnection` adds the
market and listen-key streams (``/ws…``, ``/stream…``, the futures routes, ``/pm``); the
WebSocket API connection in :mod:`binance_twisted.testing._wsapi` adds requests.

Shared state (subscriptions, the log, faults that span connections) lives in the hub, the
fake's :class:`~binance_twisted.testing._state.ServerState`; this module only knows the hub
through the :class:`Hub` protocol, so it does not import the server module. The fake's own
timers (pings, pong deadlines, lifetimes, rate windows) run on the hub's ``clock``; autobahn's
handshake timers run on the factory's reactor, with the sockets (:class:`ReactorTimer`).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, Protocol

from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from autobahn.websocket.types import ConnectionDeny
from twisted.internet.interfaces import IDelayedCall, IPushProducer, IReactorTime

from binance_twisted._json import dumps
from binance_twisted.testing._auth import redact_text
from binance_twisted.testing._control import (
    INVALID_STREAM,
    ControlError,
    Request,
    decode,
    error_frame,
    result_frame,
)
from binance_twisted.testing._limits import ConnectionPolicy, Heartbeat, RateWindow
from binance_twisted.testing._names import BadURL, parse_connection_url
from binance_twisted.testing._state import Peer
from binance_twisted.testing._subscriptions import Subscriptions

__all__ = [
    "Connection",
    "ConnectionFactory",
    "ConnectionPolicy",
    "Hub",
    "ReactorTimer",
    "StreamConnection",
]

_FRAME_EXCERPT = 200


class Hub(Protocol):
    """The server-wide state a connection reports to."""

    clock: IReactorTime
    policy: ConnectionPolicy
    subscriptions: Subscriptions[Peer]
    listeners: Subscriptions[Any]
    stalled: bool

    def record(self, kind: str, connection: Connection | None, detail: dict[str, Any]) -> None:
        """Append to the fake's log."""

    def take_refusal(self) -> int | None:
        """The HTTP status for the next upgrade if it is to be refused."""

    def opened(self, connection: Connection) -> None:
        """Register a new open connection, giving it its ``id`` and ``connected_at``."""

    def closed(self, connection: Connection) -> None:
        """Forget a connection that has gone."""

    def listen_key_serves(self, key: str, route: str | None) -> bool:
        """Whether ``key`` is a live listen key of a product served on ``route``."""


class Connection(WebSocketServerProtocol):
    """What every WebSocket connection of the fake has, whatever it serves.

    Public attributes: ``id`` (increasing from 1), ``service`` (``"stream"`` or
    ``"ws-api"``), ``path`` (the request URI), ``route``, ``combined``, ``connected_at``
    (clock seconds), :attr:`streams` and :meth:`close`. Subclasses parse the URL in
    :meth:`accept` and handle text/binary frames in :meth:`handle_message`.
    """

    factory: ConnectionFactory

    service = ""
    #: Binance's 5 incoming frames per second apply to market-stream connections; the
    #: WebSocket API limits request weight instead (binance-platform.md §2)
    rate_limited = True
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
        """Subscribed market stream names, in subscription order."""
        return self.hub.subscriptions.streams(self)

    # -- what subclasses provide ----------------------------------------------------------

    def accept(self) -> None:
        """Read :attr:`path` into the connection's settings, or raise :class:`BadURL`."""
        raise NotImplementedError

    def opening(self) -> None:
        """Called once the connection is registered (it has its ``id``)."""

    def closing(self) -> None:
        """Called when the connection has gone, before the hub forgets it."""

    def handle_message(self, payload: bytes, isBinary: bool) -> None:
        """One admitted text or binary frame."""
        raise NotImplementedError

    # -- lifecycle ----------------------------------------------------------------------

    def onConnect(self, request: Any) -> None:
        hub = self.hub
        self.path = self.http_request_uri
        refusal = hub.take_refusal()
        try:
            if refusal is not None:
                raise BadURL(refusal, HTTPStatus(refusal).phrase)
            self.accept()
        except BadURL as e:
            detail = {"status": e.status, "reason": e.reason, "path": redact_text(self.path)}
            hub.record("refused", None, detail)
            raise ConnectionDeny(e.status, e.reason) from None

    def onOpen(self) -> None:
        hub = self.hub
        limit = hub.policy.max_incoming_rate if self.rate_limited else None
        self._rate = RateWindow(hub.clock, limit)
        self._heartbeat = Heartbeat(
            hub.clock,
            hub.policy.ping_interval,
            hub.policy.pong_timeout,
            self._send_ping,
            self._pong_timeout,
        )
        hub.opened(self)
        self.opening()
        if not hub.stalled:
            self._heartbeat.start()
        if hub.policy.lifetime is not None:
            self._lifetime_call = hub.clock.callLater(hub.policy.lifetime, self._expire)

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        if self._heartbeat is not None:
            self._heartbeat.stop()
        for call in (self._lifetime_call, self.closeHandshakeTimeoutCall):
            if call is not None and call.active():
                call.cancel()
        self._lifetime_call = self.closeHandshakeTimeoutCall = None
        if not self.id:
            return  # refused during the handshake: never registered
        self.closing()
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
        if self._admit("binary" if isBinary else "text"):
            self.handle_message(payload, isBinary)

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


class StreamConnection(Connection):
    """A client connected to ``/ws…`` or ``/stream…``, after a futures route or ``/pm``.

    On top of :class:`Connection`: ``route`` (``None`` on the Spot paths, else the USD-M
    futures route the path started with, ``"public"``, ``"market"`` or ``"private"``, or
    ``"pm"`` for portfolio margin), ``combined`` (payloads wrapped as ``{"stream", "data"}``;
    ``SET_PROPERTY`` changes it), :attr:`listen_keys` and ``events`` (the ``events=`` filter
    of a listen-key URL, or ``None``).
    """

    service = "stream"
    events: frozenset[str] | None = None

    @property
    def listen_keys(self) -> list[str]:
        """The live listen keys this connection receives user data for."""
        return self.hub.listeners.streams(self)

    def accept(self) -> None:
        url = parse_connection_url(self.path)
        self.route, self.combined, self.events = url.route, url.combined, url.events
        self._initial_streams, self._initial_keys = url.streams, url.listen_keys
        if len(url.streams) > self.hub.policy.max_streams:
            raise BadURL(400, f"More than {self.hub.policy.max_streams} streams")
        for key in url.listen_keys:
            if not self.hub.listen_key_serves(key, url.route):
                raise BadURL(400, "Invalid listenKey")

    def opening(self) -> None:
        self.hub.subscriptions.add(self, self._initial_streams)
        self.hub.listeners.add(self, self._initial_keys)

    def handle_message(self, payload: bytes, isBinary: bool) -> None:
        try:
            request = decode(payload)
            self.hub.record("request", self, request.message)
            result = self._execute(request)
        except ControlError as error:
            self._reject(error, payload)
        else:
            self.send(dumps(result_frame(result, request.id)))

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
        frame = redact_text(_text(payload[:_FRAME_EXCERPT]))
        self.hub.record("invalid", self, {"code": error.code, "msg": error.msg, "frame": frame})
        self.send(dumps(error_frame(error)))
        if error.msg == INVALID_STREAM and self.hub.policy.close_on_invalid_stream:
            self.close(1008, "Invalid request")


class ConnectionFactory(WebSocketServerFactory):
    """Builds connections of one class for one hub, with autobahn's timers on ``reactor``."""

    def __init__(self, hub: Hub, protocol: type[Connection], reactor: IReactorTime) -> None:
        super().__init__(reactor=reactor)
        self._batched_timer = ReactorTimer(reactor)
        self.hub = hub
        self.protocol = protocol
        self.setProtocolOptions(webStatus=False)


class ReactorTimer:
    """autobahn's per-factory timer (``factory._batched_timer``) on a reactor of our choice.

    autobahn schedules handshake and close timeouts through txaio, on the global reactor
    whatever reactor the factory was given; with this timer they run on ``reactor``, so an
    in-memory reactor sees every timer of its connections and the global one sees none.
    """

    def __init__(self, reactor: IReactorTime) -> None:
        self._reactor = reactor

    def call_later(self, delay: float, func: Any, *args: Any, **kwargs: Any) -> TimerCall:
        """Run ``func(*args, **kwargs)`` in ``delay`` seconds; the call can be cancelled."""
        return TimerCall(self._reactor.callLater(delay, func, *args, **kwargs))


class TimerCall:
    """A scheduled call whose ``cancel()`` may come late or twice, as autobahn's may."""

    def __init__(self, call: IDelayedCall) -> None:
        self._call = call

    def active(self) -> bool:
        """Whether the call is still to run."""
        return bool(self._call.active())

    def cancel(self) -> None:
        """Cancel it if it has not run yet."""
        if self._call.active():
            self._call.cancel()
