"""StreamClient against FakeBinance over real sockets on 127.0.0.1.

Each test states one behaviour a user would notice: data flows, survives drops, stalls,
rotations and refused handshakes, stays under the message rate, and TLS is verified.
The client's timings are shortened through ConnectionPolicy; the fake's timers (market
ticks, pings) run on a ``task.Clock`` the test drives (``ticks_until`` steps it one tick per
reactor turn), so no test waits in real time for the fake. Nothing sleeps: tests wait on
conditions with ``fake.wait_for``.
"""

from __future__ import annotations

import itertools
from typing import Any

from twisted.internet import reactor, task
from twisted.trial.unittest import TestCase

from binance_twisted import (
    ConnectionGaveUpError,
    ConnectionPolicy,
    EventKind,
    StreamClient,
    StreamRequestError,
)
from binance_twisted.errors import RequestTimeoutError
from binance_twisted.testing import FakeBinance, make_test_certificate_authority
from tests.support import advance_until, asynchronous


def log_of(fake: FakeBinance, kind: str) -> list[Any]:
    """FakeBinance's log entries of one kind."""
    return [entry for entry in fake.log if entry.kind == kind]


FAST = ConnectionPolicy(initial_delay=0.05, max_delay=0.2, healthy_after=1.0)


class Recorder:
    """Collects payloads per stream and events, for assertions."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, Any]] = []
        self.events: list[Any] = []

    def on_message(self, stream: str, data: Any) -> None:
        self.messages.append((stream, data))

    def on_event(self, event: Any) -> None:
        self.events.append(event)

    def ids(self, stream: str, key: str = "t") -> list[int]:
        return [d[key] for s, d in self.messages if s == stream]

    def kinds(self) -> list[EventKind]:
        return [e.kind for e in self.events]

    def count(self, stream: str | None = None) -> int:
        return sum(1 for s, _ in self.messages if stream is None or s == stream)


class FakeBinanceTestCase(TestCase):
    """Starts a FakeBinance on ``self.clock`` and tears it and every client down cleanly."""

    fake_options: dict[str, Any] = {}

    def setUp(self) -> None:
        self.clock = task.Clock()
        self.clock.advance(float(int(reactor.seconds())))

    async def start_fake(self, **options: Any) -> FakeBinance:
        settings = {"event_interval": 0.02, "clock": self.clock, **self.fake_options, **options}
        fake = FakeBinance(reactor, **settings)
        await fake.start()
        self.addCleanup(fake.stop)
        self.interval = settings["event_interval"]
        return fake

    async def ticks_until(self, predicate: Any) -> None:
        """Tick the fake's market, one interval per reactor turn, until ``predicate()``."""
        await advance_until(self.clock, self.interval, predicate)

    def client(self, fake: FakeBinance, **options: Any) -> StreamClient:
        options.setdefault("policy", FAST)
        client = StreamClient(reactor, fake.endpoints, **options)
        self.addCleanup(client.close)
        return client


