"""What the chaos tests share: the switch, hostile servers on real ports, memory peaks."""

from __future__ import annotations

import os
import tracemalloc
from collections.abc import Callable
from typing import Any

from twisted.internet import defer, reactor
from twisted.trial.unittest import TestCase

from binance_twisted import ConnectionEvent, ConnectionPolicy, EventKind, StreamClient
from binance_twisted.testing import FakeBinance
from binance_twisted.testing._site import fake_endpoints
from tests.hostile import HostileFactory, HostileServer

MiB = 1024 * 1024
SWITCH = "BINANCE_TWISTED_CHAOS"


class ChaosTestCase(TestCase):
    """Skipped unless ``BINANCE_TWISTED_CHAOS=1`` (``tox -e chaos`` sets it)."""

    skip = (
        None if os.environ.get(SWITCH) == "1" else f"the chaos suite: run tox -e chaos ({SWITCH}=1)"
    )

    def hostile(self, script: Callable[[HostileServer], Any]) -> HostileFactory:
        """A hostile server listening on a free loopback port, running ``script`` per connection."""
        factory = HostileFactory(script)
        port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        factory.port_number = port.getHost().port  # type: ignore[attr-defined]

        def close() -> defer.Deferred:
            for server in factory.connections:
                if server.transport is not None:
                    server.transport.abortConnection()
            return defer.maybeDeferred(port.stopListening)

        self.addCleanup(close)
        return factory

    def client(
        self, port: int, events: list[ConnectionEvent] | None = None, **policy: Any
    ) -> StreamClient:
        """A StreamClient of the server on ``port`` (closed at the end of the test)."""
        client = StreamClient(
            reactor,
            fake_endpoints("127.0.0.1", port, False),
            policy=ConnectionPolicy(**{"initial_delay": 0.05, "max_delay": 0.2, **policy}),
        )
        self.addCleanup(client.close)
        return client

    async def fake(self, **options: Any) -> FakeBinance:
        fake = FakeBinance(reactor, **{"event_interval": 0.02, **options})
        await fake.start()
        self.addCleanup(fake.stop)
        return fake


class Peak:
    """tracemalloc's peak of Python allocations from ``start()`` to ``stop()``."""

    def __init__(self) -> None:
        self.bytes = 0

    def start(self) -> None:
        tracemalloc.start()

    def stop(self) -> int:
        self.bytes = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return self.bytes


def kinds(events: list[ConnectionEvent]) -> list[EventKind]:
    return [event.kind for event in events]


class Flood:
    """Writes ``total`` bytes of ``chunk`` to a transport as fast as it drains, never faster.

    A push producer: the transport pauses it when its buffer fills, so the server side holds
    at most one chunk and a transport buffer, and the memory a test measures is the client's.
    """

    def __init__(self, server: HostileServer, chunk: bytes, total: int) -> None:
        from twisted.internet.task import LoopingCall

        self.server, self.chunk, self.left = server, chunk, total
        self.loop = LoopingCall(self._write)
        self.loop.clock = reactor
        server.transport.registerProducer(self, True)
        self.resumeProducing()

    def _write(self) -> None:
        transport = self.server.transport
        if self.left <= 0 or transport is None or transport.disconnecting:
            self.stopProducing()
            return
        transport.write(self.chunk)
        self.left -= len(self.chunk)

    def resumeProducing(self) -> None:
        if not self.loop.running and self.left > 0:
            self.loop.start(0, now=True)

    def pauseProducing(self) -> None:
        if self.loop.running:
            self.loop.stop()

    def stopProducing(self) -> None:
        self.left = 0
        self.pauseProducing()
