"""Market streams on one connection: a set of streams kept flowing on one WebSocket at a time.

:class:`StreamConnection` is a :class:`~binance_twisted._core.session.ReconnectingSession` (backoff,
watchdog, 24 h and ``serverShutdown`` rotation, events) that carries streams:

* the first streams ride in the ``/stream?streams=`` URL, so most reconnects send no
  control message at all; the rest go in SUBSCRIBE batches, paced under Binance's 5 msg/s;
* error frames fail exactly the request that caused them;
* payloads are routed by stream name to the subscribers' callbacks; a raising callback is
  contained and counted;
* on rotation, streams are handed over one by one: a stream with sequence ids (trade ``t``,
  aggTrade ``a``, depth ``U``/``u``) switches when the new session provably overlaps the old
  one, so nothing is lost or delivered twice; other streams switch once confirmed.

It knows nothing about threads; the client above it plans which streams go where.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import attrs
from twisted.internet import defer
from twisted.logger import Logger

from binance_twisted._core.protocol import SessionProtocol
from binance_twisted._core.rotation import Rotation
from binance_twisted._core.session import ReconnectingSession
from binance_twisted.endpoints import combined_stream_url
from binance_twisted.errors import (
    ClientClosedError,
    ConnectionGaveUpError,
    NotConnectedError,
    StreamRequestError,
    callable_name,
)
from binance_twisted.events import EventKind
from binance_twisted.market.delivery import Deliver, DeliveryQueue, LagMonitor

__all__ = ["DATA", "ENVELOPE", "RAW", "Route", "StreamConnection", "is_sequenced", "sequence_ids"]

log = Logger(namespace="binance_twisted.connection")

Route = tuple[Callable[..., Any], int, object]
"""``(callback, shape, owner)``: ``callback(stream, data)`` for :data:`DATA`,
``callback(envelope)`` for :data:`ENVELOPE`, ``callback(stream, data, raw)`` for :data:`RAW`;
``owner`` is the subscription the route belongs to (unsubscribing removes its routes, and
connection events reach each owner)."""

#: the shapes a route's callback takes
DATA, ENVELOPE, RAW = 0, 1, 2

_SEQUENCED_KINDS = frozenset({"trade", "aggTrade", "depth"})
_SERVER_SHUTDOWN = "!serverShutdown"


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


def is_sequenced(stream: str) -> bool:
    """Whether ``stream``'s payloads carry update ids (trades, aggTrades, diff depth)."""
    parts = stream.split("@", 2)
    return len(parts) > 1 and parts[1] in _SEQUENCED_KINDS


@attrs.define
class _Waiter:
    streams: set[str]
    deferred: defer.Deferred