class DeliveryTests(FakeBinanceTestCase):
    @asynchronous
    async def test_streams_flow_and_ids_are_consecutive(self) -> None:
        """Trades and depth diffs arrive unwrapped; trade ids and depth U/u are contiguous."""
        fake = await self.start_fake()
        seen = Recorder()
        client = self.client(fake)
        await client.subscribe(["btcusdt@trade", "btcusdt@depth@100ms"], seen.on_message)
        self.clock.pump([0.02] * 10)
        await fake.wait_for(lambda: seen.count("btcusdt@depth@100ms") >= 10)
        self.assertEqual(seen.count("btcusdt@depth@100ms"), 10)
        trades = seen.ids("btcusdt@trade")
        self.assertEqual(trades, list(range(trades[0], trades[0] + len(trades))))
        diffs = [d for s, d in seen.messages if s == "btcusdt@depth@100ms"]
        for before, after in itertools.pairwise(diffs):
            self.assertEqual(after["U"], before["u"] + 1)
        stats = client.stats()["spot-1"]
        self.assertGreaterEqual(stats["messages"], len(seen.messages))
        self.assertTrue(stats["connected"])

    @asynchronous
    async def test_live_add_remove_and_list(self) -> None:
        """add/remove change what arrives; LIST_SUBSCRIPTIONS reports the server's view."""
        fake = await self.start_fake()
        seen = Recorder()
        client = self.client(fake)
        sub = await client.subscribe(["btcusdt@trade"], seen.on_message)
        await sub.add(["ethusdt@aggTrade"])
        await self.ticks_until(lambda: seen.count("ethusdt@aggTrade") > 0)
        self.assertEqual(await client.list_subscriptions(), ["btcusdt@trade", "ethusdt@aggTrade"])
        await sub.remove(["btcusdt@trade"])
        before = seen.count("btcusdt@trade")
        later = seen.count("ethusdt@aggTrade") + 5
        await self.ticks_until(lambda: seen.count("ethusdt@aggTrade") >= later)
        self.assertEqual(seen.count("btcusdt@trade"), before)
        self.assertEqual(await client.list_subscriptions(), ["ethusdt@aggTrade"])
        await sub.unsubscribe()
        self.assertEqual(client.stats(), {})

    @asynchronous
    async def test_callback_exception_does_not_stop_the_stream(self) -> None:
        """A callback raising on every third trade still sees every following trade."""
        fake = await self.start_fake()
        seen: list[int] = []

        def fragile(stream: str, data: Any) -> None:
            seen.append(data["t"])
            if data["t"] % 3 == 0:
                raise ValueError("user bug")

        client = self.client(fake)
        await client.subscribe(["btcusdt@trade"], fragile)
        await self.ticks_until(lambda: len(seen) >= 12)
        self.assertEqual(seen, list(range(seen[0], seen[0] + len(seen))))
        self.assertGreaterEqual(client.stats()["spot-1"]["callback_errors"], 3)
        self.flushLoggedErrors(ValueError)

    @asynchronous
    async def test_garbage_frames_are_counted_and_skipped(self) -> None:
        """Non-JSON text and binary frames are counted as decode errors; data keeps flowing."""
        fake = await self.start_fake()
        seen = Recorder()
        client = self.client(fake)
        await client.subscribe(["btcusdt@trade"], seen.on_message, seen.on_event)
        fake.send_garbage()
        fake.send_garbage(binary=True)
        await fake.wait_for(lambda: client.stats()["spot-1"]["decode_errors"] == 2)
        later = seen.count() + 3
        await self.ticks_until(lambda: seen.count() >= later)
        self.assertIn(EventKind.ERROR, seen.kinds())
        self.assertEqual(client.stats()["spot-1"]["reconnects"], 0)

    @asynchronous
    async def test_server_pings_are_answered(self) -> None:
        """With Binance's 20 s pings and 60 s pong deadline, six pings are answered in time."""
        fake = await self.start_fake()
        seen = Recorder()
        client = self.client(fake)
        await client.subscribe(["btcusdt@trade"], seen.on_message, seen.on_event)
        for beat in range(1, 7):
            self.clock.advance(20)
            await fake.wait_for(lambda n=beat: len(log_of(fake, "pong")) >= n)
        self.assertTrue(all(pong.detail["answered"] for pong in log_of(fake, "pong")))
        self.assertEqual(log_of(fake, "pong-timeout"), [])
        self.assertEqual(seen.kinds(), [EventKind.CONNECTED])


