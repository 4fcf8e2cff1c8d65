"""The Redis Streams bus: publish from a recorder, consume as a StreamClient would.

The integration tests run a real ``redis-server`` (tests/redis_server.py) on a free loopback
port and FakeBinance over real sockets; the bookkeeping tests drive the publisher with a
``task.Clock`` and a stand-in Redis handle whose replies the test fires.
"""

from __future__ import annotations

from typing import Any

import attrs
from twisted.internet import defer, reactor
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase, TestCase

from binance_twisted import StreamClient
from binance_twisted._json import loads
from binance_twisted.bus import BusAddress, RedisPublisher, RedisStreamSource, stream_key
from binance_twisted.events import ConnectionEvent, EventKind
from binance_twisted.recording import Kind, Record, Recorded
from binance_twisted.recording.format import expand
from binance_twisted.recording.recorder import Recorder
from binance_twisted.testing import FakeBinance
from tests.redis_server import RedisServer
from tests.support import asynchronous, wait_until

TRADES = "bnbbtc@trade"
AGG = "bnbbtc@aggTrade"
T0 = 1_796_300_000_000_000_000


def frame(n: int, stream: str = TRADES, size: int = 100) -> Record:
    return Record(Kind.FRAME, stream, b"x" * size, T0 + n, n, 1, n)


def redis_server(case: TestCase, *extra: str) -> RedisServer:
    """A started redis-server that stops with the test (the test skips without one)."""
    server = RedisServer(*extra)
    server.start()
    case.addCleanup(server.stop)
    return server


async def fake_binance(case: TestCase, event_interval: float | None) -> FakeBinance:
    fake = FakeBinance(reactor, event_interval=event_interval)
    await fake.start()
    case.addCleanup(fake.stop)
    return fake


@attrs.define
class Pipeline:
    """FakeBinance's frames on their way to Redis, and what the recorder saw."""

    fake: FakeBinance
    client: StreamClient
    recorder: Recorder
    publisher: RedisPublisher
    recorded: list[Record]


async def publishing(
    case: TestCase,
    url: str,
    streams: list[str],
    event_interval: float | None = 0.01,
    **options: Any,
) -> Pipeline:
    """FakeBinance → StreamClient → Recorder → (a list, and a RedisPublisher to ``url``)."""
    fake = await fake_binance(case, event_interval)
    publisher = RedisPublisher(reactor, url, **options)
    publisher.start()
    case.addCleanup(publisher.stop)
    recorded: list[Record] = []

    def tee(record: Recorded) -> None:
        recorded.extend(expand([record]))
        publisher.put(record)

    client = StreamClient(reactor, fake.endpoints)
    case.addCleanup(client.close)
    recorder = Recorder(client, streams, tee)
    await recorder.start()
    return Pipeline(fake, client, recorder, publisher, recorded)


def twistd_record(case: TestCase, fake: FakeBinance, *options: str) -> Any:
    """A ``twistd -n binance record`` process on ``fake``'s streams, killed at cleanup."""
    from tests import test_operator as operator

    process = operator._Process()
    argv = [operator.TWISTD, "-n", "--pidfile=", "--logfile=-", "binance", "record",
            "--stream-url", fake.endpoints.stream_url, *options]  # fmt: skip
    process.transport = reactor.spawnProcess(
        process, operator.TWISTD, argv, env=operator.ENV, path=str(operator.ROOT)
    )

    def stop() -> defer.Deferred:
        if process.ended.called:
            return defer.succeed(None)
        process.transport.signalProcess("KILL")
        return process.ended.addErrback(lambda _: None)

    case.addCleanup(stop)
    return process


