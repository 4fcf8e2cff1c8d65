"""FakeBinance for threaded code: started on the library's reactor thread.

A threaded test (or script) that uses the legacy managers has no reactor of its own: the
library runs one in a daemon thread. :class:`ThreadedFakeBinance` starts a
:class:`~binance_twisted.testing.FakeBinance` there and hands back its endpoints, and runs
its fault injectors on that thread for you::

    with ThreadedFakeBinance(symbols=["bnbbtc"]) as fake:
        bm = BinanceSocketManager(None, endpoints=fake.endpoints)
        ...
        fake.call(lambda f: f.drop_all())      # a fault, on the reactor thread
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from binance_twisted.endpoints import Endpoints
from binance_twisted.legacy.reactor_thread import call_in_reactor, ensure_running
from binance_twisted.testing import FakeBinance

__all__ = ["ThreadedFakeBinance"]

T = TypeVar("T")
_WAIT = 10.0


class ThreadedFakeBinance:
    """A FakeBinance on the library's reactor thread; use it from any other thread."""

    def __init__(self, port: int = 0, reactor: Any = None, **options: Any) -> None:
        if reactor is None:
            from twisted.internet import reactor
        self._reactor = reactor
        ensure_running(reactor)
        self.fake: FakeBinance = call_in_reactor(
            reactor, lambda: FakeBinance(reactor, **options), timeout=_WAIT
        )
        self.call(lambda fake: fake.start(port))

    def __enter__(self) -> ThreadedFakeBinance:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def endpoints(self) -> Endpoints:
        """Every URL of the fake: pass ``endpoints=`` to a manager or client."""
        return self.fake.endpoints

    def call(self, function: Callable[[FakeBinance], T]) -> T | None:
        """Run ``function(fake)`` on the reactor thread, wait and return its result (a
        Deferred's result once it fires; called on the reactor thread itself, ``None``
        for a Deferred)."""
        result: T | None = call_in_reactor(self._reactor, function, self.fake, timeout=_WAIT)
        return result

    def stop(self) -> None:
        """Stop serving (every connection is aborted); idempotent."""
        self.call(lambda fake: fake.stop())
