"""One logical connection to Binance that survives what Binance does to sockets.

:class:`ReconnectingSession` is the lifecycle every long-lived Binance WebSocket needs,
market streams and the WebSocket API alike:

* drops and refused handshakes: Twisted's ``ReconnectingClientFactory`` retries with
  jittered exponential backoff; the delay resets only after a *healthy* period, so a server
  that accepts and immediately drops does not get hammered;
* silent stalls: a watchdog drops a session that received nothing (no data, no server ping)
  for ``stall_timeout`` seconds; Binance pings every 20 s, so a live socket is never silent
  that long, while a half-open one is;
* the 24 h limit and ``serverShutdown``: a replacement session is opened and prepared first,
  then switched to, then the old one is closed (make-before-break); *how* a subclass hands
  its traffic over lives in a :class:`Rotation` subclass;
* control messages go through a :class:`~binance_twisted.pacing.Pacer` (Binance's 5 msg/s);
* lifecycle events and counters for the user.

Subclasses say what a session carries: :class:`~binance_twisted.connection.StreamConnection`
(market streams) and :class:`~binance_twisted.wsapi.WebSocketAPI` (requests and user data).
Nothing here knows about threads.
"""

from __future__ import annotations

import random
from collections.abc import Callable
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
from binance_twisted.errors import ClientClosedError, ConnectionGaveUpError, NotConnectedError
from binance_twisted.events import ConnectionEvent, EventKind
from binance_twisted.pacing import Pacer, Unpaced
from binance_twisted.protocol import SessionFactory, StreamProtocol
from binance_twisted.stats import ConnectionStats
from binance_twisted.tls import client_tls_options, describe_tls_failure

__all__ = ["ConnectionPolicy", "ReconnectingSession", "Rotation"]

log = Logger(namespace="binance_twisted.connection")


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
    #: longest a rotation overlaps the old and the new session before switching anyway
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


def drop(stream: str, data: Any, envelope: dict) -> None:
    """``deliver`` of a session whose messages nobody wants (not open yet, or retired)."""


