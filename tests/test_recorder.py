"""The recorder: FakeBinance over real sockets into real files, read back afterwards.

A recording must be complete between its gaps, say where each gap is, never hold a frame
twice (rotations included), and stay bounded when the writer or the disk cannot keep up.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

from twisted.internet import defer, reactor
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase, TestCase

from binance_twisted import ConnectionPolicy, StreamClient
from binance_twisted._json import dumps, loads
from binance_twisted.events import ConnectionEvent, EventKind
from binance_twisted.recording import (
    FrameRun,
    Kind,
    Record,
    Recorded,
    read_records,
    sink as sink_module,
)
from binance_twisted.recording.recorder import RUN_FRAMES, Recorder
from binance_twisted.recording.sink import RecordSink
from binance_twisted.testing import FakeBinance
from tests.support import asynchronous, wait_until

TRADES = "bnbbtc@trade"
AGG = "bnbbtc@aggTrade"


def frame_ids(records: list[Record], stream: str, key: str) -> list[int]:
    return [
        loads(r.payload)["data"][key]
        for r in records
        if r.kind is Kind.FRAME and r.stream == stream
    ]


class RecordingTests(TestCase):
    @asynchronous
    async def test_complete_between_gaps_through_rotation_drops_stall_and_garbage(self) -> None:
        """Trades and aggTrades through a serverShutdown rotation, two dropped networks, a
        stall and garbage frames: ids never repeat, every jump in them has a GAP record with
        its exact bounds, and CONNECT / DISCONNECT / MARK records say what happened."""
        fake = FakeBinance(reactor, event_interval=0.02)
        await fake.start()
        self.addCleanup(fake.stop)
        out = Path(self.mktemp())
        sink = RecordSink(reactor, out, "spot", {"streams": [TRADES, AGG]}, flush_interval=0.1)
        await sink.start()
        client = StreamClient(reactor, fake.endpoints, policy=ConnectionPolicy(stall_timeout=1))
        recorder = Recorder(client, [TRADES, AGG], sink.put)
        await recorder.start()

        async def more() -> None:
            mark = recorder.frames[TRADES]
            await wait_until(lambda: recorder.frames[TRADES] > mark + 10)

        await more()
        fake.server_shutdown()
        await more()
        fake.send_garbage()
        fake.send_garbage(binary=True)
        for _ in range(2):
            await more()
            fake.drop_all()
        await more()
        fake.stall()
        await wait_until(lambda: client.stats()["spot-1"]["stalls"] == 1)
        fake.resume()
        await more()
        await client.close()
        await sink.stop()

        records = list(read_records(out))
        gaps = {
            (g.stream, g.details()["last_id"], g.details()["next_id"])
            for g in records
            if g.kind is Kind.GAP
        }
        for stream, key in ((TRADES, "t"), (AGG, "a")):
            ids = frame_ids(records, stream, key)
            self.assertEqual(ids, sorted(set(ids)), stream)  # no duplicate, no reordering
            jumps = {(stream, a, b) for a, b in itertools.pairwise(ids) if b != a + 1}
            self.assertEqual(jumps, {g for g in gaps if g[0] == stream})
        kinds = [r.kind for r in records]
        self.assertEqual(kinds[:2], [Kind.SUBSCRIBE, Kind.CONNECT])
        # each frame names the connection that opened last, numbered 1, 2, 3… within it
        conn, seqs = 0, []
        for r in records:
            if r.kind is Kind.CONNECT:
                conn = r.conn_id
            elif r.kind is Kind.FRAME:
                self.assertEqual(r.conn_id, conn)
                seqs.append((conn, r.seq))
        runs = {c: [s for c2, s in seqs if c2 == c] for c, _ in seqs}
        self.assertGreaterEqual(len(runs), 5)  # first, rotation, two drops, after the stall
        for run in runs.values():
            self.assertEqual(run, list(range(1, len(run) + 1)))
        bys = [r.details()["by"] for r in records if r.kind is Kind.DISCONNECT]
        self.assertEqual(bys, ["server", "server", "server", "client"])  # drops, stall, close
        marks = [r.details().get("mark") for r in records if r.kind is Kind.MARK]
        self.assertIn("rotation", marks)
        self.assertIn("stalled", marks)
        self.assertEqual(sink.stats.dropped, 0)
        self.assertEqual(sink.stats.files_sealed, 1)
        self.assertEqual(list(out.rglob("*.part")), [])


class _OneConnection:
    """What the recorder asks a client about its connections: every stream on spot-1."""

    def connection_of(self, stream: str) -> str:
        return "spot-1"

    def stats(self) -> dict[str, dict[str, Any]]:
        return {"spot-1": {"url": "wss://example/stream"}}


def trade(n: int) -> tuple[dict[str, Any], bytes]:
    data = {"e": "trade", "t": n, "p": "1.0"}
    return data, dumps({"stream": TRADES, "data": data})


class HotPathTests(SynchronousTestCase):
    """The recorder's per-frame path on a task.Clock: frames gather in one run per
    connection and reactor turn, handed over at the turn's end or before any other record."""

    def setUp(self) -> None:
        self.clock = Clock()
        self.out: list[Recorded] = []
        client: Any = _OneConnection()
        self.recorder = Recorder(client, [TRADES, AGG], self.out.append, clock=self.clock)
        self.recorder.connection_event(ConnectionEvent(EventKind.CONNECTED, "spot-1", 0.0))
        self.out.clear()

    def feed(self, *ids: int) -> None:
        for n in ids:
            self.recorder.frame(TRADES, *trade(n))

    def test_a_turn_of_frames_is_one_run_numbered_on_from_the_last(self) -> None:
        self.feed(1, 2, 3)
        self.assertEqual(self.out, [])  # still in this turn
        self.clock.advance(0)
        (run,) = self.out
        assert isinstance(run, FrameRun)
        records = list(run.records())
        self.assertEqual([(r.conn_id, r.seq) for r in records], [(1, 1), (1, 2), (1, 3)])
        self.assertEqual([loads(r.payload)["data"]["t"] for r in records], [1, 2, 3])
        self.assertEqual(self.recorder.frames[TRADES], 3)
        self.assertEqual(self.recorder.last_frame_ns[TRADES], records[-1].recv_wall_ns)
        self.feed(4)
        self.clock.advance(0)
        self.assertEqual([r.seq for r in self.out[1].records()], [4])  # type: ignore[union-attr]

    def test_a_gap_record_follows_the_frames_received_before_it(self) -> None:
        self.feed(1, 2, 5, 6)
        self.clock.advance(0)
        kinds = [(item.kind, len(item) if isinstance(item, FrameRun) else 0) for item in self.out]
        self.assertEqual(kinds, [(Kind.FRAMES, 3), (Kind.GAP, 0), (Kind.FRAMES, 1)])
        gap = self.out[1]
        assert isinstance(gap, Record)
        self.assertEqual((gap.details()["last_id"], gap.details()["next_id"]), (2, 5))
        self.assertEqual([r.seq for r in self.out[2].records()], [4])  # type: ignore[union-attr]

    def test_a_reconnect_hands_the_old_connections_frames_over_first(self) -> None:
        self.feed(1, 2)
        self.recorder.connection_event(ConnectionEvent(EventKind.RECONNECTED, "spot-1", 0.0))
        self.feed(3)
        self.clock.advance(0)
        shapes = [(i.kind, i.conn_id) for i in self.out]
        self.assertEqual(shapes, [(Kind.FRAMES, 1), (Kind.CONNECT, 2), (Kind.FRAMES, 2)])
        self.assertEqual([r.seq for r in self.out[2].records()], [1])  # type: ignore[union-attr]

    def test_a_run_never_holds_more_than_RUN_FRAMES(self) -> None:
        self.feed(*range(1, RUN_FRAMES + 2))
        self.assertEqual([len(run) for run in self.out], [RUN_FRAMES])  # type: ignore[arg-type]
        self.clock.advance(0)
        self.assertEqual([len(run) for run in self.out], [RUN_FRAMES, 1])  # type: ignore[arg-type]
        self.assertEqual(self.recorder.gaps, 0)


