"""Recording files: what is written is read back exactly, a crash tears at most the last
block, corruption is caught, sealing indexes and checksums, a torn ``.part`` is recovered."""

from __future__ import annotations

import os
import zlib
from pathlib import Path

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from binance_twisted._json import dumps
from binance_twisted.recording import (
    CorruptRecordError,
    FrameRun,
    Kind,
    Record,
    Recorded,
    RecordFileWriter,
    _zstd,
    count_frames,
    format as format_module,
    inspect_file,
    read_records,
    recording_path,
    recover_part,
)
from binance_twisted.recording.format import (
    BLOCK_HEAD,
    BLOCK_MAGIC,
    MAX_BLOCK_RAW,
    decode_block,
    decode_items,
    decode_records,
    encode_block,
    encode_records,
    expand,
    sealed_index,
)

T0 = 1_796_300_000_000_000_000  # ns


def frame(n: int, stream: str = "btcusdt@trade", binary: bool = False) -> Record:
    payload = dumps({"stream": stream, "data": {"e": "trade", "t": n, "p": "1.0"}})
    return Record(Kind.FRAME, stream, payload, T0 + n * 1000, n * 1000, 1, n, binary)


records = st.builds(
    Record,
    kind=st.sampled_from([kind for kind in Kind if kind is not Kind.FRAMES]),
    stream=st.text(max_size=40),
    payload=st.binary(max_size=300),
    recv_wall_ns=st.integers(0, 2**64 - 1),
    recv_mono_ns=st.integers(0, 2**64 - 1),
    conn_id=st.integers(0, 2**32 - 1),
    seq=st.integers(0, 2**64 - 1),
    binary=st.booleans(),
)


#: records as a file holds them: an event's payload is its details (the index reads them)
filed_records = st.builds(
    Record,
    kind=st.sampled_from([Kind.FRAME, Kind.GAP, Kind.MARK, Kind.DISCONNECT]),
    stream=st.text(max_size=20),
    payload=st.just(b"{}"),
    recv_wall_ns=st.integers(2**62, 2**63 + 2**62),
    recv_mono_ns=st.integers(0, 2**62),
    conn_id=st.integers(0, 9),
    seq=st.integers(0, 2**32),
)


@st.composite
def runs(draw: st.DrawFn) -> FrameRun:
    """A run of frames of a few (non-ASCII too) stream names, at any times."""
    names = draw(st.lists(st.text(max_size=20), min_size=1, max_size=4))
    run = FrameRun(draw(st.integers(0, 2**32 - 1)), draw(st.integers(0, 2**60)), 0)
    run.wall_ns = draw(st.integers(2**62, 2**63))
    for _ in range(draw(st.integers(1, 30))):
        run.streams.append(draw(st.sampled_from(names)))
        run.payloads.append(draw(st.binary(max_size=200)))
        run.monos.append(draw(st.integers(0, 2**62)))
    return run


