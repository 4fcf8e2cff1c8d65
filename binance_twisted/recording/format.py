"""The bytes of a recording: records, the blocks they are flushed in, the file around them.

A file is ``FILE_MAGIC``, a checksummed JSON header, then blocks. A block is one flush: a
16-byte head (``BLOCK_MAGIC``, compressed length, raw length, CRC32 of the compressed
bytes) and one independent zstd frame holding records. A record is ``u32 length``,
``u32 CRC32`` and a body: a fixed head (kind, flags, receive times, connection id, sequence
number, stream name length), the stream name, and the payload (the frame's bytes unchanged,
or a JSON object for the other kinds). Everything is little-endian.

The recorder writes frames as FRAMES records (format version 2): one per connection and
reactor turn, whose payload holds the run's stream names once and then columns (per frame:
the name's number, the monotonic receive time, the length), then the frames' bytes. One
record head, one CRC and a few array conversions per run instead of per frame is what keeps
recording cheap next to the client. Readers expand a run into its FRAME records; version 1
files (one FRAME record per frame) read as before.

A crash can tear only the last block, whose length or CRC then fails: readers stop before
it, so a reader never yields a corrupt record. A sealed file ends with an index (JSON) and a
16-byte footer pointing at it; the index carries a SHA-256 of every byte before it.
"""

from __future__ import annotations

import enum
import struct
import sys
import zlib
from array import array
from collections.abc import Iterable, Iterator, Sequence
from functools import partial
from itertools import accumulate, pairwise, repeat
from typing import Any, BinaryIO, NamedTuple

from binance_twisted._json import dumps, loads
from binance_twisted.recording import _zstd

__all__ = [
    "BLOCK_HEAD",
    "BLOCK_MAGIC",
    "DEFAULT_LEVEL",
    "FILE_MAGIC",
    "FOOTER",
    "FOOTER_MAGIC",
    "INDEX_MAGIC",
    "LEVELS",
    "MAX_BLOCK_RAW",
    "CorruptRecordError",
    "FrameRun",
    "Kind",
    "Record",
    "Recorded",
    "check_level",
    "complete_blocks",
    "decode_block",
    "decode_items",
    "decode_records",
    "encode_block",
    "encode_header",
    "encode_records",
    "expand",
    "read_header",
    "sealed_index",
]

FILE_MAGIC = b"BTWREC1\n"
BLOCK_MAGIC = b"BTWB"
INDEX_MAGIC = b"BTWI"
FOOTER_MAGIC = b"BTWEND1\n"
#: ``magic, compressed length, raw length, crc32(compressed)``
BLOCK_HEAD = struct.Struct("<4sIII")
#: ``FOOTER_MAGIC, offset of INDEX_MAGIC``
FOOTER = struct.Struct("<8sQ")
#: a block's records never take more than this once inflated (a reader refuses more)
MAX_BLOCK_RAW = 64 * 1024 * 1024
FORMAT_VERSION = 2
#: the versions this reader reads (1: one FRAME record per frame, no FRAMES runs)
READABLE_VERSIONS = (1, 2)

_RECORD_HEAD = struct.Struct("<II")  # body length, crc32(body)
_BODY_HEAD = struct.Struct("<BBHQQIQH")  # kind, flags, 0, wall ns, mono ns, conn, seq, len
_BINARY = 1
_RUN_HEAD = struct.Struct("<IH")  # frames, stream names
_NAME_LENGTH = struct.Struct("<H")
# array typecodes of the run columns: stream number, monotonic ns, length. Monotonic times
# are never negative, so "Q" writes the bytes "q" did (version 2 files read either way) and
# converts each item without the PyArg_Parse call of the signed types: 12 ns less a frame
_CODES, _MONOS, _LENGTHS = "H", "Q", "I"
_SWAP = sys.byteorder != "little"  # the columns are little-endian on disk


class CorruptRecordError(ValueError):
    """Bytes that are not what the format says (a bad CRC, a truncated record, bad zstd)."""