T0 = 1_796_300_000_000_000_000


def record(n: int, size: int = 100) -> Record:
    return Record(Kind.FRAME, "s", b"x" * size, T0 + n, n, 1, n)


class BoundTests(SynchronousTestCase):
    def sink(self, **options: Any) -> tuple[RecordSink, Clock, list]:
        """A sink whose writer jobs wait in ``jobs`` until the test runs them."""
        clock = Clock()
        jobs: list[tuple[defer.Deferred, Any, tuple]] = []

        def run(function: Any, *args: Any) -> defer.Deferred:
            d: defer.Deferred = defer.Deferred()
            jobs.append((d, function, args))
            return d

        sink = RecordSink(clock, self.mktemp(), "spot", {}, run=run, **options)
        sink.start()
        return sink, clock, jobs

    @staticmethod
    def work(jobs: list) -> None:
        while jobs:
            d, function, args = jobs.pop(0)
            d.callback(function(*args))

    def test_a_slow_writer_makes_drops_counted_then_a_gap_record(self) -> None:
        """Past max_pending_bytes nothing more waits: drops are counted, and once the
        writer caught up the next record is preceded by a GAP with the count."""
        sink, clock, jobs = self.sink(max_pending_bytes=10_000, flush_bytes=1 << 30)
        self.work(jobs)  # the recovery job
        for n in range(200):
            sink.put(record(n))
        self.assertEqual((sink.stats.records, sink.stats.dropped), (67, 133))
        clock.advance(1)  # the flush timer hands the batch over; the writer is busy…
        self.work(jobs)  # …and now done
        sink.put(record(500))
        clock.advance(1)
        self.work(jobs)
        sink.stop()
        self.work(jobs)
        records = list(read_records(sink.out_dir))
        gap = next(r for r in records if r.kind is Kind.GAP)
        self.assertEqual(gap.details()["dropped"], 133)
        self.assertEqual(records[-1].seq, 500)
        self.assertEqual(sum(r.kind is Kind.FRAME for r in records), 68)

    def test_runs_count_as_their_frames_and_big_ones_are_written_in_parts(self) -> None:
        """A run counts (and drops) as its frames; one over a quarter block is split, so
        every block stays under its limit; the frames read back whole and in order."""
        self.patch(sink_module, "_MAX_RUN_BYTES", 5_000)
        self.patch(sink_module, "_FRAME_OVERHEAD", 14)  # 114 bytes a frame
        sink, _, jobs = self.sink(max_pending_bytes=30_000)
        self.work(jobs)
        run = FrameRun(1, 1, T0)
        for n in range(200):
            run.streams.append("s")
            run.payloads.append(b"%05d" % n + b"x" * 95)
            run.monos.append(n)
        sink.put(run)
        self.assertEqual((sink.stats.records, sink.stats.dropped), (200, 0))
        sink.put(run)  # 22,800 bytes wait: two parts of 25 frames fit, six are dropped
        self.assertEqual((sink.stats.records, sink.stats.dropped), (250, 150))
        sink.stop()
        self.work(jobs)
        records = list(read_records(sink.out_dir))
        self.assertEqual([r.seq for r in records], [*range(1, 201), *range(1, 51)])
        self.assertEqual([r.payload[:5] for r in records[:200]], [b"%05d" % n for n in range(200)])
        self.assertEqual(records[7].recv_wall_ns, T0 + 7)

    def test_the_zstd_level_is_the_operators_choice_within_zstds_range(self) -> None:
        """Level -7 writes bigger blocks than level 19 of the same records, both read back
        the same; a level outside -7..19 is refused before anything is written."""
        sizes = {}
        for level in (-7, 19):
            sink, _, jobs = self.sink(level=level)
            for n in range(300):
                sink.put(record(n))
            sink.stop()
            self.work(jobs)
            self.assertEqual([r.seq for r in read_records(sink.out_dir)], list(range(300)))
            sizes[level] = sink.stats.bytes_written
        self.assertGreater(sizes[-7], sizes[19])
        for level in (-8, 20):
            with self.assertRaisesRegex(ValueError, "level must be a zstd level from -7 to 19"):
                RecordSink(Clock(), self.mktemp(), "spot", {}, level=level)

    def test_the_disk_guard_pauses_recording_and_says_so(self) -> None:
        """The writer measures free space (never the reactor): under the minimum, records
        are dropped and counted; a quiet tick measures again, and recording resumes with a
        GAP record that says how many were lost."""
        free = [10 << 30]
        sink, clock, jobs = self.sink(min_free_bytes=1 << 30, free_bytes=lambda path: free[0])
        self.work(jobs)
        sink.put(record(1))
        free[0] = 1 << 20
        clock.advance(1)
        self.work(jobs)  # the write measured the disk
        self.assertTrue(sink.stats.disk_full)
        self.assertEqual(sink.stats.free_bytes, 1 << 20)
        for n in range(2, 12):
            sink.put(record(n))
        self.assertEqual(sink.stats.dropped, 10)
        free[0] = 10 << 30
        clock.advance(1)  # nothing batched: the tick still asks the writer to measure
        self.work(jobs)
        self.assertFalse(sink.stats.disk_full)
        sink.put(record(20))
        sink.stop()
        self.work(jobs)
        kinds = [(r.kind, r.seq) for r in read_records(sink.out_dir)]
        self.assertEqual(kinds, [(Kind.FRAME, 1), (Kind.GAP, 0), (Kind.FRAME, 20)])

    def test_files_rotate_at_the_hour_and_at_the_size_cap(self) -> None:
        sink, clock, jobs = self.sink(rotate_seconds=3600, max_file_bytes=2000)
        hour = 3600 * 1_000_000_000
        for n in range(3):
            sink.put(record(n))
        sink.put(Record(Kind.FRAME, "s", b"y" * 100, 1_796_300_000_000_000_000 + hour, 9, 1, 9))
        clock.advance(1)
        sink.stop()
        self.work(jobs)
        files = sorted(p.name for p in Path(sink.out_dir).rglob("*.btrec"))
        self.assertEqual(len(files), 2)
        self.assertEqual(sink.stats.files_sealed, 2)
        self.assertEqual(len(list(read_records(sink.out_dir))), 4)

    def test_retention_by_size_keeps_the_newest_files_that_fit(self) -> None:
        """keep_bytes: after each seal the oldest sealed files go until the rest fit; the
        newest always stays, however small the budget."""
        sink, clock, jobs = self.sink(rotate_seconds=3600, keep_bytes=1)
        hour = 3600 * 1_000_000_000
        for n in range(4):
            sink.put(Record(Kind.FRAME, "s", b"z" * 50, T0 + n * hour, n, 1, n))
            clock.advance(1)
            self.work(jobs)
        sink.stop()
        self.work(jobs)
        self.assertEqual(len(list(Path(sink.out_dir).rglob("*.btrec"))), 1)
        self.assertEqual([r.seq for r in read_records(sink.out_dir)], [3])
        self.assertEqual(sink.stats.files_deleted, 3)

    def test_retention_by_age_deletes_files_past_the_horizon(self) -> None:
        sink, _, jobs = self.sink(keep_seconds=86400)
        self.work(jobs)
        old = Path(sink.out_dir) / "spot" / "old.btrec"
        old.parent.mkdir(parents=True)
        old.write_bytes(b"x")
        os.utime(old, (0, 0))  # 1970
        sink.put(record(1))
        sink.stop()
        self.work(jobs)
        self.assertFalse(old.exists())
        self.assertEqual(sink.stats.files_deleted, 1)
        self.assertEqual([r.seq for r in read_records(sink.out_dir)], [1])