class ReconnectingSession:
    """One logical connection: a lineage of WebSocket sessions, one current at a time."""

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
        self._reactor = reactor
        self._base = base_url.rstrip("/")
        self._trust_root = trust_root
        self._on_event = on_event
        self._factory: SessionFactory | None = None
        self._retired: list[SessionFactory] = []
        self._session: StreamProtocol | None = None
        self._rotation: Any = None
        self._closers: list[defer.Deferred] = []
        self._next_id = 1
        self._state = "idle"
        self._lost_at: float | None = None
        self._last_reason = "not connected yet"
        self._healthy_call: IDelayedCall | None = None
        self._rotate_call: IDelayedCall | None = None
        self._tail_call: IDelayedCall | None = None
        self._watchdog: LoopingCall | None = None
        self._throttle = _Throttle(reactor)

    @property
    def state(self) -> str:
        """``idle``, ``running``, ``gave_up``, ``closing`` or ``closed``."""
        return self._state

    @property
    def connected(self) -> bool:
        """Whether a session is open right now."""
        return self._session is not None

    # -- what subclasses provide ---------------------------------------------------------------

    def url_for_attempt(self) -> str:
        """The URL of the next connection attempt."""
        raise NotImplementedError

    def _pacer(self, send: Callable[[bytes], None]) -> Pacer | Unpaced:
        """How control messages leave: paced under Binance's 5 msg/s by default."""
        return Pacer(self._reactor, self.policy.control_rate, send)

    def _prepare(self, proto: StreamProtocol) -> None:
        """A protocol was built for a new attempt (before its handshake)."""

    def _opened(self, proto: StreamProtocol) -> None:
        """A session (current or rotation candidate) finished its handshake."""

    def _activate(self, proto: StreamProtocol) -> None:
        """A session becomes current by (re)connecting, not by rotation: route its traffic."""

    def _became_current(self) -> None:
        """A session just became the current one (first open, reconnect or rotation)."""

    def _stopping(self, error: Exception) -> None:
        """The connection closes or gave up: fail whatever waits for a session."""

    def _make_rotation(self, reason: str) -> Rotation:
        raise NotImplementedError

    def response_received(self, proto: StreamProtocol, message: dict) -> None:
        """A message with ``id`` (a reply to a request)."""
        raise NotImplementedError

    def unwrapped_message(self, proto: StreamProtocol, message: Any) -> None:
        """A message that is neither a combined-stream payload nor a reply."""
        raise NotImplementedError

    # -- lifecycle -------------------------------------------------------------------------------

    def rotate(self, reason: str = "requested") -> None:
        """Replace the session make-before-break (no-op if one is already under way)."""
        if self._session is None or self._rotation is not None or self._state != "running":
            return
        log.info("{name}: rotating ({reason})", name=self.name, reason=reason)
        self._rotation = self._make_rotation(reason)

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
            self._stopping(ClientClosedError(f"{self.name} was closed"))
            for factory in self._factories():
                factory.stopTrying()
                if factory.last_protocol is not None:
                    close_session(factory.last_protocol)
            self._maybe_closed()
        return d

    # -- what the protocol and factory call ------------------------------------------------

    def prepare_session(self, factory: SessionFactory, proto: StreamProtocol) -> None:
        """Wire a freshly built protocol to this connection (before its handshake)."""
        proto.owner = self  # type: ignore[assignment]
        proto.stats = self.stats
        proto.seconds = self._reactor.seconds
        proto.deliver = drop
        proto.pacer = self._pacer(_sender(proto))
        self._prepare(proto)

    def session_opened(self, proto: StreamProtocol) -> None:
        """The handshake succeeded: prepare the session, then go live or hand over."""
        factory = proto.factory
        now = self._reactor.seconds()
        proto.opened_at = now
        is_candidate = self._rotation is not None and factory is self._rotation.factory
        if self._state != "running" or not (is_candidate or factory is self._factory):
            close_session(proto)
            return
        self._opened(proto)
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
            proto.deliver = drop
        if self._rotation is not None and factory is self._rotation.factory:
            self._rotation.candidate_lost(reason)
        elif factory is self._factory:
            self._current_lost(factory, proto, reason)
        if proto is not None:
            # only now: an errback may send the next request, which must not pick this session
            fail_requests(
                proto,
                NotConnectedError(
                    f"{self.name}: connection lost ({reason}); the execution status of "
                    "requests in flight is unknown"
                ),
            )
        self._maybe_closed()

    def decode_failed(self, proto: StreamProtocol, payload: bytes | None) -> None:
        """An undecodable frame: counted, logged at a sane rate, reported; the session goes on."""
        self.stats.decode_errors += 1
        size = len(payload) if payload else 0
        self._report_error(f"undecodable frame of {size} bytes dropped", None, key="decode")

    # -- internals -------------------------------------------------------------------------

    def _start(self) -> None:
        self._state = "running"
        self._factory = self._new_factory()
        self._connect(self._factory)

    def _new_factory(self) -> SessionFactory:
        policy = self.policy
        factory = SessionFactory(self, self.url_for_attempt(), self._reactor)  # type: ignore[arg-type]
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
        self._activate(proto)
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
        self._became_current()

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
        self._stopping(ConnectionGaveUpError(self.name, attempts, reason))

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

    def _complete_rotation(self, rotation: Rotation) -> None:
        """The candidate carries everything now: make it current, retire the old session."""
        candidate = rotation.candidate
        assert candidate is not None
        old_factory = self._factory
        if old_factory is not None:
            old_factory.stopTrying()
            self._retired.append(old_factory)
        self._rotation = None
        self._factory = rotation.factory
        self._session = candidate
        rotation.old.deliver = drop
        rotation.retire_old()
        self.stats.rotations += 1
        self.stats.connected = True
        self.stats.connected_since = candidate.opened_at
        self._emit(EventKind.ROTATED, reason=rotation.reason)
        self._arm_timers(candidate)
        if rotation.lingers():
            # the new session may still repeat what the old one delivered last
            self._tail_call = self._reactor.callLater(
                self.policy.handover_timeout, self._end_tail, rotation
            )
        else:
            rotation.stop_filtering()
        self._became_current()

    def _end_tail(self, rotation: Rotation) -> None:
        self._tail_call = None
        rotation.stop_filtering()

    def _abandon_rotation(self, rotation: Rotation, reason: str) -> None:
        """The candidate failed: keep the old session and try again later."""
        self._rotation = None
        rotation.factory.stopTrying()
        self._retired.append(rotation.factory)
        if self._session is not None:
            log.warn(
                "{name}: rotation failed ({reason}); retrying in 60 s",
                name=self.name,
                reason=reason,
            )
            if self._rotate_call is not None and self._rotate_call.active():
                self._rotate_call.cancel()
            self._rotate_call = self._reactor.callLater(60.0, self._rotate_on_schedule)

    def _promote_candidate(self, rotation: Rotation) -> None:
        """The old session died before the candidate opened: its lineage becomes current."""
        if self._factory is not None:
            self._factory.stopTrying()
            self._retired.append(self._factory)
        self._factory = rotation.factory
        self._rotation = None

    def _send_request(
        self,
        proto: StreamProtocol,
        method: str,
        params: Any,
        d: defer.Deferred | None = None,
    ) -> defer.Deferred:
        """Send ``{"method", "id", "params"}`` (paced); ``d`` fires with the reply's ``result``."""
        request_id = self._next_id
        self._next_id += 1
        if d is None:
            d = defer.Deferred()
        proto.pending[request_id] = (method, params, d)
        message: dict[str, Any] = {"method": method, "id": request_id}
        if params is not None:
            message["params"] = params
        proto.pacer.send(dumps(message))
        return d

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


