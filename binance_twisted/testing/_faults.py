"""The faults a test can inject into FakeBinance: broken books, dead paths, refusals, errors.

Order-book faults (a gap in the ids, stale snapshots, duplicated or reordered diffs), faults
of the connections (dropped, stalled, garbage frames, refused upgrades, ``serverShutdown``, a
slow reader) and of the request/response APIs (REST rate limits, WebSocket API errors).
:class:`~._server.FakeBinance` inherits them; each is recorded in its log.
"""

from __future__ import annotations

import random
import re
from collections import deque
from http import HTTPStatus
from typing import Any

from binance_twisted.testing._names import is_symbol
from binance_twisted.testing._site import ServerSite
from binance_twisted.testing._state import Fault, RestFault, ServerState

__all__ = ["Faults"]

_GARBAGE_TEXT = b"\x00not json{"

_GARBAGE_BINARY_SIZE = 16


def _check_status(status: int) -> None:
    if not 400 <= status <= 599:
        raise ValueError(f"status must be an HTTP error status (400-599), not {status!r}")
    HTTPStatus(status)  # a ValueError for statuses without a reason phrase


class Faults:
    """The fault injectors of :class:`~._server.FakeBinance` (its base class)."""

    _state: ServerState
    _site: ServerSite | None
    _fault_rng: random.Random

    # -- order-book faults ---------------------------------------------------------------

    def inject_depth_gap(self, symbol: str, count: int = 1) -> None:
        """The next ``count`` diff-depth events of ``symbol`` each skip update ids.

        Each such step also changes two deep levels (one bid, one ask) that no event
        reports, numbered before the published changes: on Spot streams ``U`` is past the
        previous ``u + 1``, on futures streams ``pu`` is not the previous ``u``. The true
        book (:meth:`book`, the snapshots) includes the hidden changes, so a client that
        applies events across the gap ends up with a wrong book. Counted only on steps that
        publish a diff event of ``symbol`` (some connection listens to its ``@depth``).
        """
        self._queue_book_fault("gap", symbol, count, self._state.book_faults.gaps)

    def stale_snapshots(self, symbol: str, count: int = 1, behind: int = 5) -> None:
        """Serve the next ``count`` REST depth snapshots of ``symbol`` from an older book.

        ``GET /api/v3/depth`` and ``/fapi/v1/depth`` answer with the book as it was before
        the last ``behind`` steps of the symbol (as far back as the fake remembers, 100
        steps, or to its creation), so ``lastUpdateId`` is older than diff events already
        sent, as when Binance's snapshot lags: the documented procedures must fetch again.
        Later snapshots are current again.
        """
        if behind < 1:
            raise ValueError(f"behind must be at least 1, not {behind!r}")
        name = self._book_fault_symbol(symbol)
        if count > 0:
            self._state.book_faults.add_stale(name, count, behind)
            self._log_book_fault("stale", name, count, behind=behind)

    def duplicate_depth_events(self, symbol: str, count: int = 1) -> None:
        """Send each of the next ``count`` diff-depth events of ``symbol`` twice in a row."""
        self._queue_book_fault("duplicate", symbol, count, self._state.book_faults.duplicates)

    def reorder_depth_events(self, symbol: str, count: int = 1) -> None:
        """Swap the next two diff-depth events of ``symbol`` (``count`` such pairs in turn).

        The first is held back and sent right after the second, at the next step of the
        symbol, with ids unchanged: ``U``/``pu`` of the second run ahead of the first.
        """
        self._queue_book_fault("reorder", symbol, count, self._state.book_faults.reorders)

    def _queue_book_fault(self, fault: str, symbol: str, count: int, table: dict[str, int]) -> None:
        name = self._book_fault_symbol(symbol)
        if count > 0:
            self._state.book_faults.add(table, name, count)
            self._log_book_fault(fault, name, count)

    def _book_fault_symbol(self, symbol: str) -> str:
        name = symbol.lower()
        if not is_symbol(name):
            raise ValueError(f"symbol must be letters and digits, not {symbol!r}")
        return name

    def _log_book_fault(self, fault: str, symbol: str, count: int, **detail: Any) -> None:
        detail = {"fault": fault, "symbol": symbol.upper(), "count": count, **detail}
        self._state.record("book-fault", None, detail)

    # -- faults -------------------------------------------------------------------------

    def drop_all(self) -> int:
        """Abort every TCP connection, HTTP ones included, without a close frame.

        Models a dead network path; the fake keeps listening. Returns how many stream
        connections were dropped.
        """
        return self._abort_all("dropped")

    def _abort_all(self, reason: str) -> int:
        connections = list(self._state.connections)
        for connection in connections:
            connection.abort(reason)
        if self._site is not None:
            self._site.tracker.abort_all()
        return len(connections)

    def stall(self) -> None:
        """Send nothing at all (no data, replies or pings) until :meth:`resume`.

        Connections stay open and keep reading; pong deadlines are suspended, ticks still
        advance the market (so a stalled client misses events), closes still go out.
        """
        self._state.stalled = True
        for connection in self._state.connections:
            connection.suspend_heartbeat()

    def resume(self) -> None:
        """End a :meth:`stall`; pings start again one interval from now."""
        self._state.stalled = False
        for connection in self._state.connections:
            connection.resume_heartbeat()

    def send_garbage(self, binary: bool = False) -> int:
        """Send a non-JSON text frame, or a random binary frame, to every connection."""
        frame = self._fault_rng.randbytes(_GARBAGE_BINARY_SIZE) if binary else _GARBAGE_TEXT
        return sum(connection.send(frame, binary) for connection in self._state.connections)

    def refuse_handshakes(self, n: int, status: int = 429) -> None:
        """Answer the next ``n`` WebSocket upgrades with HTTP ``status`` (e.g. 429, 503)."""
        _check_status(status)
        self._state.refusals.extend([status] * n)

    def server_shutdown(self) -> int:
        """Send Binance's ``serverShutdown`` event to every connection (closing none).

        Raw connections get ``{"e":"serverShutdown","E":ms}``, combined ones the same
        wrapped as the ``!serverShutdown`` stream, WebSocket API ones
        ``{"event":{"e":"serverShutdown","E":ms}}``. Returns how many got it.
        """
        return self._state.server_shutdown()

    def slow_reader(self, enabled: bool = True) -> None:
        """Stop (or resume) reading from client sockets, including connections made later."""
        self._state.reading_paused = enabled
        for connection in self._state.connections:
            connection.pause_reading(enabled)

    # -- faults on the request/response APIs ----------------------------------------------

    def rate_limit_rest(self, n: int, status: int = 429, retry_after: float | None = 2) -> None:
        """Answer the next ``n`` REST requests with ``status`` instead of serving them.

        The body is Binance's error JSON (429: -1003 "Too much request weight used…", 418:
        -1003 "Way too much request weight used; IP banned until…"; see ``docs/testing.rst``
        for other statuses), with a ``Retry-After`` header of ``retry_after`` seconds
        (``None``: no header).
        """
        _check_status(status)
        if n > 0:
            self._state.rest_faults.append(RestFault(status, retry_after, n))

    def wsapi_fault(
        self,
        method: str,
        *,
        delay: float | None = None,
        status: int | None = None,
        drop: bool = False,
        count: int = 1,
        retry_after: float | None = 1.0,
        code: int | None = None,
        msg: str | None = None,
    ) -> None:
        """Misbehave on the next ``count`` WebSocket API requests of ``method``.

        ``delay``: handle the request that many seconds late (later requests are answered
        first meanwhile). ``status``: answer with an error of that status instead (429 and
        418 are -1003 with ``error.data`` ``{"retryAfter": serverTime + retry_after s,
        "serverTime"}``; ``code``/``msg`` replace the defaults listed in
        ``docs/testing.rst``). ``drop``: abort the connection without answering. ``delay``
        combines with either of the others; faults queued for one method apply in order.
        """
        if status is not None:
            _check_status(status)
            if drop:
                raise ValueError("a fault either answers with a status or drops, not both")
        if delay is not None and not delay >= 0:
            raise ValueError(f"delay must be >= 0 or None, not {delay!r}")
        if count > 0:
            fault = Fault(delay, status, drop, retry_after, code, msg, count)
            method = re.sub(r"^v\d+/", "", method)  # requests are matched without the prefix
            self._state.wsapi_faults.setdefault(method, deque()).append(fault)