class RecordTests(SynchronousTestCase):
    @given(st.lists(st.one_of(records, runs()), max_size=12))
    @settings(max_examples=200, deadline=None)
    def test_runs_of_frames_read_back_as_their_frames(self, written: list[Recorded]) -> None:
        """A run is written as one FRAMES record and read back as its FRAME records:
        stream, bytes, sequence number, connection and both receive times per frame."""
        encoded = b"".join(encode_records(written))
        self.assertEqual(list(decode_records(encoded)), list(expand(written)))
        self.assertEqual(len(list(decode_items(encoded))), len(written))  # a run stays one

    def test_a_frames_record_that_does_not_add_up_is_refused(self) -> None:
        """A run whose count claims more frames than its bytes hold (its CRC recomputed, as
        a bug in a writer would) is refused, never read past its end."""
        run = FrameRun(1, 1, T0)
        run.streams, run.payloads, run.monos = ["a"], [b"{}"], [5]
        (data,) = encode_records([run])
        body = bytearray(data[8:])
        for count in (2, 0):
            body[34:38] = count.to_bytes(4, "little")  # the frame count, after the head
            forged = len(body).to_bytes(4, "little") + zlib.crc32(body).to_bytes(4, "little")
            with self.assertRaisesRegex(CorruptRecordError, "does not add up"):
                list(decode_records(forged + bytes(body)))

    def test_both_zstd_backends_write_blocks_the_other_reads(self) -> None:
        """Blocks streamed into ``zstandard`` in pieces, and blocks joined and compressed
        whole as with Python 3.14's ``compression.zstd`` (stood in for here by a module of
        its call shapes), are the same zstd frames: each backend reads the other's."""
        import zstandard

        class StdlibShaped:
            ZstdError = zstandard.ZstdError

            @staticmethod
            def compress(data: bytes, level: int) -> bytes:
                return zstandard.ZstdCompressor(level=level).compress(data)

            class ZstdDecompressor:
                def decompress(self, data: bytes, max_length: int) -> bytes:
                    return zstandard.ZstdDecompressor().decompress(data, max_output_size=max_length)

        records = [frame(n) for n in range(50)]
        pieces = list(encode_records(records))
        streamed = encode_block(pieces)
        self.patch(_zstd, "_backend", ("stdlib", StdlibShaped))
        whole = encode_block(pieces)
        for block, reader in ((streamed, ("stdlib", StdlibShaped)), (whole, None)):
            self.patch(_zstd, "_backend", reader)
            head, packed = block[: BLOCK_HEAD.size], block[BLOCK_HEAD.size :]
            self.assertEqual(list(decode_records(decode_block(head, packed))), records)

    def test_version_1_files_still_read(self) -> None:
        """Files of format version 1 (a FRAME record per frame, before runs) read as they
        always did."""
        self.patch(format_module, "FORMAT_VERSION", 1)
        path = Path(self.mktemp())
        writer = RecordFileWriter(path, {"venue": "spot"})
        writer.extend([frame(1), frame(2)])
        writer.seal()
        self.assertEqual(list(read_records(path)), [frame(1), frame(2)])
        self.assertEqual(inspect_file(path).header["format_version"], 1)

    @given(st.lists(records, max_size=20))
    @settings(max_examples=200, deadline=None)
    def test_any_records_round_trip(self, written: list[Record]) -> None:
        """Every field of every kind, binary flags and non-ASCII names included."""
        encoded = b"".join(encode_records(written))
        self.assertEqual(list(decode_records(encoded)), written)

    def test_a_flipped_byte_is_caught_by_the_crc(self) -> None:
        data = bytearray(*encode_records([frame(1)]))
        data[-3] ^= 0x40
        with self.assertRaisesRegex(CorruptRecordError, "CRC"):
            list(decode_records(bytes(data)))

    def test_event_records_carry_json_details(self) -> None:
        gap = Record.event(
            Kind.GAP,
            {"stream": "btcusdt@trade", "last_id": 4, "next_id": 9, "detected_by": "t"},
            recv_wall_ns=T0,
            recv_mono_ns=0,
            stream="btcusdt@trade",
        )
        (back,) = decode_records(*encode_records([gap]))
        self.assertEqual(back.details()["next_id"], 9)
        with self.assertRaises(ValueError):
            frame(1).details()


