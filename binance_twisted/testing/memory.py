"""FakeBinance in memory: real clients and the fake's real server, no sockets, no real time.

:class:`MemoryBinance` starts a :class:`~binance_twisted.testing.FakeBinance` on an
:class:`InMemoryReactor`, a ``MemoryReactorClock`` whose ``connectTCP``/``connectSSL``
reach what listens on it through in-memory transports. Build your clients on
``mem.reactor`` with ``mem.endpoints`` and they connect to the fake exactly as over
127.0.0.1 (autobahn's ``connectWS`` calls ``reactor.connectTCP``); REST goes through treq's
``StubTreq`` over the fake's own resource (``mem.http``, for ``RestClient(..., http=...)``).
The server objects are the ones FakeBinance listens with on TCP.

Nothing happens until the test says so: :meth:`~MemoryBinance.flush` delivers what is in
flight, :meth:`~MemoryBinance.advance` moves the clock timer by timer (market ticks, pings,
expiries, the clients' own timers) delivering what each sends, and
:meth:`~MemoryBinance.advance_until` / :meth:`~MemoryBinance.result_of` move it until
something holds. No test needs the global reactor, so they can be ``SynchronousTestCase``\\ s::

    from twisted.trial.unittest import SynchronousTestCase

    from binance_twisted import StreamClient
    from binance_twisted.testing.memory import MemoryBinance


    class TradeTests(SynchronousTestCase):
        def test_trades_arrive(self):
            mem = MemoryBinance(symbols=["btcusdt"])
            self.addCleanup(mem.stop)
            client = StreamClient(mem.reactor, mem.endpoints)
            trades = []
            mem.result_of(client.subscribe(["btcusdt@trade"], lambda s, t: trades.append(t)))
            mem.advance(1.0)
            self.assertTrue(trades)

Use plain endpoints (``mem.endpoints`` are ``ws://`` and ``http://``): TLS is not simulated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from treq.testing import StubTreq
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from binance_twisted.endpoints import Endpoints
from binance_twisted.testing._loopback import InMemoryReactor
from binance_twisted.testing._server import FakeBinance, describe

__all__ = ["START_TIME", "InMemoryReactor", "MemoryBinance"]

T = TypeVar("T")

#: Where the clock of a :class:`MemoryBinance` starts: 2026-01-01 00:00:00 UTC, so that
#: server times and ``E`` fields look like today's.
START_TIME = 1_767_225_600.0
_NOT_HERE = ("reactor", "clock", "tls")


class MemoryBinance:
    """A started :class:`~binance_twisted.testing.FakeBinance` wired to clients in memory.

    ``options`` are FakeBinance's keyword options (``symbols``, ``event_interval``,
    ``ping_interval``, ``listen_key_validity``…) except ``reactor``, ``clock`` and ``tls``,
    which it chooses itself. The clock starts at ``start_time`` (epoch seconds).

    Attributes:
        reactor: the :class:`InMemoryReactor` to build clients on; also the fake's clock.
        fake: the FakeBinance, for faults, accounts, the log and :meth:`~FakeBinance.tick`.
        http: a ``treq.testing.StubTreq`` answering from the fake's REST endpoints.
    """

    def __init__(self, *, start_time: float = START_TIME, **options: Any) -> None:
        chosen = sorted(set(options) & set(_NOT_HERE))
        if chosen:
            raise TypeError(f"MemoryBinance chooses {', '.join(chosen)} itself (no TLS in memory)")
        self.reactor = InMemoryReactor()
        self.reactor.advance(start_time)
        self.fake = FakeBinance(self.reactor, **options)
        self.fake.start()  # listening in memory: done on return
        self.http = StubTreq(self.fake.resource)

    @property
    def endpoints(self) -> Endpoints:
        """The fake's URLs (``ws://127.0.0.1:<port>``…), reachable on :attr:`reactor` only."""
        return self.fake.endpoints

    def flush(self) -> None:
        """Deliver everything in flight, both ways, and run what is due now."""
        self.reactor.flush()

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` on, timer by timer, delivering what each timer sends."""
        self.reactor.advance(seconds)

    def advance_until(
        self, predicate: Callable[[], T], timeout: float = 60.0, description: str | None = None
    ) -> T:
        """Move the clock timer by timer until ``predicate()`` is true; returns its value.

        Raises:
            TimeoutError: still false after ``timeout`` seconds of the clock, naming
                ``description`` (default: the predicate's source).
        """
        deadline = self.reactor.seconds() + timeout
        self.reactor.flush()
        value = predicate()
        while not value:
            if not self.reactor.step(deadline):
                self.reactor.advance(max(0.0, deadline - self.reactor.seconds()))
                value = predicate()
                if value:
                    break
                what = description or describe(predicate)
                raise TimeoutError(f"{timeout} s of clock time passed in vain: {what}")
            value = predicate()
        return value

    def result_of(self, deferred: Deferred[T], timeout: float = 60.0) -> T:
        """Move the clock until ``deferred`` fires; its result, or its exception raised.

        The Deferred's result is taken: callbacks added afterwards see ``None``.
        """
        outcome: list[Any] = []
        deferred.addBoth(outcome.append)
        self.advance_until(lambda: outcome, timeout, "the Deferred to fire")
        (result,) = outcome
        if isinstance(result, Failure):
            result.raiseException()
        return result

    def stop(self) -> None:
        """Stop the fake (aborting its connections) and deliver the aborts to the clients.

        Clients see their connections drop; those that reconnect keep trying on the
        in-memory clock, which nothing runs any more. Safe to call twice.
        """
        stopped = self.fake.stop()
        self.reactor.flush()
        if not stopped.called:
            raise RuntimeError("the fake's connections did not all close in memory")