class AddressTests(SynchronousTestCase):
    def test_urls_parse_and_the_password_never_shows(self) -> None:
        """Host, port, db and login are read; str/repr and errors hide the password."""
        address = BusAddress.parse("redis://bot:s3cret@10.0.0.5:6380/2")
        self.assertEqual((address.host, address.port, address.db), ("10.0.0.5", 6380, 2))
        self.assertEqual((address.username, address.password), ("bot", "s3cret"))
        self.assertEqual(str(address), "redis://***@10.0.0.5:6380/2")
        self.assertNotIn("s3cret", repr(address))
        self.assertEqual(BusAddress.parse("redis://localhost").port, 6379)
        for bad in ("http://h:1/0", "redis://:pw@h:1/x", "redis://:s3cret@h:99999/0", "redis:///0"):
            with self.assertRaises(ValueError) as caught:
                BusAddress.parse(bad)
            self.assertNotIn("s3cret", str(caught.exception))
            self.assertIn("redis", str(caught.exception))

    def test_keys_name_the_market_not_the_host(self) -> None:
        """binance:{venue}:{stream}, venues spot/usdm/coinm only."""
        self.assertEqual(stream_key("binance", "spot", TRADES), "binance:spot:bnbbtc@trade")
        with self.assertRaisesRegex(ValueError, "venue must be one of spot, usdm, coinm"):
            stream_key("binance", "binance.com", TRADES)

    def test_a_refused_password_is_reported_not_swallowed(self) -> None:
        """txredisapi gives up on a wrong password: the publisher's last_error says so."""
        failed: defer.Deferred = defer.Deferred()

        class Factory:
            deferred = failed

        class Handle:
            _factory = Factory()

        from binance_twisted.bus import redis as redis_module

        self.patch(redis_module, "_open", lambda address: Handle())
        publisher = RedisPublisher(Clock(), "redis://:bad@h/0")
        publisher.start()
        failed.errback(ValueError("Redis error: could not auth: WRONGPASS invalid password"))
        self.assertIn("WRONGPASS", publisher.stats.last_error or "")
        self.assertFalse(publisher.stats.connected)
        self.flushLoggedErrors()

    def test_bad_arguments_fail_before_any_io(self) -> None:
        """Each bound must be a positive integer; the source checks start, count and block."""
        for name in ("maxlen", "batch_size", "max_in_flight", "max_pending", "max_pending_bytes"):
            with self.assertRaisesRegex(ValueError, name):
                RedisPublisher(Clock(), "redis://h/0", **{name: 0})
        for options in ({"start": "yesterday"}, {"count": 0}, {"block": 0}):
            with self.assertRaises(ValueError):
                RedisStreamSource(Clock(), "redis://h/0", **options)  # type: ignore[arg-type]
        with self.assertRaisesRegex(ValueError, "venue"):
            RedisStreamSource(Clock(), "redis://h/0", venue="margin")


class StandInRedis:
    """Holds each command's Deferred for the test to fire; counts what was sent."""

    def __init__(self) -> None:
        self.commands: list[tuple[tuple[bytes, ...], defer.Deferred]] = []

    def execute_command(self, *args: bytes) -> defer.Deferred:
        d: defer.Deferred = defer.Deferred()
        self.commands.append((args, d))
        return d

    def disconnect(self) -> defer.Deferred:
        return defer.succeed(None)

    @staticmethod
    def entries(args: tuple[bytes, ...]) -> list[bytes]:
        """The keys of one EVAL batch."""
        return list(args[3 : 3 + int(args[2])])