class _StreamHandover(Rotation):
    """Make-before-break handover of streams, one by one.

    Until a stream is switched, the old session delivers it. A stream without sequence ids
    switches as soon as the candidate confirms it. A sequenced stream switches when the
    candidate's first buffered payload overlaps what the old one delivered (``first <=
    last + 1``); buffered payloads already delivered are dropped, and so are repeats that
    arrive right after the switch.
    """

    session: StreamConnection

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.last_ids: dict[str, int] = {}
        self.buffers: dict[str, list[tuple[tuple[int, int], Any, dict, bytes]]] = {}
        self.switched: set[str] = set()
        self.old.deliver_to(self.from_old)

    def begin(self, proto: SessionProtocol) -> None:
        proto.deliver_to(self.from_new)
        self.streams_confirmed(proto.confirmed)

    def streams_confirmed(self, streams: Iterable[str]) -> None:
        self.switched.update(s for s in streams if not is_sequenced(s))
        self._maybe_finish()

    def from_old(self, stream: str, data: Any, envelope: dict, raw: bytes) -> None:
        if stream in self.switched:
            return
        ids = sequence_ids(data)
        if ids is not None:
            self.last_ids[stream] = ids[1]
        self.session.accept(stream, data, envelope, raw)
        buffered = self.buffers.get(stream)
        if ids is not None and buffered and buffered[0][0][0] <= ids[1] + 1:
            self._switch(stream)

    def from_new(self, stream: str, data: Any, envelope: dict, raw: bytes) -> None:
        if stream not in self.session.streams:
            # nothing to hand over (``!serverShutdown``: the new session is going away too,
            # so rotate again; it was once dropped here): the session decides
            self.session.accept(stream, data, envelope, raw)
            return
        ids = sequence_ids(data)
        if stream in self.switched:
            last = self.last_ids.get(stream) if ids is not None else None
            if last is not None and ids is not None:
                if ids[1] <= last:
                    return
                del self.last_ids[stream]  # past the overlap: no more duplicates possible
            self.session.accept(stream, data, envelope, raw)
            if self.finished and not self.last_ids:
                self.stop_filtering()
            return
        if ids is None:
            return
        self.buffers.setdefault(stream, []).append((ids, data, envelope, raw))
        last = self.last_ids.get(stream)
        if last is not None and ids[0] <= last + 1:
            self._switch(stream)

    def _switch(self, stream: str) -> None:
        self.switched.add(stream)
        last = self.last_ids.get(stream, -1)
        for ids, data, envelope, raw in self.buffers.pop(stream, ()):
            if ids[1] > last:
                last = ids[1]
                self.session.accept(stream, data, envelope, raw)
        self.last_ids[stream] = last
        self._maybe_finish()

    def _maybe_finish(self) -> None:
        if self.candidate is not None and self.switched.issuperset(self.session.streams):
            self.finish()

    def flush(self) -> None:
        for stream in list(self.buffers):
            self._switch(stream)

    def lingers(self) -> bool:
        return bool(self.last_ids)

    def stop_filtering(self) -> None:
        candidate = self.candidate
        if candidate is not None and candidate.deliver == self.from_new:
            candidate.deliver_to(self.session.accept)

    def restore_old(self) -> None:
        self.old.deliver_to(self.session.accept)


