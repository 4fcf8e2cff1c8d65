"""SessionProtocol on autobahn's real handshake and frame parser, in memory (iosim, no sockets)."""

from __future__ import annotations

from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from twisted.test import iosim
from twisted.trial.unittest import SynchronousTestCase

from binance_twisted._json import dumps
from binance_twisted.events import EventKind
from binance_twisted.testing._protocol import ReactorTimer
from tests.support import Harness, trade

TRADES = "btcusdt@trade"


class _Server(WebSocketServerProtocol):
    """Sends what the test queued as soon as the handshake is done."""

    def onOpen(self) -> None:
        for payload, binary in self.factory.outbox:
            self.sendMessage(payload, isBinary=binary)


def converse(
    outbox: list[tuple[bytes, bool]], fragment_size: int = 0
) -> tuple[Harness, iosim.IOPump]:
    """A real handshake between a SessionProtocol and an autobahn server, then ``outbox``."""
    harness = Harness()
    harness.route(TRADES)
    harness.connection.add_streams([TRADES])
    server_factory = WebSocketServerFactory(reactor=harness.clock)
    server_factory.protocol = _Server
    server_factory.outbox = outbox
    server_factory.setProtocolOptions(autoFragmentSize=fragment_size)
    server = server_factory.buildProtocol(None)
    factory = harness.connection._factory
    # autobahn's own timers (handshake, close) on the harness clock, not the global reactor,
    # where the close timer of a failed session would outlive the test
    factory._batched_timer = ReactorTimer(harness.clock)
    factory.startedConnecting(harness.connector_of(factory))
    client = factory.buildProtocol(None)
    pump = iosim.connect(server, iosim.makeFakeServer(server), client, iosim.makeFakeClient(client))
    return harness, pump


class FramePathTests(SynchronousTestCase):
    def test_frames_travel_the_real_parser_to_the_callback(self) -> None:
        """Text frames after a real handshake reach the route, unwrapped, in order."""
        frames = [(dumps({"stream": TRADES, "data": trade(i)}), False) for i in (1, 2, 3)]
        harness, _ = converse(frames)
        self.assertEqual([d["t"] for _, d in harness.received], [1, 2, 3])
        self.assertEqual(harness.kinds(), [EventKind.CONNECTED])
        self.assertEqual(harness.connection.stats.messages, 3)

    def test_a_fragmented_message_is_reassembled(self) -> None:
        """A payload sent as many 4 KiB frames arrives as one message."""
        big = trade(7) | {"pad": "x" * 200_000}
        harness, _ = converse([(dumps({"stream": TRADES, "data": big}), False)], 4096)
        self.assertEqual(harness.received, [(TRADES, big)])
