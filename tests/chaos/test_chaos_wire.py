"""A hostile WebSocket server on a real port: giant frames, endless fragments, gzip bombs,
deep JSON, unfriendly close codes, silent handshakes, refused connections.

What the user must see: the session fails with the right code and reason and comes back, the
memory the attack costs stays bounded, and a client on another server never notices.
"""

from __future__ import annotations

import gzip
import json

from twisted.internet import reactor

from binance_twisted import ConnectionEvent, EventKind
from tests.chaos.support import ChaosTestCase, Flood, MiB, Peak, kinds
from tests.hostile import CONTINUATION, PING, TRADES, HostileServer, frame, message
from tests.support import asynchronous, wait_until


def attack_then_serve(attack):
    """A script: the first connection is attacked, every later one gets a trade (id 77)."""

    def script(server: HostileServer) -> None:
        if len(server.factory.connections) == 1:
            attack(server)
        else:
            server.send(frame(message(77)))

    return script


class OversizeTests(ChaosTestCase):
    async def attacked(self, attack, **policy) -> tuple[list, list[ConnectionEvent], Peak]:
        """Run ``attack`` on a native client's first session; return what it received, its
        events and the memory peak while under attack, once it has reconnected."""
        factory = self.hostile(attack_then_serve(attack))
        received: list[int] = []
        events: list[ConnectionEvent] = []
        client = self.client(factory.port_number, **policy)
        peak = Peak()
        peak.start()
        try:
            client.subscribe([TRADES], lambda s, d: received.append(d["t"]), events.append)
            await wait_until(lambda: 77 in received, timeout=20)
        finally:
            peak.stop()
        return received, events, peak

    def assert_failed_with_1009(self, events: list[ConnectionEvent]) -> None:
        errors = [e for e in events if e.kind is EventKind.ERROR]
        self.assertEqual([e.code for e in errors], [1009])
        (lost,) = [e for e in events if e.kind is EventKind.DISCONNECTED]
        self.assertEqual(lost.code, 1009)
        self.assertIn(EventKind.RECONNECTED, kinds(events))

    @asynchronous
    async def test_a_512_mib_frame_streamed_for_real_costs_no_memory(self) -> None:
        """The server announces 512 MiB and pushes up to 64 MiB as fast as the socket
        takes it: refused at the header (peak < 16 MiB), 1009, back with the next trade; a
        FakeBinance stream in the same process keeps every trade id."""
        fake = await self.fake()
        other: list[int] = []
        bystander = self.client(fake.port)
        bystander.subscribe(["bnbbtc@trade"], lambda s, d: other.append(d["t"]))
        await wait_until(lambda: len(other) > 3)

        def attack(server: HostileServer) -> None:
            server.send(frame(b"", length=512 * MiB))
            Flood(server, b"x" * (64 * 1024), 64 * MiB)

        received, events, peak = await self.attacked(attack)
        self.assertEqual(received, [77])
        self.assert_failed_with_1009(events)
        self.assertLess(peak.bytes, 16 * MiB)
        await wait_until(lambda: len(other) > 10)
        self.assertEqual(other, list(range(other[0], other[0] + len(other))))

    @asynchronous
    async def test_endless_fragments_between_pings_are_cut_at_the_limit(self) -> None:
        """A message that never ends, 256 KiB at a time with a ping before each piece (the
        pings once kept it alive until 6.9 GB): refused at 4 MiB, 1009, back."""

        def attack(server: HostileServer) -> None:
            piece = b"[" + b" " * (256 * 1024 - 1)
            server.send(frame(piece, fin=False))
            for _ in range(64):
                server.send(frame(b"", PING) + frame(piece, CONTINUATION, fin=False))

        received, events, peak = await self.attacked(attack, max_message_size=4 * MiB)
        self.assertEqual(received, [77])
        self.assert_failed_with_1009(events)
        self.assertLess(peak.bytes, 40 * MiB)

    @asynchronous
    async def test_a_gzip_bomb_inflates_no_further_than_the_limit(self) -> None:
        """256 MiB of JSON in a ~256 KB binary frame (once 6.2 GB and 34 s): refused with at
        most the 16 MiB limit inflated."""
        bomb = gzip.compress(message(5, pad=256 * MiB))
        received, events, peak = await self.attacked(lambda s: s.send(frame(bomb, 0x2)))
        self.assertEqual(received, [77])
        self.assert_failed_with_1009(events)
        self.assertLess(peak.bytes, 40 * MiB)


