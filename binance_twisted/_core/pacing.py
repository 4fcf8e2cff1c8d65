"""Spacing of control messages, so a connection never trips Binance's 5 msg/s limit.

Binance counts every incoming frame (PING, PONG, SUBSCRIBE, …) against 5 per second per
connection and closes with 1008 "Too many requests" beyond it; mass re-subscription after
a reconnect is the classic way to trip it. A :class:`Pacer` sends at most ``rate`` messages
per second, evenly spaced, and queues the rest in order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from twisted.internet.interfaces import IDelayedCall, IReactorTime

__all__ = ["Pacer", "Unpaced"]


class Pacer:
    """Send through ``send`` at most ``rate`` times per second; the excess waits (FIFO)."""

    def __init__(self, clock: IReactorTime, rate: float, send: Callable[[bytes], None]) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be a positive number of messages per second, got {rate}")
        self._clock = clock
        self._interval = 1.0 / rate
        self._send = send
        self._queue: deque[bytes] = deque()
        self._next_allowed = float("-inf")
        self._call: IDelayedCall | None = None

    @property
    def queued(self) -> int:
        """Messages waiting for their turn."""
        return len(self._queue)

    def send(self, payload: bytes) -> None:
        """Send now if the spacing allows, else queue behind earlier messages."""
        self._queue.append(payload)
        if self._call is None:
            self._drain()

    def stop(self) -> None:
        """Drop what is queued and cancel the timer (the session is gone)."""
        self._queue.clear()
        if self._call is not None:
            self._call.cancel()
            self._call = None

    def _drain(self) -> None:
        self._call = None
        now = self._clock.seconds()
        if now >= self._next_allowed and self._queue:
            self._send(self._queue.popleft())
            self._next_allowed = now + self._interval
        if self._queue:
            self._call = self._clock.callLater(self._next_allowed - now, self._drain)


class Unpaced:
    """The Pacer interface without pacing, for the WebSocket API.

    Binance's 5 messages per second apply to market-stream connections; the WebSocket API
    limits request *weight* instead, which Binance reports in every reply.
    """

    queued = 0

    def __init__(self, send: Callable[[bytes], None]) -> None:
        self.send = send

    def stop(self) -> None:
        """Nothing is ever queued."""