class RecoveryTests(FakeBinanceTestCase):
    @asynchronous
    async def test_reconnect_after_a_drop_delivers_again(self) -> None:
        """After drop_all the client reconnects, resubscribes and data flows again."""
        fake = await self.start_fake()
        seen = Recorder()
        client = self.client(fake)
        await client.subscribe(["btcusdt@trade", "ethusdt@trade"], seen.on_message, seen.on_event)
        await self.ticks_until(lambda: seen.count() >= 5)
        fake.drop_all()
        await fake.wait_for(lambda: EventKind.RECONNECTED in seen.kinds())
        later = seen.count("ethusdt@trade") + 5
        await self.ticks_until(lambda: seen.count("ethusdt@trade") >= later)
        kinds = seen.kinds()
        self.assertEqual(
            kinds[:4],
            [
                EventKind.CONNECTED,
                EventKind.DISCONNECTED,
                EventKind.RECONNECTING,
                EventKind.RECONNECTED,
            ],
        )
        reconnecting = seen.events[2]
        self.assertTrue(0 < reconnecting.delay < 0.5)
        self.assertGreater(seen.events[3].gap, 0)
        self.assertEqual(client.stats()["spot-1"]["reconnects"], 1)

    @asynchronous
    async def test_stall_is_detected_and_repaired(self) -> None:
        """A server that goes silent (no data, no pings) is dropped and replaced."""
        fake = await self.start_fake()
        seen = Recorder()
        policy = ConnectionPolicy(initial_delay=0.05, stall_timeout=1.0)
        client = self.client(fake, policy=policy)
        await client.subscribe(["btcusdt@trade"], seen.on_message, seen.on_event)
        await self.ticks_until(lambda: seen.count() >= 3)
        fake.stall()
        await fake.wait_for(lambda: EventKind.STALLED in seen.kinds())
        fake.resume()
        await fake.wait_for(lambda: EventKind.RECONNECTED in seen.kinds())
        later = seen.count() + 3
        await self.ticks_until(lambda: seen.count() >= later)
        self.assertEqual(client.stats()["spot-1"]["stalls"], 1)

    @asynchronous
    async def test_refused_handshakes_are_retried(self) -> None:
        """Two upgrades answered 429 and 503 are retried; the third attempt streams."""
        fake = await self.start_fake()
        fake.refuse_handshakes(1, status=429)
        seen = Recorder()
        client = self.client(fake)
        d = client.subscribe(["btcusdt@trade"], seen.on_message, seen.on_event)
        await fake.wait_for(lambda: len(log_of(fake, "refused")) == 1)
        fake.refuse_handshakes(1, status=503)
        await d
        reasons = [e.reason for e in seen.events if e.kind is EventKind.DISCONNECTED]
        reasons += [e.reason for e in seen.events if e.kind is EventKind.RECONNECTING]
        self.assertTrue(any("429" in r for r in reasons), reasons)
        await self.ticks_until(lambda: seen.count() >= 3)

    @asynchronous
    async def test_gives_up_with_the_legacy_limit_and_a_clear_error(self) -> None:
        """max_retries=2 against a port that refuses: subscribe fails with the last reason."""
        fake = await self.start_fake()
        endpoints = fake.endpoints
        await fake.stop()
        seen = Recorder()
        policy = ConnectionPolicy(initial_delay=0.02, max_delay=0.05, max_retries=2)
        client = StreamClient(reactor, endpoints, policy=policy)
        self.addCleanup(client.close)
        d = client.subscribe(["btcusdt@trade"], seen.on_message, seen.on_event)
        error = (await self.assertFailure(d, ConnectionGaveUpError)).args
        self.assertIn("refused", error[0].lower())
        self.assertEqual(seen.kinds()[-1], EventKind.GAVE_UP)
        self.assertEqual(client.stats(), {})

    @asynchronous
    async def test_a_closed_port_is_counted_and_subscribe_can_be_bounded(self) -> None:
        """Retrying forever against a closed port: stats() count the failed attempts and
        keep the last error, and subscribe(timeout=) fails naming both, then withdraws."""
        fake = await self.start_fake()
        endpoints = fake.endpoints
        await fake.stop()
        policy = ConnectionPolicy(initial_delay=0.02, max_delay=0.05, max_retries=None)
        client = StreamClient(reactor, endpoints, policy=policy)
        self.addCleanup(client.close)
        d = client.subscribe(["btcusdt@trade"], Recorder().on_message, timeout=0.5)
        error = await self.assertFailure(d, RequestTimeoutError)
        self.assertEqual((error.request, error.timeout), ("SUBSCRIBE", 0.5))
        self.assertRegex(str(error), r"within 0.5 s \(timeout=\); spot-1: \d+ failed attempts")
        self.assertIn("refused", str(error).lower())
        self.assertEqual(client.stats(), {})  # withdrawn: nothing left retrying
        with self.assertRaisesRegex(ValueError, "timeout must be a positive number of seconds"):
            client.subscribe(["btcusdt@trade"], print, timeout=0)

    @asynchronous
    async def test_failed_attempts_and_the_last_error_are_in_stats(self) -> None:
        fake = await self.start_fake()
        fake.refuse_handshakes(2)
        seen = Recorder()
        client = self.client(fake)
        await client.subscribe(["btcusdt@trade"], seen.on_message, seen.on_event)
        (stats,) = client.stats().values()
        self.assertEqual((stats["failed_attempts"], stats["connects"]), (2, 1))
        self.assertIn("429", stats["last_error"])

    @asynchronous
    async def test_invalid_stream_rejected_by_the_server_fails_the_subscribe(self) -> None:
        """A name the server refuses (validation bypassed) fails that subscribe only."""
        fake = await self.start_fake()
        seen = Recorder()
        client = self.client(fake, validate=None)
        await client.subscribe(["btcusdt@trade"], seen.on_message)
        failed = client.subscribe(["btcusdt@trade@@"], seen.on_message)
        error = await self.assertFailure(failed, StreamRequestError)
        self.assertEqual(error.code, 2)
        later = seen.count() + 3
        await self.ticks_until(lambda: seen.count() >= later)