class _OneClient(ChaosTestCase):
    async def survives(self, script) -> tuple[list[int], list[ConnectionEvent], dict]:
        """A client of a hostile server running ``script``, once it got trades 1 and 2."""
        factory = self.hostile(script)
        received: list[int] = []
        events: list[ConnectionEvent] = []
        client = self.client(factory.port_number)
        client.subscribe([TRADES], lambda s, d: received.append(d["t"]), events.append)
        await wait_until(lambda: {1, 2} <= set(received) or 77 in received)
        (stats,) = client.stats().values()
        seen = list(events)  # before the close adds its own "closed by the client"
        await client.close()
        return received, seen, stats


class BadDataTests(_OneClient):
    @asynchronous
    async def test_deep_json_is_counted_and_the_session_stays_with_either_decoder(self) -> None:
        """5,000 nested arrays between two trades: one decode error, both trades, no
        reconnect, with orjson and with the stdlib decoder."""
        import binance_twisted._core.protocol as protocol_module

        deep = b"[" * 5000 + b"]" * 5000
        for decoder in (protocol_module.loads, json.loads):
            self.patch(protocol_module, "loads", decoder)
            received, events, stats = await self.survives(
                lambda s: s.send(frame(message(1)) + frame(deep) + frame(message(2)))
            )
            self.assertEqual(received, [1, 2])
            self.assertEqual(stats["decode_errors"], 1)
            self.assertNotIn(EventKind.DISCONNECTED, kinds(events))


class HangUpTests(_OneClient):
    @asynchronous
    async def test_policy_and_internal_error_closes_are_reported_with_their_code(self) -> None:
        """1008 (policy violation) and 1011 (internal error) from the server: DISCONNECTED
        carries the code and reason, then the client is back."""
        for code in (1008, 1011):

            def hang_up(server: HostileServer, code: int = code) -> None:
                server.send(frame(code.to_bytes(2, "big") + f"chaos {code}".encode(), 0x8))
                server.transport.loseConnection()

            received, events, _ = await self.survives(attack_then_serve(hang_up))
            self.assertEqual(received, [77])
            (lost,) = [e for e in events if e.kind is EventKind.DISCONNECTED]
            self.assertEqual(lost.code, code)
            self.assertIn(f"chaos {code}", lost.reason or "")
            self.assertIn(EventKind.RECONNECTED, kinds(events))

    @asynchronous
    async def test_a_silent_handshake_times_out_and_is_retried(self) -> None:
        """TCP accepted, the upgrade never answered: the attempt fails after open_timeout
        (1 s) and the client tries again, on and on."""
        from twisted.internet.protocol import Factory, Protocol

        silent = Factory.forProtocol(Protocol)
        accepted: list[object] = []
        silent.buildProtocol = lambda addr: accepted.append(addr) or Protocol()  # type: ignore[method-assign]
        port = reactor.listenTCP(0, silent, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        events: list[ConnectionEvent] = []
        client = self.client(port.getHost().port, open_timeout=1)
        client.subscribe([TRADES], lambda s, d: None, events.append).addErrback(lambda _: None)
        await wait_until(lambda: len(accepted) >= 2, timeout=10)
        retry = next(e for e in events if e.kind is EventKind.RECONNECTING)
        self.assertIn("timeout", (retry.reason or "").lower())

    @asynchronous
    async def test_a_refused_port_backs_off_then_gives_up(self) -> None:
        """Nothing listens: RECONNECTING with growing delays, then GAVE_UP after max_retries."""
        from twisted.internet.protocol import Factory

        port = reactor.listenTCP(0, Factory(), interface="127.0.0.1")
        number = port.getHost().port
        await port.stopListening()
        events: list[ConnectionEvent] = []
        client = self.client(number, max_retries=3, initial_delay=0.05, max_delay=1.0)
        d = client.subscribe([TRADES], lambda s, d: None, events.append)
        d.addErrback(lambda _: None)
        await wait_until(lambda: EventKind.GAVE_UP in kinds(events), timeout=10)
        delays = [e.delay for e in events if e.kind is EventKind.RECONNECTING]
        self.assertEqual(len(delays), 3)
        self.assertLess(delays[0], delays[2])
        self.assertIn("refused", (events[-1].reason or "").lower())