class Rotation:
    """Make-before-break from ``old`` to a candidate session; subclasses hand traffic over.

    The candidate is dialled at once. When it is open, :meth:`begin` lets the subclass
    prepare it (subscribe, resubscribe); the subclass calls :meth:`finish` when the
    candidate carries everything, and ``handover_timeout`` calls it regardless.
    """

    def __init__(self, session: ReconnectingSession, reason: str) -> None:
        assert session._session is not None
        self.session = session
        self.reason = reason
        self.old: StreamProtocol = session._session
        self.candidate: StreamProtocol | None = None
        self.finished = False
        self.deadline: IDelayedCall | None = None
        self.factory = session._new_factory()
        session._connect(self.factory)

    def candidate_opened(self, proto: StreamProtocol) -> None:
        self.candidate = proto
        clock = self.session._reactor
        self.deadline = clock.callLater(self.session.policy.handover_timeout, self.finish)
        self.begin(proto)

    def begin(self, proto: StreamProtocol) -> None:
        """The candidate is open: start moving traffic (subclass)."""

    def flush(self) -> None:
        """Before completing: move whatever is still pending (subclass)."""

    def lingers(self) -> bool:
        """Whether the new session still needs filtering after the switch."""
        return False

    def stop_filtering(self) -> None:
        """After the switch (and any lingering): the new session delivers normally."""

    def restore_old(self) -> None:
        """The candidate failed: the old session delivers normally again."""

    def retire_old(self) -> None:
        """After the switch: close the old session."""
        close_session(self.old)

    def finish(self) -> None:
        """Switch whatever is left and complete."""
        if self.session._rotation is not self:
            return
        self.flush()
        self.finished = True
        self.cancel_deadline()
        self.session._complete_rotation(self)

    def candidate_lost(self, reason: str) -> None:
        self.cancel_deadline()
        self.restore_old()
        self.session._abandon_rotation(self, reason)

    def old_lost(self) -> None:
        """The old session died first: switch to the candidate now, or wait for it to open."""
        if self.candidate is not None:
            self.finish()
        else:
            self.cancel_deadline()
            self.session._promote_candidate(self)

    def cancel_deadline(self) -> None:
        if self.deadline is not None and self.deadline.active():
            self.deadline.cancel()
        self.deadline = None


def _sender(proto: StreamProtocol) -> Callable[[bytes], None]:
    def send(payload: bytes) -> None:
        if proto.state == WebSocketProtocol.STATE_OPEN:
            proto.sendMessage(payload, isBinary=False)

    return send


def close_session(proto: StreamProtocol) -> None:
    """Close politely if open, else just drop the transport (handshake not finished)."""
    if proto.state == WebSocketProtocol.STATE_OPEN:
        proto.sendClose(1000)
    elif proto.transport is not None and proto.state != WebSocketProtocol.STATE_CLOSED:
        proto.dropConnection(abort=True)


def fail_requests(proto: StreamProtocol, error: Exception) -> None:
    """Fail every request of ``proto`` still waiting for its reply."""
    pending, proto.pending = proto.pending, {}
    for _method, _params, deferred in pending.values():
        if not deferred.called:
            deferred.errback(error)


def _describe(proto: StreamProtocol | None, failure: Failure) -> str:
    if proto is not None and proto.close_reason:
        return proto.close_reason
    return describe_tls_failure(failure) or failure.getErrorMessage()


def _is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")
