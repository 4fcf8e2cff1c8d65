"""Between the socket and the callbacks: how late messages are, and an optional bounded queue.

A consumer slower than its streams falls behind silently: the kernel buffers the backlog,
every message arrives later than the last, and the server's pings wait behind it unanswered
(Binance drops a session that does not pong within a minute). :class:`LagMonitor` makes the
lag visible: now minus the event time ``E`` of a sampled message (one in
:data:`SAMPLE_EVERY`, so the fast path pays a countdown, not a clock read), per stream in
``stats()["lag"]``, and a ``LAGGING`` / ``CAUGHT_UP`` event pair around a threshold.

:class:`DeliveryQueue` is the opt-in ``queue`` mode: messages wait in a bounded FIFO and are
handed to the callbacks in slices on the reactor, so between two slices the reactor reads
its sockets and answers pings. When the FIFO is full the oldest (or the newest) message is
dropped, counted and reported: a gap the user hears of, never unbounded memory.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from twisted.internet.interfaces import IDelayedCall, IReactorTime

from binance_twisted._core.policy import Overflow
from binance_twisted._core.stats import ConnectionStats

__all__ = ["SAMPLE_EVERY", "DeliveryQueue", "LagMonitor"]

#: one message in this many has its lag measured
SAMPLE_EVERY = 16
#: a queue slice hands messages over for at most this long before the reactor gets a turn
SLICE_SECONDS = 0.02

Deliver = Callable[[str, Any, dict, bytes], None]
Report = Callable[..., None]


class LagMonitor:
    """Samples ``now - E`` per stream; reports crossing ``threshold`` (and half of it, back).

    ``report(lagging, stream, lag)`` is called once when the lag passes the threshold and
    once when it falls under half of it again (the hysteresis keeps a lag that hovers at
    the threshold from flapping).
    """

    def __init__(
        self,
        clock: IReactorTime,
        stats: ConnectionStats,
        threshold: float | None,
        report: Callable[[bool, str, float], None],
    ) -> None:
        self._clock = clock
        self._stats = stats
        self._threshold = threshold
        self._report = report
        self.countdown = SAMPLE_EVERY

    def sample(self, stream: str, data: Any) -> None:
        """Measure the lag of this message, if it carries an event time."""
        self.countdown = SAMPLE_EVERY
        if type(data) is list and data:
            data = data[0]  # array streams (!ticker@arr): the first element's time
        event_time = data.get("E") if type(data) is dict else None
        if type(event_time) is not int:
            return
        lag = round(self._clock.seconds() - event_time / 1000.0, 3)
        stats = self._stats
        stats.lag[stream] = lag
        threshold = self._threshold
        if threshold is None:
            return
        if not stats.lagging and lag > threshold:
            stats.lagging = True
            self._report(True, stream, lag)
        elif stats.lagging and lag < threshold / 2 and _worst(stats.lag) < threshold / 2:
            stats.lagging = False
            self._report(False, stream, lag)

    def forget(self, stream: str) -> None:
        """The stream was removed: its last lag no longer says anything."""
        self._stats.lag.pop(stream, None)


def _worst(lags: dict[str, float]) -> float:
    return max(lags.values(), default=0.0)


class DeliveryQueue:
    """A bounded FIFO between the session and ``deliver``, drained in slices on the reactor."""

    def __init__(
        self,
        clock: IReactorTime,
        stats: ConnectionStats,
        size: int,
        overflow: Overflow,
        deliver: Deliver,
        report_drop: Callable[[int], None],
    ) -> None:
        self._clock = clock
        self._stats = stats
        self._size = size
        self._drop_oldest = overflow == "drop_oldest"
        self._deliver = deliver
        self._report_drop = report_drop
        self._queue: deque[tuple[str, Any, dict, bytes]] = deque()
        self._call: IDelayedCall | None = None
        self._dropping = False

    def __len__(self) -> int:
        return len(self._queue)

    def put(self, stream: str, data: Any, envelope: dict, raw: bytes) -> None:
        """Queue one payload; when full, drop the oldest or this one (counted, reported)."""
        queue = self._queue
        if len(queue) >= self._size:
            self._stats.dropped += 1
            if not self._dropping:
                self._dropping = True  # one report per episode; the count says the rest
                self._report_drop(self._size)
            if not self._drop_oldest:
                return
            queue.popleft()
        queue.append((stream, data, envelope, raw))
        self._stats.queued = len(queue)
        if self._call is None:
            self._call = self._clock.callLater(0, self._drain)

    def clear(self) -> None:
        """Drop what waits (the connection was closed) and stop draining."""
        self._queue.clear()
        self._stats.queued = 0
        if self._call is not None:
            self._call.cancel()
            self._call = None

    def _drain(self) -> None:
        self._call = None
        queue, deliver, clock = self._queue, self._deliver, self._clock
        deadline = clock.seconds() + SLICE_SECONDS
        while queue:
            deliver(*queue.popleft())
            if clock.seconds() >= deadline:
                break
        self._stats.queued = len(queue)
        if queue:
            self._call = clock.callLater(0, self._drain)
        else:
            self._dropping = False