class StreamConnection(ReconnectingSession):
    """A set of streams on one WebSocket at a time, kept alive across everything above."""

    rotation_class = _StreamHandover

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.streams: dict[str, None] = {}
        self.routes: dict[str, list[Route]] = {}
        self._waiters: list[_Waiter] = []
        self._attempt_streams: list[str] = []
        policy = self.policy
        self._lag = LagMonitor(self._reactor, self.stats, policy.lag_threshold, self._lag_changed)
        self._queue: DeliveryQueue | None = None
        #: where a live session's payloads go: :meth:`dispatch`, or the queue in front of it
        self.accept: Deliver = self.dispatch
        if policy.queue_size is not None:
            self._queue = DeliveryQueue(
                self._reactor,
                self.stats,
                policy.queue_size,
                policy.queue_overflow,
                self.dispatch,
                self._queue_full,
            )
            self.accept = self._queue.put

    def __repr__(self) -> str:
        return f"<StreamConnection {self.name} {self._state} streams={len(self.streams)}>"

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
            self._became_current()
        return waiter.deferred

    def remove_streams(self, streams: Iterable[str]) -> defer.Deferred:
        """Stop ``streams``; the Deferred fires when the server confirmed (or at once if idle)."""
        gone = [s for s in dict.fromkeys(streams) if s in self.streams]
        for stream in gone:
            del self.streams[stream]
            self.routes.pop(stream, None)
            self._lag.forget(stream)
        self.stats.streams = len(self.streams)
        for waiter in self._waiters:
            waiter.streams.difference_update(gone)
        self._became_current()
        result: defer.Deferred = defer.succeed(None)
        for session in self._live_sessions():
            on_session = [s for s in gone if s in session.confirmed or s in session.requested]
            if on_session:
                d = self._send_request(session, "UNSUBSCRIBE", on_session)
                if session is self._session:
                    result = d
                else:
                    d.addErrback(lambda _: None)
        return result

    def request(self, method: str, params: list | None = None) -> defer.Deferred:
        """Send a control message on the open session; fires with the ``result``."""
        if self._session is None:
            return defer.fail(NotConnectedError(f"{self.name} has no open session"))
        return self._send_request(self._session, method, params)

    # -- what the protocol calls -----------------------------------------------------------

    def url_for_attempt(self) -> str:
        """The URL of the next attempt: ``/stream``, with as many streams as fit in the URL."""
        chosen: list[str] = []
        for stream in self.streams:  # stops at the first that does not fit (~80 streams)
            if len(combined_stream_url(self._base, [*chosen, stream])) > self.policy.max_url_length:
                break
            chosen.append(stream)
        self._attempt_streams = chosen
        return combined_stream_url(self._base, chosen)

    def response_received(self, proto: SessionProtocol, message: dict) -> None:
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
            self._became_current()
        elif method == "UNSUBSCRIBE":
            proto.requested.difference_update(params)
            proto.confirmed.difference_update(params)
        deferred.callback(message.get("result"))

    def unwrapped_message(self, proto: SessionProtocol, message: Any) -> None:
        """A payload without the combined-stream wrapper: only ``serverShutdown`` is expected."""
        if type(message) is dict and message.get("e") == "serverShutdown":
            if proto is self._session:
                self.rotate("serverShutdown")
            return
        self._report_error("unexpected message without a stream name dropped", None, key="raw")

    def dispatch(self, stream: str, data: Any, envelope: dict, raw: bytes) -> None:
        """Hand one payload to every route of ``stream``; a raising callback is contained."""
        routes = self.routes.get(stream)
        if routes is None:
            if stream == _SERVER_SHUTDOWN:
                self.rotate("serverShutdown")
            return
        lag = self._lag
        lag.countdown -= 1
        if lag.countdown <= 0:
            lag.sample(stream, data)
        for callback, shape, _ in routes:
            try:
                if not shape:
                    callback(stream, data)
                elif shape == ENVELOPE:
                    callback(envelope)
                else:
                    callback(stream, data, raw)
            except Exception:
                self._callback_failed(stream, callback)

    # -- the session hooks ------------------------------------------------------------------

    def _prepare(self, proto: SessionProtocol) -> None:
        proto.url_streams = self._attempt_streams

    def _activate(self, proto: SessionProtocol) -> None:
        proto.deliver_to(self.accept)

    def _opened(self, proto: SessionProtocol) -> None:
        proto.confirmed = {s for s in proto.url_streams if s in self.streams}
        self._subscribe(proto, [s for s in self.streams if s not in proto.confirmed])

    def _became_current(self) -> None:
        """Fire the waiters whose streams the current session confirmed."""
        session = self._session
        if session is None or not self._waiters:
            return
        confirmed = session.confirmed
        ready = [w for w in self._waiters if w.streams <= confirmed]
        # all out of the list before any fires: a callback may subscribe or unsubscribe,
        # which comes back here (it once found its waiter already gone: ValueError)
        self._waiters = [w for w in self._waiters if not w.streams <= confirmed]
        for waiter in ready:
            waiter.deferred.callback(None)

    def _stopping(self, error: Exception) -> None:
        if self._queue is not None:
            self._queue.clear()
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.deferred.errback(error)

    # -- internals ---------------------------------------------------------------------------

    def _subscribe(self, proto: SessionProtocol, streams: list[str]) -> None:
        for chunk in _chunks(streams, self.policy.max_request_length):
            proto.requested.update(chunk)
            self._send_request(proto, "SUBSCRIBE", chunk).addErrback(lambda _: None)

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

    def _lag_changed(self, lagging: bool, stream: str, lag: float) -> None:
        if lagging:
            reason = f"{stream} is delivered {lag:.1f} s after its event time"
            log.warn("{name}: {reason}: the callbacks are too slow", name=self.name, reason=reason)
            self._emit(EventKind.LAGGING, reason=reason, lag=lag)
        else:
            log.info("{name}: delivery caught up ({lag:.1f} s)", name=self.name, lag=lag)
            self._emit(EventKind.CAUGHT_UP, reason=f"caught up ({lag:.1f} s)", lag=lag)

    def _queue_full(self, size: int) -> None:
        what = "oldest" if self.policy.queue_overflow == "drop_oldest" else "newest"
        reason = f"delivery queue full ({size} messages): dropping the {what}, a gap"
        log.warn("{name}: {reason}", name=self.name, reason=reason)
        self._emit(EventKind.DROPPED, reason=reason)

    def _callback_failed(self, stream: str, callback: object) -> None:
        self.stats.callback_errors += 1
        suppressed = self._throttle.allow("callback")
        if suppressed is not None:
            log.failure(
                "{name}: callback {callback} raised on a {stream} message "
                "({suppressed} similar errors not logged); the stream goes on",
                name=self.name,
                callback=callable_name(callback),
                stream=stream,
                suppressed=suppressed,
            )


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
