"""Market data from Redis Streams, with :class:`~binance_twisted.StreamClient`'s interface.

Many bots on many machines can share one set of Binance connections: recorders publish
(:mod:`binance_twisted.bus.publisher`), and each bot reads with a :class:`RedisStreamSource`
instead of a ``StreamClient``. The subscribe call, the callback shapes (``on_message(stream,
data)``, ``envelope=True``, ``raw=True``) and ``on_event`` are the same, so a bot moves between
Binance and the bus by changing the one constructor; a legacy manager takes ``bus="redis://…"``.

One blocking ``XREAD`` on its own connection serves every subscribed stream and the venue's
``_events`` key. Each stream's position is pinned when it is subscribed (its newest entry
for ``start="$"``, or the id given), so nothing published after ``subscribe`` fired is missed,
even across a Redis reconnect; a bot that was away longer than a stream's ``MAXLEN`` covers
loses what was trimmed. Events arrive at ``on_event`` as
:class:`~binance_twisted.events.ConnectionEvent`: the recorder's GAP (sequence ids or
publisher losses) as ``GAP``, its Binance disconnects as ``DISCONNECTED`` (connection
``upstream:…``), and this source's own Redis connection as ``DISCONNECTED``/``RECONNECTED``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from twisted.internet import defer
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from binance_twisted._core.policy import check_count
from binance_twisted._core.throttle import LogThrottle
from binance_twisted._json import loads
from binance_twisted.bus.address import EVENTS, BusAddress, stream_key
from binance_twisted.bus.redis import connect, disconnect
from binance_twisted.errors import ClientClosedError, callable_name
from binance_twisted.events import ConnectionEvent, EventKind
from binance_twisted.market.client import (
    Subscription,
    check_callbacks,
    check_names,
    default_validator,
)
from binance_twisted.market.connection import ENVELOPE, is_sequenced, sequence_ids

__all__ = ["RedisStreamSource"]

log = Logger(namespace="binance_twisted.bus")

_RETRY_SECONDS = 1.0


class RedisStreamSource:
    """Reads published Binance streams from Redis (see the module).

    ``start``: ``"$"`` (default) delivers what is published after ``subscribe``; ``"0"``
    everything Redis still holds; any entry id (``"1795305600000-0"``) from there on.
    ``count`` bounds the entries one read returns (so one read's memory), ``block`` is how
    long one read waits, in seconds, and so how late a newly added stream starts.
    """

    def __init__(
        self,
        reactor: IReactorTime | None = None,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        venue: str = "spot",
        prefix: str = "binance",
        start: str = "$",
        count: int = 1000,
        block: float = 0.5,
        name: str | None = None,
        connect_to: Any = connect,
    ) -> None:
        if reactor is None:
            from twisted.internet import reactor as global_reactor

            reactor = global_reactor
        check_count("count", count)
        if isinstance(block, bool) or not isinstance(block, (int, float)) or not 0 < block < 3600:
            raise ValueError(f"block must be a number of seconds in (0, 3600), got {block!r}")
        if not isinstance(start, str) or not (start in ("$", "0") or _is_entry_id(start)):
            raise ValueError(
                f"start must be '$', '0' or an entry id like '1795305600000-0', got {start!r}"
            )
        self.address = BusAddress.parse(url)
        self.venue = venue
        self.prefix = prefix
        self.start = start
        self.count = count
        self.block_ms = max(1, int(block * 1000))
        self.name = name if name is not None else f"bus-{venue}"
        self._base = stream_key(prefix, venue, "")
        self._validate = default_validator(venue)
        self._events_key = stream_key(prefix, venue, EVENTS).encode()
        self._reactor = reactor
        self._connect = connect_to
        self._reader: Any = None  # the connection that blocks in XREAD
        self._commands: Any = None  # a second one for short commands
        self._positions: dict[bytes, bytes] = {}
        self._subscriptions: set[Subscription] = set()
        self._routes: dict[str, list[Subscription]] = {}  # stream -> its subscribers
        self._throttle = LogThrottle(reactor)
        self._reading = False
        self._closed = False
        self._broken = False
        self._retry: Any = None
        self.messages = 0
        self.bytes = 0
        self.callback_errors = 0
        self.read_errors = 0
        #: entries of sequenced streams dropped as repeats (a shard handoff's overlap)
        self.duplicates = 0
        self._last_ids: dict[str, int | None] = {}
        self.last_message: float | None = None
        self.last_error: str | None = None

    def __repr__(self) -> str:
        return f"<RedisStreamSource {self.address} {self._base}* streams={len(self._positions)}>"

    # -- the StreamClient interface ----------------------------------------------------------

    def subscribe(
        self,
        streams: Iterable[str] | str,
        on_message: Callable[..., Any],
        on_event: Callable[[ConnectionEvent], Any] | None = None,
        *,
        envelope: bool = False,
        raw: bool = False,
    ) -> defer.Deferred[Subscription]:
        """Start receiving ``streams`` from the bus; fires with a
        :class:`~binance_twisted.Subscription` once their positions are pinned.

        Callback shapes as :meth:`binance_twisted.StreamClient.subscribe`.
        """
        if self._closed:
            raise ClientClosedError("this RedisStreamSource is closed")
        check_callbacks(on_message, on_event, envelope, raw)
        names = self._check_names(streams)
        subscription = Subscription(self, on_message, on_event, envelope, raw)
        self._subscriptions.add(subscription)
        return self._attach(subscription, names).addCallback(lambda _: subscription)

    def connection_of(self, stream: str) -> str | None:
        """The source's name for a subscribed stream (one connection carries them all)."""
        return self.name if self._key(stream) in self._positions else None

    def stats(self) -> dict[str, dict[str, Any]]:
        """Counters, in the shape of ``StreamClient.stats()``: one entry for this source."""
        return {
            self.name: {
                "url": str(self.address),
                "state": "closed" if self._closed else "broken" if self._broken else "reading",
                "streams": len(self._positions) - (self._events_key in self._positions),
                "messages": self.messages,
                "bytes": self.bytes,
                "callback_errors": self.callback_errors,
                "duplicates": self.duplicates,
                "read_errors": self.read_errors,
                "last_message": self.last_message,
                "last_error": self.last_error,
            }
        }

    def close(self) -> defer.Deferred[None]:
        """Stop reading and disconnect; every subscription becomes inactive."""
        self._closed = True
        for subscription in self._subscriptions:
            subscription.active = False
        self._subscriptions.clear()
        self._routes.clear()
        self._positions.clear()
        if self._retry is not None and self._retry.active():
            self._retry.cancel()
        handles = [h for h in (self._reader, self._commands) if h is not None]
        self._reader = self._commands = None
        return disconnect(self._reactor, handles)

    # -- subscriptions -----------------------------------------------------------------------

    def _key(self, stream: str) -> bytes:  # the Redis key of a Binance stream
        return (self._base + stream).encode()

    def _check_names(self, streams: Iterable[str] | str) -> list[str]:
        return check_names(streams, self._validate)

    def _attach(self, subscription: Subscription, names: list[str]) -> defer.Deferred[None]:
        """Route ``names`` to ``subscription``; fires once every new stream is pinned."""
        for name in names:
            if name in subscription._streams:
                continue
            subscription._streams[name] = None
            self._routes.setdefault(name, []).append(subscription)
            if is_sequenced(name):
                self._last_ids.setdefault(name, None)
        new = [self._key(name) for name in names if self._key(name) not in self._positions]
        if self._events_key not in self._positions:
            new.append(self._events_key)
        if self._commands is None:
            self._commands = self._connect(self.address, self._connection_failed)
            self._reader = self._connect(self.address, self._connection_failed)
        d = defer.gatherResults([self._pin(key) for key in new], consumeErrors=True)
        d.addErrback(lambda f: f.value.subFailure if isinstance(f.value, defer.FirstError) else f)
        return d.addCallback(lambda _: self._read_soon())

    def _detach(self, subscription: Subscription, names: list[str]) -> defer.Deferred[None]:
        """Stop routing ``names`` to ``subscription``; a stream nobody reads is not read."""
        for name in names:
            subscription._streams.pop(name, None)
            routes = self._routes.get(name, [])
            if subscription in routes:
                routes.remove(subscription)
            if not routes:
                self._routes.pop(name, None)
                self._positions.pop(self._key(name), None)
        if not subscription._streams:
            subscription.active = False
            self._subscriptions.discard(subscription)
        return defer.succeed(None)

    def _connection_failed(self, message: str) -> None:
        self.last_error = message
        if not self._broken:
            self._broken = True
            self._event(EventKind.DISCONNECTED, self.name, message, None)

    def _pin(self, key: bytes) -> defer.Deferred[None]:
        """Fix where ``key`` is read from: its newest entry now (``$``), or ``start``."""
        if self.start != "$":
            self._positions.setdefault(key, self.start.encode())
            return defer.succeed(None)
        d = self._commands.execute_command(b"XREVRANGE", key, b"+", b"-", b"COUNT", b"1")

        def pinned(newest: Any) -> None:
            if not self._closed:
                self._positions.setdefault(key, newest[0][0] if newest else b"0-0")

        return d.addCallback(pinned)

    # -- the read loop -----------------------------------------------------------------------

    def _read_soon(self) -> None:
        if not self._reading and not self._closed:
            self._reading = True
            self._read()

    def _read(self) -> None:
        if self._closed or not self._subscriptions:
            self._reading = False
            return
        keys = list(self._positions)
        ids = [self._positions[key] for key in keys]
        d = self._reader.execute_command(
            b"XREAD", b"COUNT", b"%d" % self.count, b"BLOCK", b"%d" % self.block_ms,
            b"STREAMS", *keys, *ids,
        )  # fmt: skip
        d.addCallbacks(self._entries, self._read_failed)
        d.addErrback(lambda f: log.failure("bus read loop failed", f))

    def _entries(self, reply: Any) -> None:
        if reply:
            self.last_message = self._reactor.seconds()  # once per read: all arrived now
        if self._broken:
            self._broken = False
            self._event(EventKind.RECONNECTED, self.name, "the bus is readable again", None)
        for key, entries in reply or ():
            if key not in self._positions:
                continue  # unsubscribed while the read was out
            if key == self._events_key:
                for entry_id, fields in entries:
                    self._positions[key] = entry_id
                    self._upstream_event(_pairs(fields))
                continue
            stream = key[len(self._base) :].decode()
            for entry_id, fields in entries:
                self._positions[key] = entry_id
                self._deliver(stream, _pairs(fields).get(b"raw", b""))
        self._read()

    def _deliver(self, stream: str, raw: bytes) -> None:
        self.messages += 1
        self.bytes += len(raw)
        try:
            data = loads(raw)
        except ValueError as e:
            self.last_error = f"undecodable entry on {stream}: {e}"
            self._log_problem("undecodable", "bus: {error}", error=self.last_error)
            return
        if type(data) is dict and "data" in data and "stream" in data:
            data = data["data"]
        if stream in self._last_ids:  # a sequenced stream: drop what a handoff repeated
            ids = sequence_ids(data)
            if ids is not None:
                last = self._last_ids[stream]
                if last is not None and ids[1] <= last:
                    self.duplicates += 1
                    return
                self._last_ids[stream] = ids[1]
        for subscription in self._routes.get(stream, ()):
            shape = subscription.shape
            try:
                if not shape:
                    subscription.on_message(stream, data)
                elif shape == ENVELOPE:
                    subscription.on_message({"stream": stream, "data": data})
                else:
                    subscription.on_message(stream, data, raw)
            except Exception:
                self.callback_errors += 1
                self._log_problem(
                    "callback",
                    "bus: callback {callback} raised on a {stream} message; the stream goes on",
                    failure=Failure(),
                    callback=callable_name(subscription.on_message),
                    stream=stream,
                )

    def _log_problem(
        self, kind: str, text: str, failure: Failure | None = None, **fields: Any
    ) -> None:
        """At most one line per kind every few seconds, with how many were not logged."""
        suppressed = self._throttle.allow(kind)
        if suppressed is None:
            return
        text += " ({suppressed} similar not logged)"
        if failure is not None:
            log.failure(text, failure, suppressed=suppressed, **fields)
        else:
            log.warn(text, suppressed=suppressed, **fields)

    def _upstream_event(self, fields: dict[bytes, bytes]) -> None:
        kind = fields.get(b"kind", b"").decode()
        try:
            details = loads(fields.get(b"details", b"{}"))
        except ValueError:
            details = {}
        streams = {fields.get(b"stream", b"").decode(), *details.get("streams", {})} - {""}
        if kind == "GAP":
            reason = details.get("reason") or (
                f"{details.get('stream')}: ids {details.get('last_id')} -> "
                f"{details.get('next_id')} ({details.get('detected_by')})"
            )
            self._event(EventKind.GAP, f"upstream:{self.name}", reason, streams or None)
        elif kind == "DISCONNECT":
            connection = f"upstream:{details.get('connection', '?')}"
            self._event(EventKind.DISCONNECTED, connection, details.get("reason"), None)

    def _read_failed(self, failure: Failure) -> None:
        if self._closed:
            return
        self.read_errors += 1
        self.last_error = failure.getErrorMessage()
        if not self._broken:
            self._broken = True
            log.warn("bus {address}: read failed ({error}); retrying",
                     address=str(self.address), error=self.last_error)  # fmt: skip
            self._event(EventKind.DISCONNECTED, self.name, self.last_error, None)
        self._retry = self._reactor.callLater(_RETRY_SECONDS, self._read)

    def _event(
        self, kind: EventKind, connection: str, reason: str | None, streams: set[str] | None
    ) -> None:
        event = ConnectionEvent(kind, connection, self._reactor.seconds(), reason=reason)
        for subscription in list(self._subscriptions):
            if subscription.on_event is None:
                continue
            if streams is not None and not streams.intersection(subscription._streams):
                continue
            try:
                subscription.on_event(event)
            except Exception:
                self.callback_errors += 1
                self._log_problem(
                    "on_event",
                    "bus: on_event {callback} raised",
                    failure=Failure(),
                    callback=callable_name(subscription.on_event),
                )


def _pairs(fields: list[bytes]) -> dict[bytes, bytes]:
    """A stream entry's flat ``[field, value, ...]`` list as a dict."""
    return dict(zip(fields[::2], fields[1::2], strict=False))  # an odd tail is ignored


def _is_entry_id(text: str) -> bool:
    ms, _, seq = text.partition("-")
    return ms.isascii() and ms.isdigit() and (not seq or (seq.isascii() and seq.isdigit()))
