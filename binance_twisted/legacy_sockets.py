"""What every socket of the legacy managers does, whatever carries it.

A legacy socket is a key, a callback and a promise kept from python-binance: messages reach
the callback as they are, problems reach it as the flat dict ``{'e': 'error', 'type': ...,
'm': ...}`` (and the log), giving up is said once and frees the key, and connection events
reach the callback only if the user asked (``on_event``). :class:`StreamSocket` (market
streams, in :mod:`binance_twisted.manager`) and
:class:`~binance_twisted.legacy_accounts.AccountSocket` add how they open and close.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet import defer
from twisted.logger import Logger

from binance_twisted.errors import ClientClosedError, ConnectionGaveUpError, error_message
from binance_twisted.events import ConnectionEvent, EventKind

__all__ = ["LegacySocket", "event_message"]

log = Logger(namespace="binance_twisted.manager")


class LegacySocket:
    """One conn_key of a legacy manager: its callback and its once-only give-up."""

    def __init__(self, manager: Any, key: str, callback: Callable) -> None:
        self.manager = manager
        self.key = key
        self.callback = callback
        self.stopped = False
        self.gave_up = False

    def __repr__(self) -> str:
        return f"<legacy socket {self.key!r}>"

    def disconnect(self) -> None:
        """What ``bm._conns[key].disconnect()`` did in 0.7.11: stop this socket."""
        self.manager.stop_socket(self.key)

    def close(self) -> defer.Deferred:
        """On the reactor thread: stop what carries this socket (idempotent)."""
        raise NotImplementedError

    def deliver(self, message: Any) -> None:
        """Call the user's callback; a raising callback is logged, nothing else happens."""
        if self.stopped:
            return
        try:
            self.callback(message)
        except Exception:
            kind = message.get("e") if isinstance(message, dict) else type(message).__name__
            log.failure("{key}: callback raised on {kind}", key=self.key, kind=kind)

    def report(self, error: Exception) -> None:
        """A problem reaches the callback as the flat legacy error dict, and the log."""
        log.error("{key}: {error}", key=self.key, error=error)
        self.deliver(error_message(type(error).__name__, str(error)))

    def failed(self, failure: Any) -> None:
        """Opening failed for good: say so once and free the key."""
        if self.stopped or failure.check(ClientClosedError):
            return
        if failure.check(ConnectionGaveUpError):
            self.give_up()
            return
        self.report(failure.value)
        self.manager._forget(self)

    def give_up(self) -> None:
        """Retries exhausted: the legacy error dict, once, then the key is free again."""
        if self.gave_up or self.stopped:
            return
        self.gave_up = True
        self.deliver(
            error_message("BinanceWebsocketUnableToConnect", "Max reconnect retries reached")
        )
        self.manager._forget(self)

    def connection_event(self, event: ConnectionEvent) -> None:
        """A lifecycle event of what carries this socket."""
        if event.kind is EventKind.GAVE_UP:
            self.give_up()
        on_event = self.manager._options.on_event
        if on_event is True:
            self.deliver(event_message(event))
        elif callable(on_event):
            on_event(self.key, event)


def event_message(event: ConnectionEvent) -> dict[str, Any]:
    """A connection event as an in-band dict, for ``on_event=True``."""
    message: dict[str, Any] = {"e": "event", "type": event.kind.value, "m": event.reason or ""}
    for field in ("attempt", "delay", "gap", "code"):
        value = getattr(event, field)
        if value is not None:
            message[field] = value
    return message