class RotationTests(FakeBinanceTestCase):
    async def rotate_under_load(self, trigger: str) -> tuple[Recorder, StreamClient]:
        fake = await self.start_fake(event_interval=0.005)
        seen = Recorder()
        client = self.client(fake, policy=ConnectionPolicy(rotate_after=None, handover_timeout=2.0))
        streams = ["btcusdt@trade", "btcusdt@aggTrade", "btcusdt@depth@100ms", "btcusdt@ticker"]
        await client.subscribe(streams, seen.on_message, seen.on_event)
        await self.ticks_until(lambda: seen.count("btcusdt@trade") >= 20)
        if trigger == "serverShutdown":
            fake.server_shutdown()
        else:
            client._connections[0].rotate(trigger)
        await self.ticks_until(lambda: EventKind.ROTATED in seen.kinds())  # under load
        later = seen.count("btcusdt@trade") + 20
        await self.ticks_until(lambda: seen.count("btcusdt@trade") >= later)
        return seen, client

    def assert_nothing_lost_or_repeated(self, seen: Recorder) -> None:
        for stream, key in (("btcusdt@trade", "t"), ("btcusdt@aggTrade", "a")):
            ids = seen.ids(stream, key)
            self.assertEqual(ids, list(range(ids[0], ids[0] + len(ids))), stream)
        diffs = [d for s, d in seen.messages if s == "btcusdt@depth@100ms"]
        for before, after in itertools.pairwise(diffs):
            self.assertEqual(after["U"], before["u"] + 1)

    @asynchronous
    async def test_scheduled_rotation_loses_and_duplicates_nothing(self) -> None:
        """A lifetime rotation under load keeps trade, aggTrade and depth ids contiguous."""
        seen, client = await self.rotate_under_load("lifetime")
        self.assert_nothing_lost_or_repeated(seen)
        self.assertNotIn(EventKind.DISCONNECTED, seen.kinds())
        self.assertEqual(client.stats()["spot-1"]["rotations"], 1)

    @asynchronous
    async def test_server_shutdown_rotation_loses_and_duplicates_nothing(self) -> None:
        """serverShutdown triggers make-before-break; ids stay contiguous."""
        seen, _ = await self.rotate_under_load("serverShutdown")
        self.assert_nothing_lost_or_repeated(seen)
        rotated = [e for e in seen.events if e.kind is EventKind.ROTATED]
        self.assertEqual(rotated[0].reason, "serverShutdown")


class ScaleTests(FakeBinanceTestCase):
    @asynchronous
    async def test_2000_streams_split_over_two_connections_at_the_allowed_pace(self) -> None:
        """2,000 streams open two connections, are acknowledged, and never exceed 5 msg/s."""
        # the pace is measured in real time: the fake's clock is the reactor here
        fake = await self.start_fake(event_interval=None, clock=reactor)
        client = self.client(fake)
        names = [f"s{i:04d}usdt@trade" for i in range(2000)]
        sub = await client.subscribe(names, lambda s, d: None)
        self.assertEqual(len(sub.streams), 2000)
        stats = client.stats()
        self.assertEqual(sorted(c["streams"] for c in stats.values()), [976, 1024])
        carried = sorted(s for c in fake.connections for s in c.streams)
        self.assertEqual(carried, sorted(names))
        self.assertEqual(log_of(fake, "rate-limit"), [])
        for connection in fake.connections:
            times = [e.time for e in fake.requests(connection=connection.id)]
            for start in times:
                self.assertLessEqual(sum(1 for t in times if start <= t < start + 1), 5)


class TLSTests(FakeBinanceTestCase):
    fake_options = {"tls": True}

    @asynchronous
    async def test_trusted_test_ca_is_accepted(self) -> None:
        """With the fake's CA as trust root, wss:// connects and streams."""
        fake = await self.start_fake()
        seen = Recorder()
        client = self.client(fake, trust_root=fake.trust_root)
        await client.subscribe(["btcusdt@trade"], seen.on_message)
        await self.ticks_until(lambda: seen.count() >= 3)
        self.assertTrue(fake.endpoints.stream_url.startswith("wss://"))

    @asynchronous
    async def test_untrusted_certificate_is_refused_with_a_clear_error(self) -> None:
        """A certificate from another CA fails the handshake; the error says TLS failed."""
        fake = await self.start_fake()
        other_ca = make_test_certificate_authority()
        policy = ConnectionPolicy(initial_delay=0.02, max_retries=1)
        seen = Recorder()
        client = self.client(fake, trust_root=other_ca.certificate, policy=policy)
        d = client.subscribe(["btcusdt@trade"], seen.on_message, seen.on_event)
        error = await self.assertFailure(d, ConnectionGaveUpError)
        self.assertIn("TLS handshake failed", str(error))
        self.assertEqual(seen.count(), 0)
