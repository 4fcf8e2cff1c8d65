"""Replay as a local Binance: unchanged clients (native and legacy) get the recorded frames,
in order, over a real socket; a recorded disconnect drops the session and the reconnect
resumes."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from twisted.internet import reactor, threads
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase, TestCase

from binance_twisted import BinanceSocketManager, ConnectionEvent, EventKind, StreamClient
from binance_twisted._core.frames import frame_head
from binance_twisted._json import dumps
from binance_twisted.recording import Kind, Record, RecordFileWriter
from binance_twisted.recording.replay import MAX_PAUSE, ReplayFactory, ReplayProtocol, replay_site
from binance_twisted.testing._site import fake_endpoints
from tests.support import asynchronous, wait_until

T0 = 1_796_300_000_000_000_000
STREAM = "bnbbtc@trade"


def trade(n: int) -> bytes:
    return dumps({"stream": STREAM, "data": {"e": "trade", "E": 1, "s": "BNBBTC", "t": n}})


def recording(directory: Path, ids: list[int], disconnect_after: int) -> Path:
    """A recording of ``ids`` on STREAM (and noise on another stream) with a DISCONNECT."""
    writer = RecordFileWriter(directory / "r.btrec", {"venue": "test"})
    for position, n in enumerate(ids):
        writer.append(Record(Kind.FRAME, STREAM, trade(n), T0 + n, n * 1_000_000, 1, n))
        other = dumps({"stream": "ethbtc@trade", "data": {"e": "trade", "t": -n}})
        writer.append(Record(Kind.FRAME, "ethbtc@trade", other, T0 + n, n * 1_000_000, 1, n))
        if position == disconnect_after:
            writer.append(
                Record.event(
                    Kind.DISCONNECT,
                    {"code": 1006, "reason": "x", "clean": False},
                    recv_wall_ns=T0 + n,
                    recv_mono_ns=n * 1_000_000,
                )
            )
    writer.seal()
    return directory


class ReplayTests(TestCase):
    def serve(self, path: Path, **options: object) -> int:
        site = replay_site(reactor, path, **options)  # type: ignore[arg-type]
        port = reactor.listenTCP(0, site, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        return port.getHost().port

    @asynchronous
    async def test_a_stream_client_gets_the_recorded_frames_in_order_across_a_disconnect(
        self,
    ) -> None:
        """Speed 0: 500 recorded trades arrive exactly, in order; the recorded disconnect
        after the 200th becomes a dropped session, and the reconnect resumes at 201."""
        ids = list(range(1000, 1500))
        port = self.serve(recording(Path(self.mktemp()), ids, disconnect_after=199))
        client = StreamClient(reactor, fake_endpoints("127.0.0.1", port, False))
        self.addCleanup(client.close)
        seen: list[int] = []
        events: list[ConnectionEvent] = []
        await client.subscribe([STREAM], lambda s, d: seen.append(d["t"]), events.append)
        await wait_until(lambda: len(seen) >= len(ids), timeout=10)
        self.assertEqual(seen[: len(ids)], ids)
        kinds = [e.kind for e in events]
        self.assertIn(EventKind.RECONNECTED, kinds)

    @asynchronous
    async def test_an_unchanged_legacy_script_runs_on_the_replay(self) -> None:
        """BinanceSocketManager pointed at the replay: the callback gets the recorded
        trades, unwrapped as 0.x delivered them."""
        ids = list(range(10, 60))
        port = self.serve(recording(Path(self.mktemp()), ids, disconnect_after=1000))
        bm = BinanceSocketManager(None, endpoints=fake_endpoints("127.0.0.1", port, False))
        self.addCleanup(threads.deferToThread, bm.close)
        got: list[dict] = []
        await threads.deferToThread(lambda: bm.start_trade_socket("BNBBTC", got.append))
        await wait_until(lambda: len(got) >= len(ids))
        self.assertEqual([m["t"] for m in got[: len(ids)]], ids)
        self.assertNotIn("stream", got[0])

    def test_bad_arguments_are_refused(self) -> None:
        with self.assertRaisesRegex(ValueError, "speed"):
            ReplayFactory(reactor, ".", speed=-1)
        with self.assertRaisesRegex(ValueError, "no recording"):
            ReplayFactory(reactor, "/nonexistent/recording")


class PaceTests(SynchronousTestCase):
    def test_recorded_pauses_are_replayed_scaled_and_capped(self) -> None:
        """Speed 1 waits the recorded gap, speed 4 a quarter of it, and never more than
        MAX_PAUSE of recorded time; speed 0 never waits."""

        class Cursor:
            def __init__(self, mono: int) -> None:
                self.mono = mono

            def peek(self) -> Record:
                return Record(Kind.FRAME, STREAM, b"", 0, self.mono)

        session = ReplayProtocol()
        session.last_mono = 1_000_000_000
        session.cursor = Cursor(1_500_000_000)  # type: ignore[assignment]
        self.assertEqual(session._pause_before_next(1), 0.5)
        self.assertEqual(session._pause_before_next(4), 0.125)
        self.assertEqual(session._pause_before_next(0), 0.0)
        session.cursor = Cursor(1_000_000_000 + 3600 * 10**9)  # type: ignore[assignment]
        self.assertEqual(session._pause_before_next(1), MAX_PAUSE)

    def test_speed_0_writes_bounded_batches_and_stops_while_paused(self) -> None:
        """At speed 0 frames go out as one write of at most 1,000 frames or 256 KiB (plus the
        frame that crossed it), each a whole WebSocket frame; a paused transport stops the
        replay between writes, and neither it nor a closing session takes anything from the
        recording meanwhile (sessions of a stream set share one position)."""
        payload = b"x" * 1000
        left = [Record(Kind.FRAME, STREAM, payload, n, n) for n in range(2000)]

        class Cursor:
            sent = 0

            def peek(self) -> Record | None:
                return left[0] if left else None

            def take(self) -> Record | None:
                return left.pop(0) if left else None

        clock = Clock()
        writes: list[bytes] = []
        session = ReplayProtocol()
        session.factory = type(
            "Factory", (), {"speed": 0, "reactor": clock, "session_starts": {}}
        )()
        session.state, session.combined = session.STATE_OPEN, True
        session.cursor = Cursor()  # type: ignore[assignment]
        session.first_sent, session.streams = {}, (STREAM,)
        session.sendData = writes.append  # type: ignore[method-assign]
        session._send()
        head = frame_head(len(payload))
        frames_per_write = 256 * 1024 // len(payload) + 1
        self.assertEqual(writes, [(head + payload) * frames_per_write])
        session.paused = True
        clock.advance(0)
        self.assertEqual(len(writes), 1)
        self.assertEqual(len(left), 2000 - frames_per_write)
        session.paused = False
        session.state = session.STATE_CLOSING  # a closing session takes nothing…
        session._send()
        self.assertEqual((len(writes), len(left)), (1, 2000 - frames_per_write))
        session.state = session.STATE_OPEN  # …so the rest is there for the next one
        session._schedule(0)
        clock.advance(0)  # each write schedules the next at once: to the recording's end
        frame = len(head) + len(payload)
        self.assertEqual([len(w) // frame for w in writes], [frames_per_write] * 7 + [159])
        self.assertEqual(left, [])


class DepthReplayTests(TestCase):
    @asynchronous
    async def test_a_depth_cache_syncs_on_the_replay_to_the_recorded_exchange_book(self) -> None:
        """Record a depth stream with its REST snapshot (FakeBinance, 40 ticks), replay it:
        an unchanged legacy DepthCacheManager syncs from the recorded snapshot and ends with
        exactly the book the fake exchange had when the recording stopped."""
        from binance_twisted import DepthCacheManager
        from binance_twisted.depth.budget import SnapshotScheduler
        from binance_twisted.recording.recorder import Recorder
        from binance_twisted.recording.sink import RecordSink
        from binance_twisted.recording.snapshots import SnapshotTaker
        from binance_twisted.rest import RestClient
        from binance_twisted.testing import FakeBinance

        fake = FakeBinance(reactor, event_interval=None)
        await fake.start()
        self.addCleanup(fake.stop)
        out = Path(self.mktemp())
        sink = RecordSink(reactor, out, "spot", {}, flush_interval=0.1)
        await sink.start()
        client = StreamClient(reactor, fake.endpoints)
        taker = SnapshotTaker(
            RestClient(reactor, fake.endpoints.rest_url), SnapshotScheduler(reactor), sink.put
        )
        depth = "bnbbtc@depth@100ms"
        recorder = Recorder(client, [depth], sink.put, snapshots=taker)
        await recorder.start()
        for n in range(40):
            fake.tick()
            await wait_until(lambda n=n: recorder.frames[depth] > n and taker.taken)
        true_id, true_bids, true_asks = fake.book("BNBBTC")
        await client.close()
        await sink.stop()

        port = self.serve_site(out)
        endpoints = fake_endpoints("127.0.0.1", port, False)
        dcm = await threads.deferToThread(
            lambda: DepthCacheManager(
                None, "BNBBTC", ws_interval=100, endpoints=endpoints, conv_type=str
            )
        )
        self.addCleanup(threads.deferToThread, dcm.close)
        await wait_until(lambda: dcm.synchroniser.book.update_id == true_id, timeout=10)
        cache = dcm.get_depth_cache()

        def exact(levels: Any) -> dict[Decimal, Decimal]:
            pairs = levels.items() if isinstance(levels, dict) else levels
            return {Decimal(price): Decimal(qty) for price, qty in pairs}

        self.assertEqual(exact(cache.get_bids()), exact(true_bids))
        self.assertEqual(exact(cache.get_asks()), exact(true_asks))
        self.assertGreater(len(true_bids), 10)

    def serve_site(self, path: Path) -> int:
        port = reactor.listenTCP(0, replay_site(reactor, path), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        return port.getHost().port