class Kind(enum.IntEnum):
    """What a record says: a frame as received, or something that happened around frames."""

    FRAME = 1  #: a WebSocket frame, bytes unchanged
    CONNECT = 2  #: a session opened: ``{"url", "streams", ...}``
    SUBSCRIBE = 3  #: streams asked for: ``{"streams"}``
    ACK = 4  #: the subscription was confirmed
    DISCONNECT = 5  #: a session ended: ``{"code", "reason", "clean"}``
    GAP = 6  #: ids missing: ``{"stream", "last_id", "next_id", "detected_by"}``
    SNAPSHOT = 7  #: a REST depth snapshot: ``{"request", "sent_ns", "received_ns", "body"}``
    MARK = 8  #: a rotation, a heartbeat, a writer's drop count…
    #: on disk only: a run of one connection's frames (:class:`FrameRun`); readers yield
    #: its FRAME records
    FRAMES = 9


class Record(NamedTuple):
    """One record: ``payload`` is the frame's bytes (FRAME) or UTF-8 JSON (other kinds).

    A named tuple: one is built per frame on the reactor thread, so it must be cheap.
    """

    kind: Kind
    stream: str
    payload: bytes
    recv_wall_ns: int
    recv_mono_ns: int
    conn_id: int = 0
    seq: int = 0
    binary: bool = False

    @classmethod
    def event(
        cls,
        kind: Kind,
        details: dict[str, Any],
        *,
        recv_wall_ns: int,
        recv_mono_ns: int,
        stream: str = "",
        conn_id: int = 0,
        seq: int = 0,
    ) -> Record:
        """A non-FRAME record whose payload is ``details`` as JSON."""
        return cls(kind, stream, dumps(details), recv_wall_ns, recv_mono_ns, conn_id, seq)

    def details(self) -> dict[str, Any]:
        """The JSON payload of a non-FRAME record."""
        if self.kind is Kind.FRAME:
            raise ValueError("a FRAME record's payload is the frame itself, not details")
        value = loads(self.payload)
        if not isinstance(value, dict):
            raise CorruptRecordError(f"a {self.kind.name} record's payload is not an object")
        return value


class FrameRun:
    """Frames of one connection received in one reactor turn, in arrival order, as columns.

    The recorder appends to the columns on the hot path (three list appends per frame) and
    hands the run to its sinks at the end of the turn; the writer encodes it as one FRAMES
    record. Frame ``i`` has sequence number ``first_seq + i`` and wall time ``wall_ns +
    monos[i] - monos[0]`` (one wall clock read per run, exact monotonic times per frame).
    """

    __slots__ = ("conn_id", "first_seq", "monos", "payloads", "streams", "wall_ns")
    kind = Kind.FRAMES

    def __init__(self, conn_id: int, first_seq: int, wall_ns: int) -> None:
        self.conn_id = conn_id
        self.first_seq = first_seq
        self.wall_ns = wall_ns
        self.streams: list[str] = []
        self.payloads: list[bytes] = []
        self.monos: list[int] = []

    def __len__(self) -> int:
        return len(self.payloads)

    def __repr__(self) -> str:
        return f"<FrameRun conn={self.conn_id} seq={self.first_seq}+{len(self)}>"

    @property
    def recv_wall_ns(self) -> int:
        """The wall time of the run's first frame (where a writer files the run)."""
        return self.wall_ns

    @property
    def recv_mono_ns(self) -> int:
        """The monotonic time of the run's first frame."""
        return self.monos[0]

    @property
    def last_wall_ns(self) -> int:
        """The wall time of the run's last frame."""
        return self.wall_ns + self.monos[-1] - self.monos[0]

    def split(self, at: int) -> tuple[FrameRun, FrameRun]:
        """The first ``at`` frames and the rest, as two runs."""
        head = FrameRun(self.conn_id, self.first_seq, self.wall_ns)
        tail_wall = self.wall_ns + self.monos[at] - self.monos[0]
        tail = FrameRun(self.conn_id, self.first_seq + at, tail_wall)
        for run, part in ((head, slice(None, at)), (tail, slice(at, None))):
            run.streams = self.streams[part]
            run.payloads = self.payloads[part]
            run.monos = self.monos[part]
        return head, tail

    def records(self) -> Iterator[Record]:
        """The run as FRAME records (what a reader yields for it)."""
        if not self.monos:
            return iter(())
        base, count = self.wall_ns - self.monos[0], len(self.monos)
        fields = zip(
            repeat(Kind.FRAME, count),
            self.streams,
            self.payloads,
            map(base.__add__, self.monos),
            self.monos,
            repeat(self.conn_id),
            range(self.first_seq, self.first_seq + count),
            repeat(False),
            strict=False,  # the first is as long as the run; the repeats are endless
        )
        return map(_record, fields)  # built in C: no Python call per frame


