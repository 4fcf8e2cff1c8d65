"""One logical stream connection: a set of streams kept flowing on one WebSocket at a time.

A :class:`StreamConnection` survives what Binance does to sockets:

* drops and refused handshakes: Twisted's ``ReconnectingClientFactory`` retries with
  jittered exponential backoff; the delay resets only after a *healthy* period, so a server
  that accepts and immediately drops does not get hammered;
* silent stalls: a watchdog drops a session that received nothing (no data, no server ping)
  for ``stall_timeout`` seconds; Binance pings every 20 s, so a live socket is never silent
  that long, while a half-open one is;
* the 24 h limit and ``serverShutdown``: a replacement session is opened and subscribed
  first, streams are switched over, then the old session is closed (make-before-break).
  For streams with sequence ids (trade ``t``, aggTrade ``a``, depth ``U``/``u``) the switch
  waits until both sessions overlap, so nothing is lost or delivered twice;
* the 5 msg/s limit: SUBSCRIBE/UNSUBSCRIBE go through a :class:`~binance_twisted.pacing.Pacer`,
  batched, and the first streams ride in the URL so most reconnects send no control message.

It knows nothing about threads; the client above it plans which streams go where.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from typing import Any

import attrs
from autobahn.twisted.websocket import connectWS
from autobahn.websocket.protocol import WebSocketProtocol
from twisted.internet import defer
from twisted.internet._sslverify import IOpenSSLTrustRoot
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.python.failure import Failure

from binance_twisted._json import dumps
from binance_twisted.endpoints import combined_stream_url
from binance_twisted.errors import (
    ClientClosedError,
    ConnectionGaveUpError,
    NotConnectedError,
    StreamRequestError,
)
from binance_twisted.events import ConnectionEvent, EventKind
from binance_twisted.pacing import Pacer
from binance_twisted.protocol import SessionFactory, StreamProtocol
from binance_twisted.stats import ConnectionStats
from binance_twisted.tls import client_tls_options, describe_tls_failure

__all__ = ["ConnectionPolicy", "Route", "StreamConnection", "sequence_ids"]

log = Logger(namespace="binance_twisted.connection")

Route = tuple[Callable[..., Any], bool, object]
"""``(callback, wants_envelope, owner)``: ``callback(stream, data)``, or ``callback(envelope)``
when ``wants_envelope``; ``owner`` names the subscriber in error logs."""

_SEQUENCED_KINDS = frozenset({"trade", "aggTrade", "depth"})
_SERVER_SHUTDOWN = "!serverShutdown"


def _positive(instance: object, attribute: attrs.Attribute, value: float | None) -> None:
    if value is not None and not value > 0:
        raise ValueError(f"{attribute.name} must be a positive number, got {value!r}")


def _retries(instance: object, attribute: attrs.Attribute, value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ValueError(f"max_retries must be None (retry forever) or an int >= 0, got {value!r}")


@attrs.frozen
class ConnectionPolicy:
    """How a connection retries, watches and rotates. Defaults suit Binance Spot in 2026."""

    #: consecutive failed attempts before giving up; ``None`` retries forever
    max_retries: int | None = attrs.field(default=None, validator=_retries)
    #: first retry delay (jittered); Twisted's factor grows it up to ``max_delay``
    initial_delay: float = attrs.field(default=0.25, validator=_positive)
    max_delay: float = attrs.field(default=30.0, validator=_positive)
    backoff_factor: float = attrs.field(default=2.0, validator=_positive)
    #: each retry delay is multiplied by a uniform factor in ``1 ± jitter``
    jitter: float = attrs.field(default=0.2)

    @jitter.validator
    def _check_jitter(self, attribute: attrs.Attribute, value: float) -> None:
        if not 0 <= value < 1:
            raise ValueError(f"jitter must be in [0, 1), got {value!r}")

    #: seconds a session must stay open before the backoff resets
    healthy_after: float = attrs.field(default=30.0, validator=_positive)
    #: drop a session that received nothing (data or ping) for this long; ``None`` disables
    stall_timeout: float | None = attrs.field(default=60.0, validator=_positive)
    #: rotate make-before-break after this long (Binance ends sessions at 24 h); ``None`` disables
    rotate_after: float | None = attrs.field(default=23 * 3600.0, validator=_positive)
    #: longest a rotation waits for sequenced streams to overlap before switching anyway
    handover_timeout: float = attrs.field(default=10.0, validator=_positive)
    #: control messages per second (Binance closes at more than 5, pongs included)
    control_rate: float = attrs.field(default=4.0, validator=_positive)
    max_streams: int = attrs.field(default=1024, validator=_positive)
    max_url_length: int = attrs.field(default=2000, validator=_positive)
    max_request_length: int = attrs.field(default=8000, validator=_positive)
    #: seconds for TCP, TLS and the WebSocket handshake; at least 1 (autobahn's timers
    #: round deadlines down to whole seconds, so shorter values would fire at once)
    open_timeout: float = attrs.field(default=10.0)

    @open_timeout.validator
    def _check_open_timeout(self, attribute: attrs.Attribute, value: float) -> None:
        if not value >= 1:
            raise ValueError(f"open_timeout must be at least 1 second, got {value!r}")

    def __attrs_post_init__(self) -> None:
        if self.control_rate > 5:
            raise ValueError(
                f"control_rate must be at most 5 messages per second, got {self.control_rate}"
            )


def sequence_ids(data: Any) -> tuple[int, int] | None:
    """``(first, last)`` update ids of a payload that carries them, else ``None``.

    Spot depth continuity is ``U == previous u + 1``; futures depth says it with ``pu``
    (previous ``u``), so its ``first`` is ``pu + 1``.
    """
    if type(data) is not dict:
        return None
    kind = data.get("e")
    try:
        if kind == "trade":
            return int(data["t"]), int(data["t"])
        if kind == "aggTrade":
            return int(data["a"]), int(data["a"])
        if kind == "depthUpdate":
            last = int(data["u"])
            previous = data.get("pu")
            if previous is not None:
                return int(previous) + 1, last
            return int(data["U"]), last
    except (KeyError, TypeError, ValueError):
        return None
    return None


def _is_sequenced(stream: str) -> bool:
    parts = stream.split("@", 2)
    return len(parts) > 1 and parts[1] in _SEQUENCED_KINDS


def _drop(stream: str, data: Any, envelope: dict) -> None:
    """``deliver`` of a session whose messages nobody wants (not open yet, or retired)."""


@attrs.define
class _Waiter:
    streams: set[str]
    deferred: defer.Deferred


class _Throttle:
    """At most one log line per ``period`` seconds per key, counting what it swallowed."""

    def __init__(self, clock: IReactorTime, period: float = 10.0) -> None:
        self._clock = clock
        self._period = period
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def allow(self, key: str) -> int | None:
        """``None`` to stay quiet, else how many were suppressed since the last line."""
        now = self._clock.seconds()
        if now - self._last.get(key, float("-inf")) < self._period:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return None
        self._last[key] = now
        return self._suppressed.pop(key, 0)


class StreamConnection:
    """A set of streams on one WebSocket at a time, kept alive across everything above."""

    def __init__(
        self,
        reactor: IReactorTime,
        name: str,
        base_url: str,
        *,
        policy: ConnectionPolicy,
        trust_root: IOpenSSLTrustRoot,
        on_event: Callable[[ConnectionEvent], None],
    ) -> None:
        self.name = name
        self.policy = policy
        self.stats = ConnectionStats(url=base_url.rstrip("/"))
        self.streams: dict[str, None] = {}
        self.routes: dict[str, list[Route]] = {}
        self._reactor = reactor
        self._base = base_url.rstrip("/")
        self._trust_root = trust_root
        self._on_event = on_event
        self._factory: SessionFactory | None = None
        self._retired: list[SessionFactory] = []
        self._session: StreamProtocol | None = None
        self._rotation: _Rotation | None = None
        self._waiters: list[_Waiter] = []
        self._closers: list[defer.Deferred] = []
        self._attempt_streams: list[str] = []
        self._next_id = 1
        self._state = "idle"
        self._lost_at: float | None = None
        self._last_reason = "not connected yet"
        self._healthy_call: IDelayedCall | None = None
        self._rotate_call: IDelayedCall | None = None
        self._tail_call: IDelayedCall | None = None
        self._watchdog: LoopingCall | None = None
        self._throttle = _Throttle(reactor)

    def __repr__(self) -> str:
        return f"<StreamConnection {self.name} {self._state} streams={len(self.streams)}>"

    @property
    def state(self) -> str:
        """``idle``, ``running``, ``gave_up``, ``closing`` or ``closed``."""
        return self._state

    @property
    def connected(self) -> bool:
        """Whether a session is open right now."""
        return self._session is not None

    # -- what the client calls -------------------------------------------------------------

    def add_streams(self, streams: Iterable[str]) -> defer.Deferred:
        """Keep ``streams`` subscribed; the Deferred fires once the server confirmed them all."""
        if self._state in ("closing", "closed"):
            return defer.fail(ClientClosedError(f"{self.name} is closed"))
        if self._state == "gave_up":
            return defer.fail(ConnectionGaveUpError(self.name, 0, self._last_reason))
        wanted = list(dict.fromkeys(streams))
        new = [s for s in wanted if s not in self.streams]
        if len(self.streams) + len(new) > self.policy.max_streams:
            raise ValueError(
                f"{self.name} would carry {len(self.streams) + len(new)} streams; "
                f"the limit per connection is {self.policy.max_streams}"
            )
        for stream in new:
            self.streams[stream] = None
        self.stats.streams = len(self.streams)
        for session in self._live_sessions():
            self._subscribe(session, new)
        waiter = _Waiter(set(wanted), defer.Deferred())
        self._waiters.append(waiter)
        if self._state == "idle":
            self._start()
        else:
            self._check_waiters()
        return waiter.deferred

    def remove_streams(self, streams: Iterable[str]) -> defer.Deferred:
        """Stop ``streams``; the Deferred fires when the server confirmed (or at once if idle)."""
        gone = [s for s in dict.fromkeys(streams) if s in self.streams]
        for stream in gone:
            del self.streams[stream]
            self.routes.pop(stream, None)
        self.stats.streams = len(self.streams)
        for waiter in self._waiters:
            waiter.streams.difference_update(gone)
        self._check_waiters()
        result: defer.Deferred = defer.succeed(None)
        for session in self._live_sessions():
            on_session = [s for s in gone if s in session.confirmed or s in session.requested]
            if on_session:
                d = self._request(session, "UNSUBSCRIBE", on_session)
                if session is self._session:
                    result = d
                else:
                    d.addErrback(lambda _: None)
        return result

    def request(self, method: str, params: list | None = None) -> defer.Deferred:
        """Send a control message on the open session; fires with the ``result``."""
        if self._session is None:
            return defer.fail(NotConnectedError(f"{self.name} has no open session"))
        return self._request(self._session, method, params)

    def rotate(self, reason: str = "requested") -> None:
        """Replace the session make-before-break (no-op if one is already under way)."""
        if self._session is None or self._rotation is not None or self._state != "running":
            return
        log.info("{name}: rotating ({reason})", name=self.name, reason=reason)
        self._rotation = _Rotation(self, reason)

    def close(self) -> defer.Deferred:
        """Stop retrying, close every session; fires when all sockets are gone."""
        if self._state == "closed":
            return defer.succeed(None)
        d: defer.Deferred = defer.Deferred()
        self._closers.append(d)
        if self._state != "closing":
            self._state = "closing"
            self._stop_timers()
            if self._rotation is not None:
                self._rotation.cancel_deadline()
            self._fail_waiters(ClientClosedError(f"{self.name} was closed"))
            for factory in self._factories():
                factory.stopTrying()
                if factory.last_protocol is not None:
                    _close_session(factory.last_protocol)
            self._maybe_closed()
        return d

    # -- what the protocol and factory call ------------------------------------------------

    def url_for_attempt(self) -> str:
        """The URL of the next attempt: ``/stream``, with as many streams as fit in the URL."""
        chosen: list[str] = []
        for stream in self.streams:  # stops at the first that does not fit (~80 streams)
            if len(combined_stream_url(self._base, [*chosen, stream])) > self.policy.max_url_length:
                break
            chosen.append(stream)
        self._attempt_streams = chosen
        return combined_stream_url(self._base, chosen)

    def prepare_session(self, factory: SessionFactory, proto: StreamProtocol) -> None:
        """Wire a freshly built protocol to this connection (before its handshake)."""
        proto.owner = self
        proto.stats = self.stats
        proto.seconds = self._reactor.seconds
        proto.deliver = _drop
        proto.url_streams = self._attempt_streams
        proto.pacer = Pacer(self._reactor, self.policy.control_rate, _sender(proto))

    def session_opened(self, proto: StreamProtocol) -> None:
        """The handshake succeeded: subscribe what the URL did not carry, then go live."""
        factory = proto.factory
        now = self._reactor.seconds()
        proto.opened_at = now
        proto.confirmed = {s for s in proto.url_streams if s in self.streams}
        is_candidate = self._rotation is not None and factory is self._rotation.factory
        if self._state != "running" or not (is_candidate or factory is self._factory):
            _close_session(proto)
            return
        self._subscribe(proto, [s for s in self.streams if s not in proto.confirmed])
        if self._rotation is not None and is_candidate:
            self._rotation.candidate_opened(proto)
        else:
            self._go_live(proto, now)

    def session_lost(
        self, factory: SessionFactory, proto: StreamProtocol | None, failure: Failure
    ) -> None:
        """A session ended or an attempt failed: report it and decide what comes next."""
        reason = _describe(proto, failure)
        self._last_reason = reason
        if proto is not None:
            proto.pacer.stop()
            proto.deliver = _drop
            _fail_requests(proto, NotConnectedError(f"{self.name}: connection lost: {reason}"))
        if self._rotation is not None and factory is self._rotation.factory:
            self._rotation.candidate_lost(reason)
        elif factory is self._factory:
            self._current_lost(factory, proto, reason)
        self._maybe_closed()

    def response_received(self, proto: StreamProtocol, message: dict) -> None:
        """A reply to a control message, matched to its request by ``id``."""
        entry = proto.pending.pop(message.get("id"), None)  # type: ignore[arg-type]
        error = message.get("error")
        if error is None and "code" in message and "result" not in message:
            error = message
        if entry is None:
            if error is not None:
                self._report_error(f"unmatched error frame: {error}", _code(error))
            return
        method, params, deferred = entry
        if error is not None:
            failure = StreamRequestError(_code(error), str(error.get("msg", error)), method)
            if method == "SUBSCRIBE":
                self._reject(params, failure)
            deferred.errback(failure)
            return
        if method == "SUBSCRIBE":
            proto.requested.difference_update(params)
            proto.confirmed.update(s for s in params if s in self.streams)
            if self._rotation is not None and proto is self._rotation.candidate:
                self._rotation.streams_confirmed(params)
            self._check_waiters()
        elif method == "UNSUBSCRIBE":
            proto.requested.difference_update(params)
            proto.confirmed.difference_update(params)
        deferred.callback(message.get("result"))

    def decode_failed(self, proto: StreamProtocol, payload: bytes | None) -> None:
        """An undecodable frame: counted, logged at a sane rate, reported; the session goes on."""
        self.stats.decode_errors += 1
        size = len(payload) if payload else 0
        self._report_error(f"undecodable frame of {size} bytes dropped", None, key="decode")

    def unwrapped_message(self, proto: StreamProtocol, message: Any) -> None:
        """A payload without the combined-stream wrapper: only ``serverShutdown`` is expected."""
        if type(message) is dict and message.get("e") == "serverShutdown":
            if proto is self._session:
                self.rotate("serverShutdown")
            return
        self._report_error("unexpected message without a stream name dropped", None, key="raw")

    def dispatch(self, stream: str, data: Any, envelope: dict) -> None:
        """Hand one payload to every route of ``stream``; a raising callback is contained."""
        routes = self.routes.get(stream)
        if routes is None:
            if stream == _SERVER_SHUTDOWN:
                self.rotate("serverShutdown")
            return
        for callback, wants_envelope, owner in routes:
            try:
                if wants_envelope:
                    callback(envelope)
                else:
                    callback(stream, data)
            except Exception:
                self._callback_failed(stream, owner)

    # -- internals ---------------------------------------------------------------------------

    def _start(self) -> None:
        self._state = "running"
        self._factory = self._new_factory()
        self._connect(self._factory)

    def _new_factory(self) -> SessionFactory:
        policy = self.policy
        factory = SessionFactory(self, self.url_for_attempt(), self._reactor)
        factory.initialDelay = factory.delay = policy.initial_delay
        factory.maxDelay = policy.max_delay  # type: ignore[assignment]
        factory.factor = policy.backoff_factor
        factory.spread = policy.jitter
        factory.maxRetries = policy.max_retries  # type: ignore[assignment]
        factory.setProtocolOptions(
            utf8validateIncoming=False,
            openHandshakeTimeout=policy.open_timeout,
            closeHandshakeTimeout=5,
            autoPingInterval=0,
        )
        return factory

    def _connect(self, factory: SessionFactory) -> None:
        tls = None
        if factory.isSecure:
            tls = client_tls_options(factory.host, self._trust_root)
        elif not _is_loopback(factory.host):
            log.warn(
                "{name}: plain ws:// to {host}: traffic is not encrypted",
                name=self.name,
                host=factory.host,
            )
        connectWS(factory, tls, timeout=self.policy.open_timeout)

    def _go_live(self, proto: StreamProtocol, now: float) -> None:
        self._session = proto
        proto.deliver = self.dispatch
        stats = self.stats
        stats.connected = True
        stats.connected_since = now
        if stats.connects == 0:
            stats.connects = 1
            self._emit(EventKind.CONNECTED)
        else:
            stats.reconnects += 1
            gap = now - self._lost_at if self._lost_at is not None else None
            self._emit(EventKind.RECONNECTED, gap=gap)
        self._arm_timers(proto)
        self._check_waiters()

    def _current_lost(
        self, factory: SessionFactory, proto: StreamProtocol | None, reason: str
    ) -> None:
        if proto is not None and proto is self._session:
            self._session = None
            self._lost_at = self._reactor.seconds()
            self.stats.connected = False
            self._stop_timers()
            if self._state == "closing":
                reason = "closed by the client"
            self._emit(EventKind.DISCONNECTED, reason=reason)
        if self._state != "running":
            return
        if self._rotation is not None:
            self._rotation.old_lost()
            return
        factory.retry()
        if factory._callID is None:
            self._give_up(factory.retries, reason)
        else:
            delay = factory._callID.getTime() - self._reactor.seconds()
            log.info(
                "{name}: {reason}; retry {attempt} in {delay:.2f} s",
                name=self.name,
                reason=reason,
                attempt=factory.retries,
                delay=delay,
            )
            self._emit(EventKind.RECONNECTING, reason=reason, attempt=factory.retries, delay=delay)

    def _give_up(self, attempts: int, reason: str) -> None:
        self._state = "gave_up"
        log.error(
            "{name}: giving up after {attempts} failed attempts: {reason}",
            name=self.name,
            attempts=attempts,
            reason=reason,
        )
        self._emit(EventKind.GAVE_UP, reason=reason, attempt=attempts)
        self._fail_waiters(ConnectionGaveUpError(self.name, attempts, reason))

    def _arm_timers(self, proto: StreamProtocol) -> None:
        self._stop_timers()
        policy = self.policy
        factory = proto.factory
        self._healthy_call = self._reactor.callLater(policy.healthy_after, factory.resetDelay)
        if policy.rotate_after is not None:
            # spread rotations of many connections over the last 5 % of the window
            delay = policy.rotate_after * random.uniform(0.95, 1.0)
            self._rotate_call = self._reactor.callLater(delay, self._rotate_on_schedule)
        if policy.stall_timeout is not None:
            self._watchdog = LoopingCall(self._check_stall, proto)
            self._watchdog.clock = self._reactor
            self._watchdog.start(policy.stall_timeout / 4, now=False)

    def _stop_timers(self) -> None:
        for call in (self._healthy_call, self._rotate_call, self._tail_call):
            if call is not None and call.active():
                call.cancel()
        self._healthy_call = self._rotate_call = self._tail_call = None
        if self._watchdog is not None and self._watchdog.running:
            self._watchdog.stop()
        self._watchdog = None

    def _rotate_on_schedule(self) -> None:
        self._rotate_call = None
        self.rotate("lifetime")

    def _check_stall(self, proto: StreamProtocol) -> None:
        timeout = self.policy.stall_timeout
        assert timeout is not None
        now = self._reactor.seconds()
        last = max(self.stats.last_message_time or 0.0, proto.last_ping, proto.opened_at or 0.0)
        if now - last <= timeout or proto is not self._session:
            return
        self.stats.stalls += 1
        reason = f"nothing received for {now - last:.1f} s (stall timeout {timeout:g} s)"
        log.warn("{name}: {reason}; dropping the session", name=self.name, reason=reason)
        self._emit(EventKind.STALLED, reason=reason)
        proto.close_reason = f"stalled: {reason}"
        proto.dropConnection(abort=True)

    def _complete_rotation(self, rotation: _Rotation) -> None:
        """The candidate carries every stream now: make it current, retire the old session."""
        candidate = rotation.candidate
        assert candidate is not None
        old_factory = self._factory
        if old_factory is not None:
            old_factory.stopTrying()
            self._retired.append(old_factory)
        self._rotation = None
        self._factory = rotation.factory
        self._session = candidate
        rotation.old.deliver = _drop
        _close_session(rotation.old)
        self.stats.rotations += 1
        self.stats.connected = True
        self.stats.connected_since = candidate.opened_at
        self._emit(EventKind.ROTATED, reason=rotation.reason)
        self._arm_timers(candidate)
        if rotation.last_ids:
            # the candidate may still repeat what the old session delivered last
            self._tail_call = self._reactor.callLater(
                self.policy.handover_timeout, rotation.stop_filtering
            )
        else:
            candidate.deliver = self.dispatch
        self._check_waiters()

    def _abandon_rotation(self, rotation: _Rotation, reason: str) -> None:
        """The candidate failed: keep the old session and try again later."""
        self._rotation = None
        rotation.factory.stopTrying()
        self._retired.append(rotation.factory)
        if self._session is not None:
            self._session.deliver = self.dispatch
            log.warn(
                "{name}: rotation failed ({reason}); retrying in 60 s",
                name=self.name,
                reason=reason,
            )
            if self._rotate_call is not None and self._rotate_call.active():
                self._rotate_call.cancel()
            self._rotate_call = self._reactor.callLater(60.0, self._rotate_on_schedule)

    def _promote_candidate(self, rotation: _Rotation) -> None:
        """The old session died before the candidate opened: its lineage becomes current."""
        if self._factory is not None:
            self._factory.stopTrying()
            self._retired.append(self._factory)
        self._factory = rotation.factory
        self._rotation = None

    def _subscribe(self, proto: StreamProtocol, streams: list[str]) -> None:
        for chunk in _chunks(streams, self.policy.max_request_length):
            proto.requested.update(chunk)
            self._request(proto, "SUBSCRIBE", chunk).addErrback(lambda _: None)

    def _request(self, proto: StreamProtocol, method: str, params: list | None) -> defer.Deferred:
        request_id = self._next_id
        self._next_id += 1
        d: defer.Deferred = defer.Deferred()
        proto.pending[request_id] = (method, params, d)
        message: dict[str, Any] = {"method": method, "id": request_id}
        if params is not None:
            message["params"] = params
        proto.pacer.send(dumps(message))
        return d

    def _reject(self, streams: list[str], error: StreamRequestError) -> None:
        for stream in streams:
            self.streams.pop(stream, None)
        self.stats.streams = len(self.streams)
        rejected = set(streams)
        for waiter in list(self._waiters):
            if waiter.streams & rejected:
                self._waiters.remove(waiter)
                waiter.deferred.errback(error)
        self._report_error(f"{error} (streams: {', '.join(streams[:5])})", error.code)

    def _check_waiters(self) -> None:
        session = self._session
        if session is None or not self._waiters:
            return
        confirmed = session.confirmed
        ready = [w for w in self._waiters if w.streams <= confirmed]
        for waiter in ready:
            self._waiters.remove(waiter)
            waiter.deferred.callback(None)

    def _fail_waiters(self, error: Exception) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.deferred.errback(error)

    def _live_sessions(self) -> list[StreamProtocol]:
        sessions = [self._session] if self._session is not None else []
        if self._rotation is not None and self._rotation.candidate is not None:
            sessions.append(self._rotation.candidate)
        return sessions

    def _factories(self) -> list[SessionFactory]:
        factories = [f for f in (self._factory,) if f is not None] + self._retired
        if self._rotation is not None:
            factories.append(self._rotation.factory)
        return factories

    def _maybe_closed(self) -> None:
        self._retired = [f for f in self._retired if f.busy]
        if self._state != "closing" or any(f.busy for f in self._factories()):
            return
        self._state = "closed"
        closers, self._closers = self._closers, []
        for d in closers:
            d.callback(None)

    def _callback_failed(self, stream: str, owner: object) -> None:
        self.stats.callback_errors += 1
        suppressed = self._throttle.allow("callback")
        if suppressed is not None:
            log.failure(
                "{name}: callback of {owner!r} raised on a {stream} message "
                "({suppressed} similar errors not logged); the stream goes on",
                name=self.name,
                owner=owner,
                stream=stream,
                suppressed=suppressed,
            )

    def _report_error(self, reason: str, code: int | None, key: str = "error") -> None:
        suppressed = self._throttle.allow(key)
        if suppressed is None:
            return
        log.warn(
            "{name}: {reason} ({suppressed} similar not logged)",
            name=self.name,
            reason=reason,
            suppressed=suppressed,
        )
        self._emit(EventKind.ERROR, reason=reason, code=code)

    def _emit(self, kind: EventKind, **fields: Any) -> None:
        event = ConnectionEvent(kind, self.name, self._reactor.seconds(), **fields)
        try:
            self._on_event(event)
        except Exception:
            log.failure("{name}: event handler raised on {kind}", name=self.name, kind=kind.value)


class _Rotation:
    """Make-before-break handover from ``old`` to a candidate session, stream by stream.

    Until a stream is switched, the old session delivers it. A stream without sequence ids
    switches as soon as the candidate confirms it. A sequenced stream switches when the
    candidate's first buffered payload overlaps what the old one delivered (``first <=
    last + 1``); buffered payloads already delivered are dropped. When every stream has
    switched (or ``handover_timeout`` passes) the old session is closed.
    """

    def __init__(self, connection: StreamConnection, reason: str) -> None:
        assert connection._session is not None
        self.connection = connection
        self.reason = reason
        self.old: StreamProtocol = connection._session
        self.candidate: StreamProtocol | None = None
        self.last_ids: dict[str, int] = {}
        self.buffers: dict[str, list[tuple[tuple[int, int], Any, dict]]] = {}
        self.switched: set[str] = set()
        self.finished = False
        self.deadline: IDelayedCall | None = None
        self.old.deliver = self.from_old
        self.factory = connection._new_factory()
        connection._connect(self.factory)

    def candidate_opened(self, proto: StreamProtocol) -> None:
        self.candidate = proto
        proto.deliver = self.from_new
        clock = self.connection._reactor
        self.deadline = clock.callLater(self.connection.policy.handover_timeout, self.finish)
        self.streams_confirmed(proto.confirmed)

    def streams_confirmed(self, streams: Iterable[str]) -> None:
        self.switched.update(s for s in streams if not _is_sequenced(s))
        self._maybe_finish()

    def from_old(self, stream: str, data: Any, envelope: dict) -> None:
        if stream in self.switched:
            return
        ids = sequence_ids(data)
        if ids is not None:
            self.last_ids[stream] = ids[1]
        self.connection.dispatch(stream, data, envelope)
        buffered = self.buffers.get(stream)
        if ids is not None and buffered and buffered[0][0][0] <= ids[1] + 1:
            self._switch(stream)

    def from_new(self, stream: str, data: Any, envelope: dict) -> None:
        ids = sequence_ids(data)
        if stream in self.switched:
            last = self.last_ids.get(stream) if ids is not None else None
            if last is not None and ids is not None:
                if ids[1] <= last:
                    return
                del self.last_ids[stream]  # past the overlap: no more duplicates possible
            self.connection.dispatch(stream, data, envelope)
            if self.finished and not self.last_ids:
                self.stop_filtering()
            return
        if ids is None:
            return
        self.buffers.setdefault(stream, []).append((ids, data, envelope))
        last = self.last_ids.get(stream)
        if last is not None and ids[0] <= last + 1:
            self._switch(stream)

    def _switch(self, stream: str) -> None:
        self.switched.add(stream)
        last = self.last_ids.get(stream, -1)
        for ids, data, envelope in self.buffers.pop(stream, ()):
            if ids[1] > last:
                last = ids[1]
                self.connection.dispatch(stream, data, envelope)
        self.last_ids[stream] = last
        self._maybe_finish()

    def _maybe_finish(self) -> None:
        if self.candidate is not None and self.switched.issuperset(self.connection.streams):
            self.finish()

    def finish(self) -> None:
        """Switch whatever is left (flushing buffers without duplicates) and complete."""
        if self.connection._rotation is not self:
            return
        for stream in list(self.buffers):
            self._switch(stream)
        self.finished = True
        self.cancel_deadline()
        self.connection._complete_rotation(self)

    def stop_filtering(self) -> None:
        """The overlap is over: the new session delivers straight to ``dispatch`` again."""
        candidate = self.candidate
        if candidate is not None and candidate.deliver == self.from_new:
            candidate.deliver = self.connection.dispatch

    def candidate_lost(self, reason: str) -> None:
        self.cancel_deadline()
        self.old.deliver = self.connection.dispatch
        self.connection._abandon_rotation(self, reason)

    def old_lost(self) -> None:
        """The old session died first: switch to the candidate now, or wait for it to open."""
        if self.candidate is not None:
            self.finish()
        else:
            self.cancel_deadline()
            self.connection._promote_candidate(self)

    def cancel_deadline(self) -> None:
        if self.deadline is not None and self.deadline.active():
            self.deadline.cancel()
        self.deadline = None


def _sender(proto: StreamProtocol) -> Callable[[bytes], None]:
    def send(payload: bytes) -> None:
        if proto.state == WebSocketProtocol.STATE_OPEN:
            proto.sendMessage(payload, isBinary=False)

    return send


def _close_session(proto: StreamProtocol) -> None:
    """Close politely if open, else just drop the transport (handshake not finished)."""
    if proto.state == WebSocketProtocol.STATE_OPEN:
        proto.sendClose(1000)
    elif proto.transport is not None and proto.state != WebSocketProtocol.STATE_CLOSED:
        proto.dropConnection(abort=True)


def _fail_requests(proto: StreamProtocol, error: Exception) -> None:
    pending, proto.pending = proto.pending, {}
    for _method, _params, deferred in pending.values():
        deferred.errback(error)


def _describe(proto: StreamProtocol | None, failure: Failure) -> str:
    if proto is not None and proto.close_reason:
        return proto.close_reason
    return describe_tls_failure(failure) or failure.getErrorMessage()


def _code(error: Any) -> int | None:
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, int) else None


def _chunks(streams: list[str], max_length: int) -> Iterable[list[str]]:
    """Split into SUBSCRIBE params lists whose JSON stays under ``max_length`` characters."""
    chunk: list[str] = []
    length = 0
    for stream in streams:
        size = len(stream) + 3
        if chunk and length + size > max_length:
            yield chunk
            chunk, length = [], 0
        chunk.append(stream)
        length += size
    if chunk:
        yield chunk


def _is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")
