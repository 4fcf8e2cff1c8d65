"""What every socket of the legacy managers does, whatever carries it, and the key registry.

A legacy socket is a key, a callback and a promise kept from python-binance: messages reach
the callback as they are, problems reach it as the flat dict ``{'e': 'error', 'type': ...,
'm': ...}`` (and the log), giving up is said once and frees the key, and connection events
reach the callback only if the user asked (``on_event``). Sockets talk to their
:class:`~binance_twisted.legacy.venue.Venue` (where their connections come from) and their
:class:`SocketRegistry` (whose key they hold), never to the manager.
:class:`StreamSocket` carries market streams;
:class:`~binance_twisted.legacy.accounts.AccountSocket` and
:class:`~binance_twisted.legacy.depthcache.DepthCacheSocket` add their own opening.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from twisted.internet import defer
from twisted.logger import Logger

from binance_twisted.errors import (
    ClientClosedError,
    ConnectionGaveUpError,
    MessageTooBigError,
    callable_name,
    error_message,
)
from binance_twisted.events import ConnectionEvent, EventKind
from binance_twisted.legacy.plans import SocketPlan
from binance_twisted.legacy.venue import Venue
from binance_twisted.market.client import Subscription

__all__ = ["LegacySocket", "SocketRegistry", "StreamSocket", "event_message", "note_once"]

log = Logger(namespace="binance_twisted.manager")
_noted: set[str] = set()
_noted_lock = threading.Lock()


def note_once(note: str) -> None:
    """Log a plan's note (a retired stream served by its successor…) once per process."""
    with _noted_lock:
        if note in _noted:
            return
        _noted.add(note)
    log.warn("{note}", note=note)


class SocketRegistry:
    """The conn_keys of one manager and their sockets, safe to use from any thread.

    :attr:`conns` is the manager's ``_conns`` (0.7.11 code reads it): ``{conn_key: socket}``.
    """

    def __init__(self) -> None:
        self.conns: dict[str, LegacySocket] = {}
        self.lock = threading.RLock()

    def sockets(self) -> list[LegacySocket]:
        """A copy of the registered sockets."""
        with self.lock:
            return list(self.conns.values())

    def pop(self, key: str) -> LegacySocket | None:
        """Unregister ``key`` and return its socket (``None`` if unknown)."""
        with self.lock:
            return self.conns.pop(key, None)

    def forget(self, socket: LegacySocket) -> None:
        """Release ``socket``'s key if it still holds it (a newer socket may reuse the key)."""
        with self.lock:
            if self.conns.get(socket.key) is socket:
                del self.conns[socket.key]

    def add_unique(self, key: str, make: Callable[[str], LegacySocket]) -> LegacySocket:
        """Register ``make(k)`` under ``key``, or ``key#2``, ``key#3``… when taken."""
        with self.lock:
            unique, n = key, 1
            while unique in self.conns:
                n += 1
                unique = f"{key}#{n}"
            socket = self.conns[unique] = make(unique)
            return socket

    def take_all(self) -> list[LegacySocket]:
        """Unregister every socket, marked stopped (an ``open()`` still queued does nothing)."""
        with self.lock:
            sockets = list(self.conns.values())
            self.conns.clear()
            for socket in sockets:
                socket.stopped = True
            return sockets


