"""The per-connection limits Binance enforces on its side (binance-platform.md §2).

* :class:`ConnectionPolicy`: what the server enforces, as configured on the fake.
* :class:`RateWindow`: at most N incoming frames (text, ping, pong) in any sliding second;
  the next one gets the connection closed with 1008 "Too many requests".
* :class:`Heartbeat`: a ping every 20 s, and a deadline of 1 min for the pong that echoes
  it; a pong with another payload (an unsolicited one) does not count.

Both take the clock as an argument and do no I/O themselves, so they are tested with
:class:`twisted.internet.task.Clock`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import attrs
from twisted.internet.interfaces import IDelayedCall, IReactorTime

__all__ = ["ConnectionPolicy", "Heartbeat", "RateWindow"]


@attrs.frozen
class ConnectionPolicy:
    """What the server enforces on every connection (see :class:`FakeBinance`)."""

    ping_interval: float | None
    pong_timeout: float | None
    max_incoming_rate: int | None
    max_streams: int
    lifetime: float | None
    close_on_invalid_stream: bool


class RateWindow:
    """Counts events in a sliding window of ``period`` seconds against ``limit``."""

    def __init__(self, clock: IReactorTime, limit: int | None, period: float = 1.0) -> None:
        self._clock = clock
        self._limit = limit
        self._period = period
        self._times: deque[float] = deque()

    def admit(self) -> bool:
        """Count one event now; ``False`` if it is one too many (``limit=None``: never)."""
        if self._limit is None:
            return True
        now = self._clock.seconds()
        while self._times and self._times[0] <= now - self._period:
            self._times.popleft()
        self._times.append(now)
        return len(self._times) <= self._limit


class Heartbeat:
    """Server pings on one connection, and the deadline for the pongs that answer them.

    Each ping carries the clock in milliseconds as ASCII. A pong answers the ping with the
    same payload and every older one; the oldest unanswered ping must be answered within
    ``timeout`` seconds or ``expire`` is called. ``interval=None`` sends no pings,
    ``timeout=None`` never expires. :meth:`stop` cancels everything (and forgets the
    pings in flight); :meth:`start` begins again with a fresh interval.
    """

    def __init__(
        self,
        clock: IReactorTime,
        interval: float | None,
        timeout: float | None,
        send_ping: Callable[[bytes], None],
        expire: Callable[[], None],
    ) -> None:
        self._clock = clock
        self._interval = interval
        self._timeout = timeout
        self._send_ping = send_ping
        self._expire = expire
        self._in_flight: list[tuple[bytes, float]] = []
        self._ping_call: IDelayedCall | None = None
        self._deadline_call: IDelayedCall | None = None

    def start(self) -> None:
        """Schedule the next ping (idempotent)."""
        if self._interval is not None and self._ping_call is None:
            self._ping_call = self._clock.callLater(self._interval, self._ping)

    def stop(self) -> None:
        """Cancel the next ping and the pong deadline."""
        for call in (self._ping_call, self._deadline_call):
            if call is not None and call.active():
                call.cancel()
        self._ping_call = self._deadline_call = None
        self._in_flight.clear()

    def pong(self, payload: bytes) -> bool:
        """Whether ``payload`` answers a ping in flight (and if so, move the deadline)."""
        for index, (sent, _) in enumerate(self._in_flight):
            if sent == payload:
                del self._in_flight[: index + 1]
                self._arm_deadline()
                return True
        return False

    def _ping(self) -> None:
        self._ping_call = None
        now = self._clock.seconds()
        payload = str(round(now * 1000)).encode("ascii")
        self._in_flight.append((payload, now))
        if self._deadline_call is None:
            self._arm_deadline()
        self.start()
        self._send_ping(payload)

    def _arm_deadline(self) -> None:
        if self._deadline_call is not None and self._deadline_call.active():
            self._deadline_call.cancel()
        self._deadline_call = None
        if self._timeout is None or not self._in_flight:
            return
        due = self._in_flight[0][1] + self._timeout
        delay = max(0.0, due - self._clock.seconds())
        self._deadline_call = self._clock.callLater(delay, self._expired)

    def _expired(self) -> None:
        self._deadline_call = None
        self.stop()
        self._expire()


def orders_limit(interval: str, interval_num: int, limit: int, count: int) -> dict[str, Any]:
    """One ``ORDERS`` entry of a ``rateLimits`` list, as Binance writes it."""
    return {
        "rateLimitType": "ORDERS",
        "interval": interval,
        "intervalNum": interval_num,
        "limit": limit,
        "count": count,
    }