#: what recorders hand their sinks: single records, and runs of frames
Recorded = Record | FrameRun
_record = partial(tuple.__new__, Record)  # a Record without NamedTuple's Python __new__


def encode_records(records: Iterable[Recorded]) -> Iterator[bytes | bytearray]:
    """The bytes of each record (length, CRC32, body), in order; a run is one FRAMES record.

    One loop for a whole batch (the writer's hot path): no call per record, and each
    stream name is encoded once.
    """
    names: dict[str, bytes] = {}
    body_head, record_head, crc32 = _BODY_HEAD.pack, _RECORD_HEAD.pack, zlib.crc32
    for record in records:
        if isinstance(record, FrameRun):
            yield _encode_run(record)
            continue
        kind, stream, payload, wall_ns, mono_ns, conn_id, seq, binary = record
        if kind == Kind.FRAMES:
            raise ValueError("FRAMES records are written from FrameRun objects")
        name = names.get(stream)
        if name is None:
            name = names[stream] = stream.encode()
        head = body_head(
            kind, binary, 0, wall_ns, mono_ns, conn_id, seq, len(name)
        )  # flags: binary
        body = head + name + payload
        yield record_head(len(body), crc32(body)) + body


def _encode_run(run: FrameRun) -> bytearray:
    """A FRAMES record: the record head, then a body of the head, the names, the columns
    and the frames' bytes, assembled in one copy (a run can be megabytes)."""
    names = list(dict.fromkeys(run.streams))
    number = {name: i for i, name in enumerate(names)}
    columns = [
        array(_CODES, map(number.__getitem__, run.streams)),
        array(_MONOS, run.monos),
        array(_LENGTHS, map(len, run.payloads)),
    ]
    if _SWAP:
        for column in columns:
            column.byteswap()
    pieces = [
        bytes(_RECORD_HEAD.size),
        _BODY_HEAD.pack(
            Kind.FRAMES, 0, 0, run.wall_ns, run.monos[0], run.conn_id, run.first_seq, 0
        ),
        _RUN_HEAD.pack(len(run.payloads), len(names)),
    ]
    for name in names:
        encoded = name.encode()
        pieces += (_NAME_LENGTH.pack(len(encoded)), encoded)
    pieces += (column.tobytes() for column in columns)
    pieces += run.payloads
    record = bytearray().join(pieces)
    body_length = len(record) - _RECORD_HEAD.size
    body_crc = zlib.crc32(memoryview(record)[_RECORD_HEAD.size :])
    _RECORD_HEAD.pack_into(record, 0, body_length, body_crc)
    return record


def decode_records(raw: bytes) -> Iterator[Record]:
    """The records of one inflated block, a run as its frames; :class:`CorruptRecordError`
    on the first bad one."""
    return expand(decode_items(raw))


def expand(items: Iterable[Recorded]) -> Iterator[Record]:
    """Records and runs as records: each run as its FRAME records."""
    for item in items:
        if isinstance(item, FrameRun):
            yield from item.records()
        else:
            yield item