class LegacySocket:
    """One conn_key of a legacy manager: its callback and its once-only give-up."""

    def __init__(
        self, venue: Venue, registry: SocketRegistry, key: str, callback: Callable
    ) -> None:
        self.venue = venue
        self.registry = registry
        self.key = key
        self.callback = callback
        self.stopped = False
        self.gave_up = False

    def __repr__(self) -> str:
        return f"<legacy socket {self.key!r}>"

    def open(self) -> defer.Deferred:
        """On the reactor thread: start what carries this socket; fires once it carries
        messages, or once opening failed for good (said to the callback)."""
        raise NotImplementedError

    def close(self) -> defer.Deferred:
        """On the reactor thread: stop what carries this socket (idempotent)."""
        raise NotImplementedError

    def disconnect(self) -> None:
        """What ``bm._conns[key].disconnect()`` did in 0.7.11: stop this socket."""
        self.stopped = True
        self.registry.forget(self)
        self.venue.call_soon(self.close)

    def discard(self) -> defer.Deferred:
        """On the reactor thread: stop and free the key, never touching a newer socket's."""
        self.registry.forget(self)
        return self.close()

    def deliver(self, message: Any) -> None:
        """Call the user's callback; a raising callback is logged, nothing else happens."""
        if self.stopped:
            return
        try:
            self.callback(message)
        except Exception:
            kind = message.get("e") if isinstance(message, dict) else type(message).__name__
            log.failure(
                "{key}: callback {callback} raised on {kind}",
                key=self.key,
                callback=callable_name(self.callback),
                kind=kind,
            )

    def report(self, error: Exception) -> None:
        """A problem reaches the callback as the flat legacy error dict, and the log."""
        log.error("{key}: {error}", key=self.key, error=error)
        self.deliver(error_message(type(error).__name__, str(error)))

    def failed(self, failure: Any) -> None:
        """Opening failed for good: say so once and free the key."""
        if self.stopped or failure.check(ClientClosedError):
            return
        if failure.check(ConnectionGaveUpError):
            self.give_up(failure.value.last_reason)
            return
        self.report(failure.value)
        self.registry.forget(self)

    def give_up(self, reason: str | None = None) -> None:
        """Retries exhausted: the legacy error dict, once, then the key is free again.

        ``m`` starts with 0.7.11's text and names the last error (0.7.11 printed it to
        stderr, if anywhere): ``"Max reconnect retries reached (last error: ...)"``.
        """
        if self.gave_up or self.stopped:
            return
        self.gave_up = True
        text = "Max reconnect retries reached"
        if reason:
            text += f" (last error: {reason})"
        self.deliver(error_message("BinanceWebsocketUnableToConnect", text))
        self.registry.forget(self)

    def connection_event(self, event: ConnectionEvent) -> None:
        """A lifecycle event of what carries this socket."""
        if event.kind is EventKind.GAVE_UP:
            self.give_up(event.reason)
        elif event.kind is EventKind.ERROR and event.code == MessageTooBigError.code:
            # a lost message is a gap the callback must hear of (the log has it already)
            self.deliver(error_message(MessageTooBigError.__name__, event.reason or ""))
        elif event.kind is EventKind.DROPPED:
            # python-binance 1.x's name for it (its socket died there; here it goes on)
            self.deliver(error_message("BinanceWebsocketQueueOverflow", event.reason or ""))
        on_event = self.venue.options.on_event
        if on_event is True:
            self.deliver(event_message(event))
        elif callable(on_event):
            on_event(self.key, event)


class StreamSocket(LegacySocket):
    """A legacy market-stream socket: a subscription on the venue's shared StreamClient."""

    def __init__(
        self,
        venue: Venue,
        registry: SocketRegistry,
        key: str,
        plan: SocketPlan,
        callback: Callable,
    ) -> None:
        super().__init__(venue, registry, key, callback)
        self.plan = plan
        self.subscriptions: list[Subscription] = []

    def open(self) -> defer.Deferred:
        """On the reactor thread: subscribe the plan's streams."""
        if self.stopped:
            return defer.succeed(None)
        callback = self.callback
        deliver = callback if self.plan.envelope else (lambda stream, data: callback(data))
        client = self.venue.stream_client(self.plan.market)
        d = client.subscribe(
            self.plan.streams, deliver, self.connection_event, envelope=self.plan.envelope
        )
        return d.addCallbacks(self.subscribed, self.failed)

    def subscribed(self, subscription: Subscription) -> None:
        if self.stopped:
            subscription.unsubscribe().addErrback(lambda _: None)
        else:
            self.subscriptions.append(subscription)

    def close(self) -> defer.Deferred:
        """On the reactor thread: unsubscribe everything (idempotent)."""
        self.stopped = True
        subscriptions, self.subscriptions = self.subscriptions, []
        d = defer.gatherResults([s.unsubscribe() for s in subscriptions], consumeErrors=True)
        d.addErrback(lambda _: None)
        return d


def event_message(event: ConnectionEvent) -> dict[str, Any]:
    """A connection event as an in-band dict, for ``on_event=True``."""
    message: dict[str, Any] = {"e": "event", "type": event.kind.value, "m": event.reason or ""}
    for field in ("attempt", "delay", "gap", "code", "lag"):
        value = getattr(event, field)
        if value is not None:
            message[field] = value
    return message
