"""REST depth snapshots for a recording, so that a replayed order book can sync.

A diff-depth stream alone cannot rebuild a book: a reader needs a snapshot whose
``lastUpdateId`` the recorded diffs continue. :class:`SnapshotTaker` fetches one for each
depth stream when the recording starts and after every gap on it, within the REST weight
budget (:class:`~binance_twisted.depth.budget.SnapshotScheduler`), and hands the recorder a
SNAPSHOT record: the request, when it was sent and answered (ns), and the body.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from twisted.internet import defer
from twisted.logger import Logger

from binance_twisted.depth.budget import SnapshotScheduler, snapshot_weight
from binance_twisted.recording.format import Kind, Record
from binance_twisted.rest import RestClient

__all__ = ["SnapshotTaker", "depth_symbol"]

log = Logger(namespace="binance_twisted.recording")

#: the REST path and the levels asked for, per market
_REQUESTS = {"spot": ("/api/v3/depth", 1000), "usdm": ("/fapi/v1/depth", 1000)}


def depth_symbol(stream: str) -> str | None:
    """``"BTCUSDT"`` for a diff-depth stream (``btcusdt@depth``, ``@depth@100ms``), else None."""
    symbol, _, rest = stream.partition("@")
    if rest in ("depth", "depth@100ms", "depth@250ms", "depth@500ms", "depth@1000ms"):
        return symbol.upper()
    return None


class SnapshotTaker:
    """Takes depth snapshots for a recorder (``market`` is ``spot`` or ``usdm``)."""

    def __init__(
        self,
        rest: RestClient,
        scheduler: SnapshotScheduler,
        sink: Callable[[Record], None],
        market: str = "spot",
        *,
        wall_ns: Callable[[], int] = time.time_ns,
        mono_ns: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        if market not in _REQUESTS:
            raise ValueError(f"market must be one of {', '.join(_REQUESTS)}, got {market!r}")
        self.rest, self.scheduler, self.sink, self.market = rest, scheduler, sink, market
        self._wall_ns, self._mono_ns = wall_ns, mono_ns
        self._pending: set[str] = set()
        #: snapshots recorded, and those that failed (they are retried at the next gap)
        self.taken = 0
        self.failed = 0

    def take(self, stream: str) -> defer.Deferred:
        """Snapshot ``stream``'s book once the budget allows (once at a time per stream)."""
        symbol = depth_symbol(stream)
        if symbol is None or stream in self._pending:
            return defer.succeed(None)
        path, limit = _REQUESTS[self.market]
        self._pending.add(stream)
        weight = snapshot_weight("futures" if self.market == "usdm" else "spot", limit)
        d = self.scheduler.acquire(weight)
        sent: dict[str, int] = {}

        def ask(_: object) -> defer.Deferred:
            sent["ns"] = self._wall_ns()
            return self.rest.request("GET", path, [("symbol", symbol), ("limit", limit)])

        def record(body: Any) -> None:
            details = {
                "stream": stream,
                "request": f"GET {path}?symbol={symbol}&limit={limit}",
                "sent_ns": sent["ns"],
                "received_ns": self._wall_ns(),
                "body": body,
            }
            self.sink(
                Record.event(
                    Kind.SNAPSHOT,
                    details,
                    recv_wall_ns=details["received_ns"],
                    recv_mono_ns=self._mono_ns(),
                    stream=stream,
                )
            )
            self.taken += 1

        def failed(failure: Any) -> None:
            self.failed += 1
            log.warn(
                "recording: no depth snapshot of {stream}: {error}",
                stream=stream,
                error=failure.getErrorMessage(),
            )

        d.addCallback(ask)
        d.addCallbacks(record, failed)
        d.addBoth(lambda _: self._pending.discard(stream))
        return d