class PublisherBookkeepingTests(SynchronousTestCase):
    def publisher(self, **options: Any) -> tuple[RedisPublisher, Clock, StandInRedis]:
        clock, redis = Clock(), StandInRedis()
        publisher = RedisPublisher(clock, "redis://h/0", connect_to=lambda *_: redis, **options)
        publisher.start()
        return publisher, clock, redis

    def test_batches_are_bounded_in_size_and_in_flight(self) -> None:
        """1,000 frames go out as batches of 100, at most 2 on the wire; acks send the rest."""
        publisher, clock, redis = self.publisher(batch_size=100, max_in_flight=2)
        for n in range(1000):
            publisher.put(frame(n))
        clock.advance(0)
        self.assertEqual([len(redis.entries(a)) for a, _ in redis.commands], [100, 100])
        self.assertEqual((publisher.stats.in_flight, publisher.stats.pending), (200, 800))
        while publisher.stats.pending or publisher.stats.in_flight:
            for _, d in redis.commands:
                if not d.called:
                    d.callback(100)
        self.assertEqual(len(redis.commands), 10)
        self.assertEqual((publisher.stats.published, publisher.stats.dropped), (1000, 0))

    def test_a_full_queue_drops_counts_and_writes_one_gap_when_entries_flow_again(self) -> None:
        """Past max_pending, frames are dropped and counted; the next batch starts with a GAP
        entry on _events naming the count, the streams and the receive-time bounds."""
        publisher, clock, redis = self.publisher(batch_size=10, max_in_flight=1, max_pending=10)
        for n in range(10):
            publisher.put(frame(n))
        clock.advance(0)  # 10 in flight, queue empty
        for n in range(10, 30):
            publisher.put(frame(n, AGG if n % 2 else TRADES))
        self.assertEqual((publisher.stats.pending, publisher.stats.dropped), (10, 10))
        redis.commands[0][1].callback(10)
        args = redis.commands[1][0]
        keys = redis.entries(args)
        self.assertEqual(keys[0], b"binance:spot:_events")
        details = loads(args[3 + len(keys) + 2 + 3])
        self.assertEqual(details["dropped"], 10)
        self.assertEqual(details["streams"], {TRADES: 5, AGG: 5})
        self.assertEqual((details["first_recv_ns"], details["last_recv_ns"]), (T0 + 20, T0 + 29))
        self.assertIn("queue full", details["reason"])
        self.assertEqual(publisher.stats.gaps_published, 1)

    def test_a_batch_lost_with_its_connection_is_counted_and_reported(self) -> None:
        """A failed batch is not re-sent (at most once): its entries count as dropped and the
        next batch carries a GAP saying the connection was lost."""
        publisher, clock, redis = self.publisher(batch_size=5)
        for n in range(5):
            publisher.put(frame(n))
        clock.advance(0)
        redis.commands[0][1].errback(ConnectionError("Lost connection"))
        self.assertEqual((publisher.stats.dropped, publisher.stats.connected), (5, False))
        self.assertEqual(publisher.stats.last_error, "Lost connection")
        publisher.put(frame(5))
        clock.advance(0)
        keys = redis.entries(redis.commands[1][0])
        self.assertEqual(keys, [b"binance:spot:_events", b"binance:spot:bnbbtc@trade"])
        self.assertTrue(any(b"connection lost" in arg for arg in redis.commands[1][0][3:]))

    def test_an_events_details_count_against_the_byte_bound(self) -> None:
        """A GAP whose details are bigger than max_pending_bytes is dropped, not queued."""
        publisher = self.publisher(max_pending_bytes=1000)[0]
        details = {"stream": TRADES, "reason": "x" * 2000}
        publisher.put(Record.event(Kind.GAP, details, recv_wall_ns=T0, recv_mono_ns=0))
        self.assertEqual((publisher.stats.dropped, publisher.stats.pending), (1, 0))
        publisher.put(frame(1))
        self.assertEqual(publisher.stats.pending, 1)

    def test_only_frames_gaps_and_disconnects_are_published(self) -> None:
        """CONNECT, SUBSCRIBE, ACK, MARK and SNAPSHOT records stay in the files."""
        publisher, clock, redis = self.publisher()
        for kind in (Kind.CONNECT, Kind.SUBSCRIBE, Kind.ACK, Kind.MARK, Kind.SNAPSHOT):
            publisher.put(Record.event(kind, {}, recv_wall_ns=T0, recv_mono_ns=0))
        publisher.put(
            Record.event(Kind.DISCONNECT, {"code": 1006}, recv_wall_ns=T0, recv_mono_ns=0)
        )
        clock.advance(0)
        self.assertEqual(redis.entries(redis.commands[0][0]), [b"binance:spot:_events"])