def decode_items(raw: bytes) -> Iterator[Recorded]:
    """The records and runs of one inflated block, as written."""
    view = memoryview(raw)
    offset, end = 0, len(raw)
    head_size, body_size = _RECORD_HEAD.size, _BODY_HEAD.size
    while offset < end:
        if end - offset < head_size:
            raise CorruptRecordError(f"a record head cut short at byte {offset}")
        length, crc = _RECORD_HEAD.unpack_from(view, offset)
        start = offset + head_size
        body = bytes(view[start : start + length])
        if len(body) != length or length < body_size:
            raise CorruptRecordError(f"a record cut short at byte {offset}")
        if zlib.crc32(body) != crc:
            raise CorruptRecordError(f"a record's CRC does not match at byte {offset}")
        kind, flags, _, wall, mono, conn, seq, name_length = _BODY_HEAD.unpack_from(body)
        name_end = body_size + name_length
        try:
            record_kind = Kind(kind)
            stream = body[body_size:name_end].decode()
        except (ValueError, UnicodeDecodeError):
            raise CorruptRecordError(f"a record with a bad kind or name at byte {offset}") from None
        if record_kind is Kind.FRAMES:
            yield _decode_run(body, wall, conn, seq, offset)
        else:
            yield Record(
                record_kind, stream, body[name_end:], wall, mono, conn, seq, bool(flags & _BINARY)
            )
        offset = start + length


def _decode_run(body: bytes, wall: int, conn: int, seq: int, offset: int) -> FrameRun:
    """The run of a FRAMES record's body (whose CRC held)."""
    try:
        count, name_count = _RUN_HEAD.unpack_from(body, _BODY_HEAD.size)
        if not count:
            raise ValueError("a run of no frames")  # never written
        position = _BODY_HEAD.size + _RUN_HEAD.size
        names = []
        for _ in range(name_count):
            (length,) = _NAME_LENGTH.unpack_from(body, position)
            position += _NAME_LENGTH.size
            names.append(body[position : position + length].decode())
            position += length
        columns = []
        for typecode in (_CODES, _MONOS, _LENGTHS):
            column = array(typecode)
            end = position + count * column.itemsize
            column.frombytes(body[position:end])
            if len(column) != count:
                raise ValueError("a column cut short")
            if _SWAP:
                column.byteswap()
            columns.append(column)
            position = end
        codes, monos, lengths = columns
        streams = [names[code] for code in codes]
    except (struct.error, ValueError, UnicodeDecodeError, IndexError):
        raise CorruptRecordError(f"a FRAMES record that does not add up at byte {offset}") from None
    if position + sum(lengths) != len(body):
        raise CorruptRecordError(f"a FRAMES record that does not add up at byte {offset}")
    run = FrameRun(conn, seq, wall)
    run.streams, run.monos = streams, monos.tolist()
    run.payloads = [body[a:b] for a, b in pairwise(accumulate(lengths, initial=position))]
    return run


#: zstd's own default. On the bench's frames level 1 takes 30 % (trades) and 15 % (depth)
#: less CPU for files 27 % and 65 % bigger (bench/README.md): an operator's choice
#: (``--zstd-level``), not ours to make for them
DEFAULT_LEVEL = 3
#: the zstd levels a writer takes: the fast negative ones up to the last that needs no
#: extra memory to read back
LEVELS = range(-7, 20)


def check_level(name: str, value: object) -> None:
    """A zstd level a writer takes (see :data:`LEVELS`), or ValueError naming ``name``."""
    if value not in LEVELS:
        raise ValueError(
            f"{name} must be a zstd level from {LEVELS[0]} to {LEVELS[-1]}, got {value!r}"
        )


def encode_block(records: Sequence[bytes | bytearray], level: int = DEFAULT_LEVEL) -> bytes:
    """One block (head and zstd frame) of already encoded ``records``, in order."""
    size = sum(map(len, records))
    if size > MAX_BLOCK_RAW:
        raise ValueError(f"a block holds at most {MAX_BLOCK_RAW} bytes of records")
    packed = _zstd.compress(records, size, level)
    return BLOCK_HEAD.pack(BLOCK_MAGIC, len(packed), size, zlib.crc32(packed)) + packed