class FileTests(SynchronousTestCase):
    def writer(self, name: str = "a.btrec", **header: object) -> RecordFileWriter:
        directory = Path(self.mktemp())
        return RecordFileWriter(directory / name, {"venue": "test", **header})

    def test_sealed_files_read_back_exactly_and_say_what_they_hold(self) -> None:
        """Three flushes, a gap, a disconnect, a binary frame: read back in order; the
        index counts them, lists the gap and its checksum holds."""
        writer = self.writer()
        written = [frame(n) for n in range(100)]
        gap = Record.event(
            Kind.GAP,
            {"stream": "btcusdt@trade", "last_id": 99, "next_id": 120, "detected_by": "t"},
            recv_wall_ns=T0 + 200_000,
            recv_mono_ns=1,
            stream="btcusdt@trade",
        )
        bye = Record.event(
            Kind.DISCONNECT,
            {"code": 1006, "reason": "x", "clean": False},
            recv_wall_ns=T0 + 300_000,
            recv_mono_ns=2,
        )
        binary = frame(120, "ethusdt@depth", binary=True)
        for chunk in (written[:40], written[40:], [gap, bye, binary]):
            for record in chunk:
                writer.append(record)
            writer.flush()
        path = writer.seal()
        self.assertFalse(writer.part_path.exists())
        self.assertEqual(list(read_records(path)), [*written, gap, bye, binary])
        summary = inspect_file(path)
        self.assertTrue(summary.sealed)
        self.assertTrue(summary.checksum_ok)
        self.assertEqual(summary.kinds, {"FRAME": 101, "GAP": 1, "DISCONNECT": 1})
        self.assertEqual(summary.streams, {"btcusdt@trade": 100, "ethusdt@depth": 1})
        self.assertEqual([g["next_id"] for g in summary.gaps], [120])
        self.assertEqual(summary.header["venue"], "test")
        self.assertGreater(summary.compression_ratio, 2)

    def test_a_crash_loses_at_most_the_torn_last_block(self) -> None:
        """Cut a .part anywhere inside its last block: exactly the complete blocks' records
        come back, never an exception, never a corrupt record."""
        writer = self.writer()
        for n in range(30):
            writer.append(frame(n))
        writer.flush()
        complete = os.path.getsize(writer.part_path)
        for n in range(30, 45):
            writer.append(frame(n))
        writer.flush()
        writer.abandon()
        data = writer.part_path.read_bytes()
        for cut in range(complete, len(data), 7):
            writer.part_path.write_bytes(data[:cut])
            self.assertEqual([r.seq for r in read_records(writer.part_path)], list(range(30)))
        writer.part_path.write_bytes(data)
        self.assertEqual(len(list(read_records(writer.part_path))), 45)

    def test_a_batch_past_the_block_limit_is_split_into_blocks_under_it(self) -> None:
        """Records that would inflate one block past the limit readers accept go into
        several blocks, each under it; all come back in order and the index counts each."""
        from binance_twisted.recording import files

        self.patch(files, "MAX_BLOCK_RAW", 2000)
        writer = self.writer()
        written = [frame(n) for n in range(60)]
        writer.extend(written[:5])
        writer.extend(written[5:])
        writer.flush()
        path = writer.seal()
        self.assertEqual(list(read_records(path)), written)
        with path.open("rb") as f:
            index = sealed_index(f)
        data = path.read_bytes()
        assert index is not None
        sizes = []
        offset = data.index(BLOCK_MAGIC)
        while data.startswith(BLOCK_MAGIC, offset):
            _, compressed, raw, _ = BLOCK_HEAD.unpack_from(data, offset)
            sizes.append(raw)
            offset += BLOCK_HEAD.size + compressed
        self.assertGreater(len(sizes), 3)
        self.assertLessEqual(max(sizes), 2000)
        self.assertEqual(index[0]["blocks"], len(sizes))
        self.assertEqual(index[0]["raw_bytes"], sum(sizes))
        self.assertEqual(index[0]["streams"], {"btcusdt@trade": 60})

    def test_reading_holds_one_block_not_the_file(self) -> None:
        """A 24 MB file of incompressible frames is read, inspected and recovered with a
        few MB of memory: one block at a time, never the whole file."""
        import tracemalloc

        writer = self.writer()
        for block in range(12):
            for n in range(1000):
                seq = block * 1000 + n
                writer.append(Record(Kind.FRAME, "s", os.urandom(2000), T0 + seq, seq, 1, seq))
            writer.flush()
        path = writer.seal()
        self.assertGreater(path.stat().st_size, 20_000_000)
        tracemalloc.start()
        try:
            count = sum(1 for _ in read_records(path))
            summary = inspect_file(path)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        self.assertEqual((count, summary.kinds["FRAME"], summary.checksum_ok), (12000, 12000, True))
        self.assertLess(peak, 8_000_000)

    def test_corruption_inside_a_sealed_file_names_the_file(self) -> None:
        writer = self.writer()
        for block in range(3):
            for n in range(block * 10, block * 10 + 10):
                writer.append(frame(n))
            writer.flush()
        path = writer.seal()
        data = bytearray(path.read_bytes())
        middle = data.index(BLOCK_MAGIC, data.index(BLOCK_MAGIC) + 4)
        data[middle + BLOCK_HEAD.size + 5] ^= 0xFF
        path.write_bytes(bytes(data))
        with self.assertRaisesRegex(CorruptRecordError, "a.btrec.*CRC"):
            list(read_records(path))
        self.assertFalse(checksum_holds(path))

    def test_a_block_claiming_too_much_is_refused_without_allocating_it(self) -> None:
        writer = self.writer()
        writer.append(frame(1))
        writer.flush()
        path = writer.seal()
        data = bytearray(path.read_bytes())
        head = data.index(BLOCK_MAGIC)
        data[head + 8 : head + 12] = (MAX_BLOCK_RAW + 1).to_bytes(4, "little")
        path.write_bytes(bytes(data))
        with self.assertRaisesRegex(CorruptRecordError, "claims"):
            list(read_records(path))

    def test_recover_part_seals_what_survived(self) -> None:
        writer = self.writer()
        for n in range(20):
            writer.append(frame(n))
        writer.flush()
        for n in range(20, 25):
            writer.append(frame(n))
        writer.flush()
        writer.abandon()
        data = writer.part_path.read_bytes()
        writer.part_path.write_bytes(data[:-10])  # the crash tore the second block
        sealed = recover_part(writer.part_path)
        assert sealed is not None
        self.assertEqual(sealed, writer.path)
        self.assertFalse(writer.part_path.exists())
        self.assertEqual([r.seq for r in read_records(sealed)], list(range(20)))
        summary = inspect_file(sealed)
        self.assertTrue(summary.checksum_ok)
        self.assertEqual(summary.header["recovered_from"], "a.btrec.part")
        half_header = Path(self.mktemp() + ".btrec.part")
        half_header.write_bytes(b"BTWREC1\n\x00")
        self.assertIsNone(recover_part(half_header))

    def test_a_directory_reads_in_order_and_filters(self) -> None:
        """Files by creation time; streams, kinds and a time window select records."""
        out = Path(self.mktemp())
        for part, base in ((0, 0), (1, 100)):
            path = recording_path(out, "spot", T0 + base * 1000, part)
            writer = RecordFileWriter(path, {"venue": "spot", "created_wall_ns": T0 + base})
            for n in range(base, base + 10):
                writer.append(frame(n, "btcusdt@trade" if n % 2 else "ethusdt@trade"))
            writer.append(
                Record.event(
                    Kind.MARK,
                    {"mark": "heartbeat"},
                    recv_wall_ns=T0 + (base + 10) * 1000,
                    recv_mono_ns=0,
                )
            )
            writer.seal()
        everything = list(read_records(out))
        self.assertEqual(len(everything), 22)
        btc = [r.seq for r in read_records(out, streams=["btcusdt@trade"], kinds=[Kind.FRAME])]
        self.assertEqual(btc, [1, 3, 5, 7, 9, 101, 103, 105, 107, 109])
        window = list(read_records(out, start=T0 + 100_000, end=T0 + 105_000))
        self.assertEqual([r.seq for r in window], [100, 101, 102, 103, 104])
        marks = list(read_records(out, streams=["btcusdt@trade"], kinds=[Kind.MARK]))
        self.assertEqual(len(marks), 2)  # records of no stream pass a stream filter
        self.assertEqual(
            recording_path("out", "spot", T0, 3).as_posix(),
            "out/spot/2026-12-03/12/spot-20261203T121320Z-0003.btrec",
        )

    @given(
        st.lists(st.one_of(filed_records, runs()), min_size=1, max_size=8),
        st.one_of(st.none(), st.sets(st.text(max_size=20), max_size=3)),
        st.one_of(st.none(), st.sets(st.sampled_from(list(Kind)), max_size=3)),
        st.one_of(st.none(), st.integers(2**62, 2**63 + 2**62)),
        st.one_of(st.none(), st.integers(2**62, 2**63 + 2**62)),
    )
    @settings(max_examples=100, deadline=None)
    def test_filters_select_the_same_frames_from_runs_as_from_records(
        self,
        written: list[Recorded],
        streams: set[str] | None,
        kinds: set[Kind] | None,
        start: int | None,
        end: int | None,
    ) -> None:
        """Whole runs pass without a test per frame; a run that a stream filter or a time
        window cuts is read frame by frame: either way, what read_records yields equals the
        filters applied to every record one at a time."""
        path = Path(self.mktemp())
        writer = RecordFileWriter(path, {"venue": "spot"})
        writer.extend(written)
        writer.seal()

        def passes(r: Record) -> bool:
            unwanted = streams is not None and r.stream not in streams
            return (
                not (unwanted and (r.kind is Kind.FRAME or r.stream))
                and (kinds is None or r.kind in kinds)
                and (start is None or r.recv_wall_ns >= start)
                and (end is None or r.recv_wall_ns < end)
            )

        self.assertEqual(
            list(read_records(path, streams, start, end, kinds)),
            [r for r in expand(written) if passes(r)],
        )

    def test_frames_are_counted_from_indexes_and_unsealed_files(self) -> None:
        """The replay's progress total: a sealed file's index answers without reading its
        blocks (a damaged block does not change the count); a .part is read through."""
        out = Path(self.mktemp())
        sealed = RecordFileWriter(out / "a.btrec", {"created_wall_ns": T0})
        for n in range(10):
            sealed.append(frame(n))
        sealed.append(Record.event(Kind.MARK, {}, recv_wall_ns=T0, recv_mono_ns=0))
        path = sealed.seal()
        data = bytearray(path.read_bytes())
        data[data.index(BLOCK_MAGIC) + BLOCK_HEAD.size + 5] ^= 0xFF
        path.write_bytes(bytes(data))
        part = RecordFileWriter(out / "b.btrec", {"created_wall_ns": T0 + 1})
        for n in range(10, 15):
            part.append(frame(n))
        part.flush()
        part.abandon()
        self.assertEqual(count_frames(out), 15)
        self.assertEqual(count_frames(part.part_path), 5)

    def test_a_kind_filter_skips_sealed_files_whose_index_counts_none(self) -> None:
        """Looking for SNAPSHOT records reads only the files that hold some: a file of
        frames alone is not opened past its index (its damaged block raises nothing),
        while a plain read of everything still finds the damage."""
        out = Path(self.mktemp())
        with_snapshot = RecordFileWriter(out / "a.btrec", {"created_wall_ns": T0})
        with_snapshot.append(
            Record.event(Kind.SNAPSHOT, {"stream": "x"}, recv_wall_ns=T0, recv_mono_ns=0)
        )
        with_snapshot.seal()
        frames_only = RecordFileWriter(out / "b.btrec", {"created_wall_ns": T0 + 1})
        for n in range(10):
            frames_only.append(frame(n))
        path = frames_only.seal()
        data = bytearray(path.read_bytes())
        data[data.index(BLOCK_MAGIC) + BLOCK_HEAD.size + 5] ^= 0xFF
        path.write_bytes(bytes(data))
        found = list(read_records(out, kinds=[Kind.SNAPSHOT]))
        self.assertEqual([r.kind for r in found], [Kind.SNAPSHOT])
        self.assertRaises(CorruptRecordError, list, read_records(out))


def checksum_holds(path: Path) -> bool:
    """The checksum verdict alone (inspect_file reads the blocks too, which fail here)."""
    import hashlib

    from binance_twisted.recording.format import sealed_index

    with path.open("rb") as f:
        sealed = sealed_index(f)
    assert sealed is not None
    data = path.read_bytes()
    return hashlib.sha256(data[: sealed[1]]).hexdigest() == sealed[0]["sha256"]