class BusTests(TestCase):
    """Real redis-server, real sockets."""

    def source(self, url: str, **options: Any) -> RedisStreamSource:
        source = RedisStreamSource(reactor, url, block=0.1, **options)
        self.addCleanup(source.close)
        return source

    @asynchronous
    async def test_every_frame_reaches_a_consumer_once_and_in_order(self) -> None:
        """Two streams published by a recorder: a bus consumer subscribed first receives
        every recorded frame, decoded and unwrapped as StreamClient delivers it, once each,
        in order; the raw shape gets the bytes as received, the envelope shape Binance's
        combined-stream dict."""
        server = redis_server(self)
        source = self.source(server.url)
        received: list[tuple[str, Any]] = []
        raws: list[bytes] = []
        await source.subscribe([TRADES, AGG], lambda stream, data: received.append((stream, data)))
        await source.subscribe([TRADES], lambda stream, data, raw: raws.append(raw), raw=True)
        envelopes: list[dict] = []
        await source.subscribe([AGG], envelopes.append, envelope=True)
        run = await publishing(self, server.url, [TRADES, AGG])
        await wait_until(
            lambda: run.recorder.frames[TRADES] >= 100 and run.recorder.frames[AGG] >= 100
        )
        await run.client.close()
        frames = [r for r in run.recorded if r.kind is Kind.FRAME]
        await wait_until(lambda: len(received) == len(frames), timeout=10)
        for stream in (TRADES, AGG):
            sent = [loads(r.payload)["data"] for r in frames if r.stream == stream]
            self.assertEqual([data for s, data in received if s == stream], sent)
        self.assertEqual(raws, [r.payload for r in frames if r.stream == TRADES])
        self.assertEqual(envelopes, [loads(r.payload) for r in frames if r.stream == AGG])
        self.assertEqual(run.publisher.stats.dropped, 0)
        self.assertEqual(server.call("XLEN", f"binance:spot:{TRADES}"), run.recorder.frames[TRADES])
        self.assertEqual(source.stats()["bus-spot"]["messages"], len(frames))

    @asynchronous
    async def test_subscriptions_come_and_go_and_a_raising_callback_is_contained(self) -> None:
        """The bus hands out StreamClient's Subscription: add, remove and unsubscribe work
        on it; a callback that raises on every message is counted and logged once per
        period, and the other subscription on the stream keeps receiving."""
        server = redis_server(self)
        source = self.source(server.url)
        good: list[str] = []

        def bad(stream: str, data: Any) -> None:
            raise RuntimeError("a bot's bug")

        first = await source.subscribe([TRADES], lambda stream, data: good.append(stream))
        second = await source.subscribe([TRADES], bad)
        await publishing(self, server.url, [TRADES, AGG])
        await wait_until(lambda: len(good) >= 20)
        self.assertGreaterEqual(source.stats()["bus-spot"]["callback_errors"], 20)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        await second.unsubscribe()
        self.assertFalse(second.active)
        await first.add(AGG)
        self.assertEqual(first.streams, (TRADES, AGG))
        await wait_until(lambda: AGG in good)
        await first.remove(TRADES)
        errors, seen = source.callback_errors, len(good)
        await wait_until(lambda: len(good) > seen + 20)
        self.assertEqual(set(good[seen:]), {AGG})
        self.assertEqual(source.callback_errors, errors)
        self.assertEqual(source.connection_of(TRADES), None)
        await first.unsubscribe()
        self.assertEqual(source.stats()["bus-spot"]["streams"], 0)

    @asynchronous
    async def test_redis_restarted_mid_stream(self) -> None:
        """Redis killed and restarted: the recorder keeps receiving from Binance, what could
        not wait is dropped and counted, a GAP entry says so, and publishing resumes; a
        consumer reads on after the restart and hears about the outage and the gap."""
        server = redis_server(self)
        source = self.source(server.url)
        received: list[int] = []
        events: list[ConnectionEvent] = []
        await source.subscribe(
            [TRADES], lambda stream, data: received.append(data["t"]), events.append
        )
        run = await publishing(self, server.url, [TRADES], max_pending=20)
        await wait_until(lambda: run.publisher.stats.published >= 50)
        server.stop()
        frames_at_kill = run.recorder.frames[TRADES]
        await wait_until(lambda: run.publisher.stats.dropped > 0)
        self.assertGreater(run.recorder.frames[TRADES], frames_at_kill)  # Binance side unaffected
        server.start()
        published = run.publisher.stats.published
        await wait_until(lambda: run.publisher.stats.published > published + 50, timeout=20)
        self.assertLessEqual(run.publisher.stats.pending, 20)
        self.assertGreaterEqual(run.publisher.stats.gaps_published, 1)
        self.assertIn(b"GAP", [event[b"kind"] for event in server.events()])
        await wait_until(lambda: any(e.kind is EventKind.GAP for e in events), timeout=10)
        gap = next(e for e in events if e.kind is EventKind.GAP)
        self.assertIn("bus publisher lost entries", gap.reason or "")
        kinds = [e.kind for e in events]
        self.assertIn(EventKind.DISCONNECTED, kinds)
        self.assertIn(EventKind.RECONNECTED, kinds)
        after = len(received)
        await wait_until(lambda: len(received) > after + 20)
        self.assertEqual(received, sorted(set(received)))  # never twice, never reordered

    @asynchronous
    async def test_a_slow_redis_bounds_memory_and_counts_drops(self) -> None:
        """Writes paused in Redis (CLIENT PAUSE): the queue never exceeds its bound, drops
        are counted, and everything flows again once Redis answers."""
        server = redis_server(self)
        run = await publishing(self, server.url, [TRADES], max_pending=30, max_in_flight=1)
        await wait_until(lambda: run.publisher.stats.published >= 20)
        self.assertEqual(server.call("CLIENT", "PAUSE", "1500", "ALL"), b"OK")
        peak = 0

        async def drops() -> None:
            nonlocal peak
            while run.publisher.stats.dropped < 20:
                peak = max(peak, run.publisher.stats.pending)
                await deferLater(0.01)

        await drops()
        self.assertLessEqual(peak, 30)
        published = run.publisher.stats.published
        await wait_until(lambda: run.publisher.stats.gaps_published >= 1, timeout=10)
        await wait_until(lambda: run.publisher.stats.published > published + 30)
        self.assertGreater(run.publisher.stats.max_latency, 0.3)  # the paused batch, answered late
        events = server.call("XLEN", "binance:spot:_events")
        self.assertGreaterEqual(events, 1)

    @asynchronous
    async def test_the_status_site_shows_the_publisher(self) -> None:
        """A recorder publishing without files: /metrics has the bus families, /status.json
        the publisher's counters, /status a "Publishing to" section without the password."""
        import json

        import treq
        from twisted.web.server import Site

        from binance_twisted.twistd.status import StatusSource, status_resource

        server = redis_server(self, "--requirepass", "pw")
        run = await publishing(self, server.url.replace("redis://", "redis://:pw@"), [TRADES])
        source = StatusSource([run.client], run.recorder, None, publisher=run.publisher)
        port = reactor.listenTCP(0, Site(status_resource(source)), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        base = f"http://127.0.0.1:{port.getHost().port}"
        await wait_until(lambda: run.publisher.stats.published > 10)

        async def get(path: str) -> str:
            response = await treq.get(base + path, persistent=False)
            return str(await response.text())

        metrics = await get("/metrics")
        for name in ("bus_published_total", "bus_dropped_total", "bus_in_flight",
                     "bus_latency_seconds", "bus_connected 1.0"):  # fmt: skip
            self.assertIn(f"binance_twisted_{name}", metrics)
        bus = json.loads(await get("/status.json"))["bus"]
        self.assertGreater(bus["published"], 10)
        self.assertEqual(bus["url"], f"redis://***@127.0.0.1:{server.port}/0")
        page = await get("/status")
        self.assertIn("Publishing to redis://***@", page)
        self.assertNotIn(":pw@", page + metrics)

    @asynchronous
    async def test_streams_are_trimmed_to_maxlen(self) -> None:
        """XADD MAXLEN ~: a stream never holds much more than maxlen entries (Redis trims
        whole nodes; with 10 entries per node the slack is at most 10)."""
        server = redis_server(self, "--stream-node-max-entries", "10")
        run = await publishing(self, server.url, [TRADES], maxlen=50)
        await wait_until(lambda: run.publisher.stats.published >= 200)
        self.assertLessEqual(server.call("XLEN", f"binance:spot:{TRADES}"), 60)
        self.assertGreaterEqual(server.call("XLEN", f"binance:spot:{TRADES}"), 50)

    @asynchronous
    async def test_a_depth_book_syncs_from_the_bus_and_equals_the_truth(self) -> None:
        """DepthSynchroniser fed by the bus (diffs published by a recorder) and a REST
        snapshot: synced, and equal to the exchange's book after more events."""
        from binance_twisted.depth.synchroniser import DepthSynchroniser
        from binance_twisted.rest import RestClient
        from tests.test_depthcache import pump, true_levels

        server = redis_server(self)
        fake = (await publishing(self, server.url, ["btcusdt@depth@100ms"], None)).fake
        source = self.source(server.url)
        sync = DepthSynchroniser(
            reactor, source, RestClient(reactor, fake.endpoints.rest_url), "BTCUSDT"
        )
        self.addCleanup(sync.stop)
        started = sync.start()
        await pump(fake, lambda: started.called)
        for _ in range(10):
            fake.tick()
        await pump(fake, lambda: sync.book.update_id == fake.book("btcusdt")[0])
        _, bids, asks = fake.book("btcusdt")
        self.assertEqual(sync.state, "synced")
        self.assertEqual(dict(sync.book.bids()), true_levels(bids))
        self.assertEqual(dict(sync.book.asks()), true_levels(asks))


class LegacyBusTests(TestCase):
    def test_a_bad_bus_url_fails_in_the_constructor(self) -> None:
        """bus= is checked with the other options, before any thread or socket."""
        from binance_twisted import BinanceSocketManager

        with self.assertRaisesRegex(ValueError, "must start with redis://"):
            BinanceSocketManager(None, bus="http://h:1/0")

    @asynchronous
    async def test_a_threaded_legacy_script_reads_the_bus_with_one_option(self) -> None:
        """A 0.x script whose only change is ``bus=URL``: trades arrive in the legacy shape
        from Redis, on the library's thread, and close() ends the script."""
        import os
        import sys
        import textwrap

        from tests.test_manager_process import _Collect

        server = redis_server(self)
        await publishing(self, server.url, [TRADES], 0.02)
        script = textwrap.dedent(
            """
            import sys, threading
            from binance_twisted import BinanceSocketManager
            done = threading.Event()
            seen = []
            def on_trade(msg):
                seen.append(msg)
                if len(seen) == 20:
                    done.set()
            bm = BinanceSocketManager(None, bus=sys.argv[1])
            bm.start_trade_socket("BNBBTC", on_trade)
            bm.start()
            ok = done.wait(20)
            bm.close()
            ids = [m["t"] for m in seen[:20]]
            print(ok, seen[0]["e"], seen[0]["s"], ids == sorted(set(ids)))
            """
        )
        path = self.mktemp() + ".py"
        with open(path, "w") as f:
            f.write(script)
        collect = _Collect()
        reactor.spawnProcess(
            collect, sys.executable, [sys.executable, path, server.url], env=dict(os.environ)
        )
        code = await collect.ended
        self.assertEqual(code, 0, collect.err.decode())
        self.assertEqual(collect.out.decode().split(), ["True", "trade", "BNBBTC", "True"])


class InspectTests(TestCase):
    @asynchronous
    async def test_an_unreachable_redis_is_reported_not_waited_for(self) -> None:
        """inspect --redis on a port nobody listens on: an answer within the timeout, exit 1."""
        import io

        from binance_twisted.bus.inspect import inspect_bus
        from tests.redis_server import free_port

        out = io.StringIO()
        run = inspect_bus(f"redis://127.0.0.1:{free_port()}/0", "spot", "binance", False, 0.5)
        self.assertEqual(await run(reactor, out), 1)
        self.assertIn("no answer from redis://127.0.0.1", out.getvalue())


class LegacyDepthFromBusTests(TestCase):
    @asynchronous
    async def test_a_legacy_depth_cache_syncs_from_the_bus(self) -> None:
        """DepthCacheManager on a manager with bus=: diffs from Redis, the snapshot from
        REST; synced in the constructor, then equal to the exchange's book."""
        from twisted.internet import threads

        from binance_twisted import BinanceSocketManager, DepthCacheManager
        from tests.test_depthcache import pump, true_levels

        server = redis_server(self)
        fake = (await publishing(self, server.url, ["bnbbtc@depth@100ms"], None)).fake
        bm = BinanceSocketManager(None, endpoints=fake.endpoints, bus=server.url)
        self.addCleanup(threads.deferToThread, bm.close)
        made = threads.deferToThread(
            lambda: DepthCacheManager(None, "BNBBTC", bm=bm, ws_interval=100)
        )
        await pump(fake, lambda: made.called, timeout=15)
        dcm = await made
        self.assertEqual(dcm.state, "synced")
        cache = dcm.get_depth_cache()
        for _ in range(5):
            fake.tick()
        await pump(fake, lambda: cache.book.update_id == fake.book("bnbbtc")[0])
        _, bids, asks = fake.book("bnbbtc")
        self.assertEqual(dict(cache.book.bids()), true_levels(bids))
        self.assertEqual(dict(cache.book.asks()), true_levels(asks))
        self.assertIn("bus-spot", bm.stats())
        await threads.deferToThread(dcm.close)


class ShardStopTests(TestCase):
    timeout = 15  # a hang here is the bug: fail in seconds, not trial's two minutes

    @asynchronous
    async def test_leaving_does_not_wait_forever_for_an_unreachable_redis(self) -> None:
        """A recorder stopping while Redis is down still stops (its leases then expire)."""
        from binance_twisted.bus.shard import ShardMember
        from tests.redis_server import free_port

        member = ShardMember(
            reactor, f"redis://127.0.0.1:{free_port()}/0", "g", [TRADES],
            lambda s: None, lambda s: None, lambda s, d: None,
        )  # fmt: skip
        member.start()
        started = reactor.seconds()
        await member.stop(timeout=0.5)
        self.assertLess(reactor.seconds() - started, 3)
        self.flushLoggedErrors()


class ExampleTests(TestCase):
    @asynchronous
    async def test_the_offline_example_runs(self) -> None:
        """``examples/bus_offline.py``, as docs/bus.rst includes it: five trades through
        Redis, the publisher's count, and a process that ends by itself."""
        import sys

        from twisted.internet.utils import getProcessOutputAndValue

        from tests import test_operator as operator

        RedisServer()  # skips where redis-server is missing
        example = str(operator.ROOT / "examples" / "bus_offline.py")
        out, err, code = await getProcessOutputAndValue(
            "timeout", ["60", sys.executable, example], env=operator.ENV
        )
        self.assertEqual(code, 0, out.decode() + err.decode())
        lines = out.decode().splitlines()
        self.assertEqual([line.split(":")[0] for line in lines[:5]], ["bnbbtc@trade"] * 5)
        self.assertRegex(lines[5], r"^published \d+ entries, 0 dropped$")


class RecordOptionTests(SynchronousTestCase):
    def options(self, *argv: str) -> Any:
        from binance_twisted.twistd.plugin import RecordOptions

        options = RecordOptions()
        options.parseOptions(["--streams", TRADES, *argv])
        return options

    def test_out_or_publish_is_required_and_the_url_is_checked_first(self) -> None:
        """Records must go somewhere; a bad --publish URL fails before anything starts,
        without echoing its password."""
        from twisted.python.usage import UsageError

        with self.assertRaisesRegex(UsageError, "--out or --publish is required"):
            self.options()
        with self.assertRaises(UsageError) as caught:
            self.options("--publish", "http://:s3cret@h:1/0")
        self.assertIn("--publish", str(caught.exception))
        self.assertNotIn("s3cret", str(caught.exception))
        chosen = self.options("--publish", "redis://127.0.0.1:6379/3", "--bus-maxlen", "500")
        self.assertEqual((chosen["out"], chosen["bus-maxlen"]), (None, 500))


class PublishProcessTests(TestCase):
    @asynchronous
    async def test_twistd_publishes_to_redis_without_writing_files(self) -> None:
        """``twistd -n binance record --publish redis://…`` with no --out: frames land in
        Redis under binance:spot:<stream>, the status line counts them, SIGTERM stops it."""
        server = redis_server(self)
        fake = await fake_binance(self, 0.02)
        process = twistd_record(
            self, fake, "--streams", f"{TRADES},{AGG}", "--publish", server.url,
            "--status-every", "0.2",
        )  # fmt: skip

        def published() -> int:
            lines = [x for x in process.output.splitlines() if b"; bus: " in x]
            return int(lines[-1].split(b"; bus: ")[1].split(b" ")[0]) if lines else 0

        await wait_until(lambda: published() > 40, 20)
        self.assertGreater(server.call("XLEN", f"binance:spot:{TRADES}"), 10)
        self.assertGreater(server.call("XLEN", f"binance:spot:{AGG}"), 10)
        process.transport.signalProcess("TERM")
        await process.ended
        self.assertIn(b"Server Shut Down.", process.output)
        self.assertNotIn(b"files sealed", process.output)


def deferLater(seconds: float) -> defer.Deferred:
    from twisted.internet import task

    return task.deferLater(reactor, seconds, lambda: None)


SHARD_STREAMS = [
    f"{s}@{k}" for s in ("btcusdt", "ethusdt", "bnbusdt") for k in ("trade", "aggTrade")
]


class ShardGroupTests(TestCase):
    """Three ``twistd -n binance record --shard-group`` processes on one Redis."""

    LEASE = 2.0

    def recorder(self, server: RedisServer, fake: FakeBinance) -> Any:
        return twistd_record(
            self, fake, "--streams", ",".join(SHARD_STREAMS), "--publish", server.url,
            "--shard-group", "g", "--lease-seconds", str(self.LEASE), "--bus-maxlen", "100",
            "--status-every", "0.5",
        )  # fmt: skip

    @staticmethod
    def owners(server: RedisServer) -> dict[str, str | None]:
        leases = {s: server.call("GET", f"binance:spot:_group:g:lease:{s}") for s in SHARD_STREAMS}
        return {s: None if holder is None else holder.decode() for s, holder in leases.items()}

    @staticmethod
    def shares(owners: dict[str, str | None]) -> list[int]:
        counts: dict[str, int] = {}
        for owner in owners.values():
            if owner is not None:
                counts[owner] = counts.get(owner, 0) + 1
        return sorted(counts.values())

    async def inspect_shows_three_members_with_two_streams_each(self, server: RedisServer) -> None:
        """``python -m binance_twisted inspect --redis URL``: members, shares, lag."""
        import json
        import sys

        from twisted.internet.utils import getProcessOutputAndValue

        from tests import test_operator as operator

        args = ["-m", "binance_twisted", "inspect", "--redis", server.url]
        out, err, code = await getProcessOutputAndValue(
            sys.executable, [*args, "--json"], env=operator.ENV
        )
        self.assertEqual(code, 0, err)
        group = json.loads(out)["groups"]["g"]
        self.assertEqual(sorted(len(m["streams"]) for m in group["members"].values()), [2, 2, 2])
        self.assertEqual(group["unowned"], [])
        for stream in SHARD_STREAMS:
            self.assertLess(json.loads(out)["streams"][stream]["lag_seconds"], 2)
        text, _, code = await getProcessOutputAndValue(sys.executable, args, env=operator.ENV)
        self.assertEqual(code, 0)
        self.assertIn(b"group g: 3 members", text)

    def takeovers(self, server: RedisServer) -> int:
        return sum(b"shard takeover" in event[b"details"] for event in server.events())

    @asynchronous
    async def test_streams_split_fail_over_after_sigkill_and_rebalance_without_a_second_gap(
        self,
    ) -> None:
        """Six streams, three recorders: two each. One is SIGKILLed: within the lease + 5 s
        its streams are owned again (three each), each takeover written as a GAP. A new
        recorder joins: two each again, with no further GAP. Streams stay within MAXLEN."""
        import time

        server = redis_server(self, "--stream-node-max-entries", "10")
        fake = await fake_binance(self, 0.02)
        processes = [self.recorder(server, fake) for _ in range(3)]
        await wait_until(lambda: self.shares(self.owners(server)) == [2, 2, 2], 30)
        await self.inspect_shows_three_members_with_two_streams_each(server)
        victim = processes[0]
        pid = str(victim.transport.pid)
        lost = [s for s, o in self.owners(server).items() if o and f"-{pid}-" in o]
        self.assertEqual(len(lost), 2)
        victim.transport.signalProcess("KILL")
        killed = time.monotonic()
        await wait_until(
            lambda: (
                self.shares(self.owners(server)) == [3, 3]
                and not any(f"-{pid}-" in (o or "") for o in self.owners(server).values())
            ),
            self.LEASE + 5,
        )
        self.assertLessEqual(time.monotonic() - killed, self.LEASE + 5)
        await wait_until(lambda: self.takeovers(server) == 2, 5)
        taken = {e[b"stream"].decode() for e in server.events() if b"takeover" in e[b"details"]}
        self.assertEqual(taken, set(lost))
        source = RedisStreamSource(reactor, server.url, block=0.1)
        self.addCleanup(source.close)
        ids: dict[str, list[int]] = {s: [] for s in SHARD_STREAMS}
        await source.subscribe(
            SHARD_STREAMS, lambda s, data: ids[s].append(data["a" if "aggTrade" in s else "t"])
        )
        self.recorder(server, fake)  # it comes back
        await wait_until(lambda: self.shares(self.owners(server)) == [2, 2, 2], 20)
        await deferLater(self.LEASE)  # handoffs settle: the old holders stop one tick later
        self.assertEqual(self.takeovers(server), 2)
        for stream, seen in ids.items():  # through the handoffs: every id once, none missing
            self.assertGreater(len(seen), 20, stream)
            self.assertEqual(seen, list(range(seen[0], seen[0] + len(seen))), stream)
        self.assertGreater(source.duplicates, 0)  # the overlaps happened, and were dropped
        for stream in SHARD_STREAMS:
            self.assertLessEqual(server.call("XLEN", f"binance:spot:{stream}"), 110)
