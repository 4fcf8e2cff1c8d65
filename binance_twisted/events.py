"""Lifecycle events a connection reports to the user's ``on_event`` callback.

A stream client that hides its reconnects leaves users blind: a gap in a trade feed or an
order book after a reconnect must be visible. Every state change is one immutable
:class:`ConnectionEvent`; the :class:`EventKind` says which.
"""

from __future__ import annotations

import enum

import attrs

__all__ = ["CLOSED_BY_CLIENT", "ConnectionEvent", "EventKind"]

#: the ``reason`` of the DISCONNECTED event that ``close()`` causes
CLOSED_BY_CLIENT = "closed by the client"


class EventKind(str, enum.Enum):
    """What happened to a connection."""

    CONNECTED = "connected"  #: first successful open
    DISCONNECTED = "disconnected"  #: the session ended; ``reason`` says why
    RECONNECTING = "reconnecting"  #: a retry is scheduled; ``attempt`` and ``delay``
    RECONNECTED = "reconnected"  #: open again; ``gap`` seconds without a session
    STALLED = "stalled"  #: nothing arrived for the stall timeout; the session is dropped
    ROTATED = "rotated"  #: replaced make-before-break (24 h limit or ``serverShutdown``)
    GAVE_UP = "gave_up"  #: the retry limit was reached; no more attempts
    ERROR = "error"  #: bad data or a rejected request; the connection goes on
    LAGGING = "lagging"  #: delivery is ``lag`` seconds behind the event time (a slow consumer)
    CAUGHT_UP = "caught_up"  #: the lag is back under half the threshold
    DROPPED = "dropped"  #: queue mode: the queue is full, messages are being dropped (a gap)
    GAP = "gap"  #: the bus: entries were lost upstream (``reason`` says which and where)


@attrs.frozen
class ConnectionEvent:
    """One lifecycle event of one connection (``connection`` is its name, e.g. ``"spot-1"``)."""

    kind: EventKind
    connection: str
    time: float
    reason: str | None = None
    attempt: int | None = None
    delay: float | None = None
    gap: float | None = None
    code: int | None = None
    lag: float | None = None
