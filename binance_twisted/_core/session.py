"""One logical connection to Binance that survives what Binance does to sockets.

:class:`ReconnectingSession` is the lifecycle every long-lived Binance WebSocket needs,
market streams and the WebSocket API alike:

* drops and refused handshakes: retries with jittered exponential backoff that resets only
  after a *healthy* period, so a server that accepts and drops at once is not hammered;
* silent stalls: a session that received nothing (no data, no server ping) for
  ``stall_timeout`` seconds is dropped; a live socket is never that quiet, a half-open one is;
* the 24 h limit and ``serverShutdown``: a replacement session is opened and prepared first,
  then switched to, then the old one is closed (make-before-break); *how* a subclass hands
  its traffic over lives in a :class:`Rotation` subclass;
* control messages go through a :class:`~binance_twisted._core.pacing.Pacer` (Binance's 5 msg/s);
* lifecycle events and counters for the user.

Subclasses say what a session carries: :class:`~binance_twisted.market.StreamConnection`
(market streams), :class:`~binance_twisted.wsapi.WebSocketAPI` (requests and user data) and
:class:`~binance_twisted.accounts.ListenKeyStream` (a listen key's events). The silence limit
follows the connection's market (:mod:`binance_twisted.venues`) unless the policy sets one.
Nothing here knows about threads.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from autobahn.twisted.websocket import connectWS
from twisted.internet import defer
from twisted.internet._sslverify import IOpenSSLTrustRoot
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from binance_twisted._core.pacing import Pacer, Unpaced
from binance_twisted._core.policy import ConnectionPolicy
from binance_twisted._core.protocol import (
    SessionFactory,
    SessionProtocol,
    close_code,
    close_session,
    describe_end,
    fail_requests,
)
from binance_twisted._core.rotation import Rotation
from binance_twisted._core.stats import ConnectionStats
from binance_twisted._core.throttle import LogThrottle
from binance_twisted._core.tls import (
    check_plaintext,
    client_tls_options,
    is_loopback,
)
from binance_twisted.errors import ClientClosedError, ConnectionGaveUpError, NotConnectedError
from binance_twisted.events import CLOSED_BY_CLIENT, ConnectionEvent, EventKind
from binance_twisted.venues import MarketProfile

__all__ = ["ReconnectingSession"]

log = Logger(namespace="binance_twisted.connection")


def drop(stream: str, data: Any, envelope: dict, raw: bytes) -> None:
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
        profile: MarketProfile,
        trust_root: IOpenSSLTrustRoot,
        on_event: Callable[[ConnectionEvent], Any] | None,
    ) -> None:
        check_plaintext(base_url, "the URL", policy.allow_plaintext)
        self.name = name
        self.policy = policy
        #: the venue's facts for this connection's market (ping cadence, limits)
        self.profile = profile
        #: seconds of silence after which a session is dropped (``None``: never)
        self.stall_timeout = policy.stall_limit(profile)
        self.stats = ConnectionStats(url=base_url.rstrip("/"))
        self._reactor = reactor
        self._base = base_url.rstrip("/")
        self._trust_root = trust_root
        self._on_event = on_event
        self._factory: SessionFactory | None = None
        self._retired: list[SessionFactory] = []
        self._session: SessionProtocol | None = None
        self._rotation: Any = None  # the subclass's Rotation under way, if any
        self._closers: list[defer.Deferred] = []
        self._next_id = 1
        self._state = "idle"
        self._lost_at: float | None = None
        self._last_reason = "not connected yet"
        self._healthy_call: IDelayedCall | None = None
        self._rotate_call: IDelayedCall | None = None
        self._tail_call: IDelayedCall | None = None
        self._stall_call: IDelayedCall | None = None
        self._throttle = LogThrottle(reactor)

    #: how this kind of connection hands its traffic over to a replacement session
    rotation_class: type[Rotation] = Rotation

    @property
    def clock(self) -> IReactorTime:
        """The reactor this connection schedules on (injected; a ``Clock`` in tests)."""
        return self._reactor

    @property
    def base_url(self) -> str:
        """Where this connection's sessions go (without a trailing slash)."""
        return self._base

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

    def _prepare(self, proto: SessionProtocol) -> None:
        """A protocol was built for a new attempt (before its handshake)."""

    def _opened(self, proto: SessionProtocol) -> None:
        """A session (current or rotation candidate) finished its handshake."""

    def _activate(self, proto: SessionProtocol) -> None:
        """A session becomes current by (re)connecting, not by rotation: route its traffic."""

    def _became_current(self) -> None:
        """A session just became the current one (first open, reconnect or rotation)."""

    def _stopping(self, error: Exception) -> None:
        """The connection closes or gave up: fail whatever waits for a session."""

    def response_received(self, proto: SessionProtocol, message: dict) -> None:
        """A message with ``id`` (a reply to a request)."""
        raise NotImplementedError

    def unwrapped_message(self, proto: SessionProtocol, message: Any) -> None:
        """A message that is neither a combined-stream payload nor a reply."""
        raise NotImplementedError

    # -- lifecycle -------------------------------------------------------------------------------

    def rotate(self, reason: str = "requested") -> None:
        """Replace the session make-before-break (no-op if one is already under way)."""
        if self._session is None or self._rotation is not None or self._state != "running":
            return
        log.info("{name}: rotating ({reason})", name=self.name, reason=reason)
        factory = SessionFactory.for_policy(
            self, self.url_for_attempt(), self._reactor, self.policy
        )
        self._rotation = self.rotation_class(self, reason, self._session, factory)
        self._connect(factory)

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

    def prepare_session(self, factory: SessionFactory, proto: SessionProtocol) -> None:
        """Wire a freshly built protocol to this connection (before its handshake)."""
        proto.owner = self
        proto.stats = self.stats
        proto.seconds = self._reactor.seconds
        proto.deliver_to(drop)
        proto.pacer = self._pacer(proto.send_text)
        self._prepare(proto)

    def session_opened(self, proto: SessionProtocol) -> None:
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
        self, factory: SessionFactory, proto: SessionProtocol | None, failure: Failure
    ) -> None:
        """A session ended or an attempt failed: report it and decide what comes next."""
        reason = describe_end(proto, failure)
        self._last_reason = reason
        if proto is not None:
            proto.pacer.stop()
            proto.deliver_to(drop)
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

    def message_dropped(self, proto: SessionProtocol, reason: str, code: int | None) -> None:
        """An undecodable or oversized message: logged at a sane rate and reported."""
        self._report_error(reason, code, key="decode" if code is None else "oversized")

    # -- internals -------------------------------------------------------------------------

    def _start(self) -> None:
        self._state = "running"
        self._factory = SessionFactory.for_policy(
            self, self.url_for_attempt(), self._reactor, self.policy
        )
        self._connect(self._factory)

    def _connect(self, factory: SessionFactory) -> None:
        tls = None
        if factory.isSecure:
            tls = client_tls_options(factory.host, self._trust_root)
        elif not is_loopback(factory.host):
            log.warn(
                "{name}: plain ws:// to {host}: traffic is not encrypted",
                name=self.name,
                host=factory.host,
            )
        connectWS(factory, tls, timeout=self.policy.open_timeout)

    def _go_live(self, proto: SessionProtocol, now: float) -> None:
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
        self, factory: SessionFactory, proto: SessionProtocol | None, reason: str
    ) -> None:
        if proto is not None and proto is self._session:
            self._session = None
            self._lost_at = self._reactor.seconds()
            self.stats.connected = False
            self._stop_timers()
            if self._state == "closing":
                reason = CLOSED_BY_CLIENT
            self._emit(EventKind.DISCONNECTED, reason=reason, code=close_code(proto))
        if self._state != "running":
            return
        self.stats.last_error = reason
        if proto is None or proto.opened_at is None:
            self.stats.failed_attempts += 1
        if self._rotation is not None:
            self._rotation.old_lost()
            return
        delay = factory.schedule_retry()
        if delay is None:
            self._give_up(factory.retries, reason)
        else:
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

    def _arm_timers(self, proto: SessionProtocol) -> None:
        self._stop_timers()
        policy = self.policy
        factory = proto.factory
        self._healthy_call = self._reactor.callLater(policy.healthy_after, factory.resetDelay)
        if policy.rotate_after is not None:
            # spread rotations of many connections over the last 5 % of the window
            delay = policy.rotate_after * random.uniform(0.95, 1.0)
            self._rotate_call = self._reactor.callLater(delay, self._rotate_on_schedule)
        if self.stall_timeout is not None:
            self._stall_call = self._reactor.callLater(self.stall_timeout, self._check_stall, proto)

    def _stop_timers(self) -> None:
        for call in (self._healthy_call, self._rotate_call, self._tail_call, self._stall_call):
            if call is not None and call.active():
                call.cancel()
        self._healthy_call = self._rotate_call = self._tail_call = self._stall_call = None

    def _rotate_on_schedule(self) -> None:
        self._rotate_call = None
        self.rotate("lifetime")

    def _check_stall(self, proto: SessionProtocol) -> None:
        """Drop a session silent for ``stall_timeout``; else look again when it would be.

        One timer per session, moved to the moment the silence would reach the limit: a
        stall is detected on time, and a busy session costs one timer call per timeout.
        """
        self._stall_call = None
        timeout = self.stall_timeout
        assert timeout is not None
        now = self._reactor.seconds()
        last = max(self.stats.last_message_time or 0.0, proto.last_ping, proto.opened_at or 0.0)
        if proto is not self._session:
            return
        if now - last < timeout:
            self._stall_call = self._reactor.callLater(
                last + timeout - now, self._check_stall, proto
            )
            return
        self.stats.stalls += 1
        reason = f"nothing received for {now - last:.1f} s (stall timeout {timeout:g} s)"
        log.warn("{name}: {reason}; dropping the session", name=self.name, reason=reason)
        self._emit(EventKind.STALLED, reason=reason)
        proto.close_reason = f"stalled: {reason}"
        proto.dropConnection(abort=True)

    def is_rotating(self, rotation: Rotation) -> bool:
        """Whether ``rotation`` is the one under way (a finished or abandoned one is not)."""
        return self._rotation is rotation

    def complete_rotation(self, rotation: Rotation) -> None:
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
        rotation.old.deliver_to(drop)
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

    def abandon_rotation(self, rotation: Rotation, reason: str) -> None:
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

    def promote_candidate(self, rotation: Rotation) -> None:
        """The old session died before the candidate opened: its lineage becomes current."""
        if self._factory is not None:
            self._factory.stopTrying()
            self._retired.append(self._factory)
        self._factory = rotation.factory
        self._rotation = None

    def _send_request(
        self,
        proto: SessionProtocol,
        method: str,
        params: Any,
        d: defer.Deferred | None = None,
    ) -> defer.Deferred:
        """Send ``{"method", "id", "params"}`` (paced); ``d`` fires with the reply's ``result``.

        Ids are unique across the connection's sessions, so a late reply never matches.
        """
        self._next_id += 1
        return proto.send_request(self._next_id - 1, method, params, d)

    def _live_sessions(self) -> list[SessionProtocol]:
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
        """Tell ``on_event`` (if any; the log always hears what matters)."""
        if self._on_event is None:
            return
        event = ConnectionEvent(kind, self.name, self._reactor.seconds(), **fields)
        try:
            self._on_event(event)
        except Exception:
            log.failure("{name}: event handler raised on {kind}", name=self.name, kind=kind.value)