def decode_block(head: bytes, packed: bytes) -> bytes:
    """The inflated records of a block whose head and compressed bytes were read whole."""
    magic, length, raw_length, crc = BLOCK_HEAD.unpack(head)
    if magic != BLOCK_MAGIC or len(packed) != length:
        raise CorruptRecordError("not a block")
    if raw_length > MAX_BLOCK_RAW:
        raise CorruptRecordError(f"a block claims {raw_length} bytes, over {MAX_BLOCK_RAW}")
    if zlib.crc32(packed) != crc:
        raise CorruptRecordError("a block's CRC does not match")
    try:
        raw = _zstd.decompress(packed, raw_length)
    except ValueError as error:
        raise CorruptRecordError(str(error)) from None
    if len(raw) != raw_length:
        raise CorruptRecordError("a block inflates to another size than its head says")
    return raw


def encode_header(header: dict[str, Any]) -> bytes:
    """``FILE_MAGIC``, then the header as checksummed JSON."""
    body = dumps({"format_version": FORMAT_VERSION, **header})
    return FILE_MAGIC + _RECORD_HEAD.pack(len(body), zlib.crc32(body)) + body


#: a header longer than this is not ours (a reader never allocates more for it)
MAX_HEADER = 1 << 20


def read_header(f: BinaryIO) -> tuple[dict[str, Any], int]:
    """The header of the file ``f`` (read from its start) and the offset of its first block."""
    f.seek(0)
    start = f.read(len(FILE_MAGIC) + _RECORD_HEAD.size)
    if start[: len(FILE_MAGIC)] != FILE_MAGIC or len(start) < len(FILE_MAGIC) + 8:
        raise CorruptRecordError("not a binance-twisted recording")
    length, crc = _RECORD_HEAD.unpack_from(start, len(FILE_MAGIC))
    if length > MAX_HEADER:
        raise CorruptRecordError("the file header claims to be too long")
    body = f.read(length)
    if len(body) != length or zlib.crc32(body) != crc:
        raise CorruptRecordError("the file header is cut short or corrupt")
    header = loads(body)
    if not isinstance(header, dict) or header.get("format_version") not in READABLE_VERSIONS:
        raise CorruptRecordError(f"unknown format version in {header!r:.80}")
    return header, f.tell()


def complete_blocks(f: BinaryIO, end: int | None = None) -> Iterator[tuple[int, bytes]]:
    """``(offset after the block, inflated records)`` of every block of the file ``f``, in
    order, one block in memory at a time.

    ``end`` is where a sealed file's index starts: every block before it must be whole and
    valid (:class:`CorruptRecordError` otherwise). Without it (a ``.part`` file) reading
    stops silently at the first block that is cut short or fails its CRC: a crash tore it.
    """
    offset = read_header(f)[1]
    head_size = BLOCK_HEAD.size
    while end is None or offset < end:
        head = f.read(head_size)
        if not head and end is None:
            return
        try:
            if len(head) < head_size or head[:4] != BLOCK_MAGIC:
                raise CorruptRecordError("not a block")
            length = BLOCK_HEAD.unpack(head)[1]
            if length > MAX_BLOCK_RAW:
                raise CorruptRecordError(f"a block claims {length} compressed bytes")
            raw = decode_block(head, f.read(length))
        except CorruptRecordError as error:
            if end is None:
                return
            raise CorruptRecordError(f"{error} (block at byte {offset})") from None
        offset += head_size + length
        yield offset, raw


def sealed_index(f: BinaryIO) -> tuple[dict[str, Any], int] | None:
    """A sealed file's index and where it starts, or ``None`` for a file without one."""
    size = f.seek(0, 2)
    if size < FOOTER.size:
        return None
    f.seek(size - FOOTER.size)
    magic, offset = FOOTER.unpack(f.read(FOOTER.size))
    if magic != FOOTER_MAGIC or not 0 < offset < size:
        return None
    f.seek(offset)
    head = f.read(8)
    if head[:4] != INDEX_MAGIC:
        return None
    length = int.from_bytes(head[4:8], "little")
    index = loads(f.read(min(length, size - offset)))
    if not isinstance(index, dict):
        raise CorruptRecordError("the index is not an object")
    return index, offset
