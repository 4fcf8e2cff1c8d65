"""Recording files on disk: written as ``.part``, flushed block by block, sealed, recovered.

:class:`RecordFileWriter` appends records to an in-memory block; :meth:`~RecordFileWriter.flush`
writes it as one zstd block and fsyncs, so a crash loses at most the unflushed records.
:meth:`~RecordFileWriter.seal` writes the index (times, counts per kind and stream, gaps, a
SHA-256 of the file) and renames ``NAME.btrec.part`` to ``NAME.btrec``. A ``.part`` left by
a crash is sealed on the next start by :func:`recover_part`, keeping every complete block.
Blocking file I/O: the recorder runs it beside the reactor, never on it.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from binance_twisted._json import dumps
from binance_twisted.recording.format import (
    DEFAULT_LEVEL,
    FOOTER,
    FOOTER_MAGIC,
    INDEX_MAGIC,
    MAX_BLOCK_RAW,
    CorruptRecordError,
    FrameRun,
    Kind,
    Record,
    Recorded,
    complete_blocks,
    decode_items,
    encode_block,
    encode_header,
    encode_records,
    read_header,
)

__all__ = ["SUFFIX", "FileIndex", "RecordFileWriter", "recording_path", "recover_part"]

SUFFIX = ".btrec"
PART = ".part"


def recording_path(out_dir: str | Path, venue: str, when_wall_ns: int, part: int) -> Path:
    """``{out}/{venue}/{YYYY-MM-DD}/{HH}/{venue}-{YYYYMMDDTHHMMSSZ}-{part:04d}.btrec`` (UTC)."""
    moment = datetime.fromtimestamp(when_wall_ns / 1e9, tz=timezone.utc)
    return (
        Path(out_dir)
        / venue
        / moment.strftime("%Y-%m-%d")
        / moment.strftime("%H")
        / f"{venue}-{moment.strftime('%Y%m%dT%H%M%SZ')}-{part:04d}{SUFFIX}"
    )


class FileIndex:
    """What a sealed file's index says, kept up to date as records are appended."""

    def __init__(self) -> None:
        self.first_wall_ns: int | None = None
        self.last_wall_ns: int | None = None
        self.kinds: dict[str, int] = {}
        self.streams: dict[str, int] = {}
        self.gaps: list[dict[str, Any]] = []
        self.disconnects = 0
        self.raw_bytes = 0
        self.blocks = 0

    def add(self, records: list[Recorded], size: int) -> None:
        """Count ``records`` (``size`` encoded bytes in all), in the order appended."""
        if not records:
            return
        if self.first_wall_ns is None:
            self.first_wall_ns = records[0].recv_wall_ns
        last = records[-1]
        self.last_wall_ns = last.last_wall_ns if isinstance(last, FrameRun) else last.recv_wall_ns
        streams = self.streams
        frame = Kind.FRAME
        frames = 0
        for record in records:
            if isinstance(record, FrameRun):
                for stream, count in Counter(record.streams).items():
                    streams[stream] = streams.get(stream, 0) + count
                frames += len(record)
            elif record.kind is frame:
                streams[record.stream] = streams.get(record.stream, 0) + 1
                frames += 1
            else:
                self._event(record)
        if frames:
            self.kinds["FRAME"] = self.kinds.get("FRAME", 0) + frames
        self.raw_bytes += size

    def _event(self, record: Record) -> None:
        name = record.kind.name
        self.kinds[name] = self.kinds.get(name, 0) + 1
        if record.kind is Kind.GAP:
            self.gaps.append({**record.details(), "recv_wall_ns": record.recv_wall_ns})
        elif record.kind is Kind.DISCONNECT:
            self.disconnects += 1

    def as_dict(self, sha256: str, file_bytes: int) -> dict[str, Any]:
        return {
            "first_wall_ns": self.first_wall_ns,
            "last_wall_ns": self.last_wall_ns,
            "records": sum(self.kinds.values()),
            "kinds": self.kinds,
            "streams": self.streams,
            "gaps": self.gaps,
            "disconnects": self.disconnects,
            "blocks": self.blocks,
            "raw_bytes": self.raw_bytes,
            "file_bytes": file_bytes,
            "sha256": sha256,
        }


class RecordFileWriter:
    """One recording file being written (``path`` + ``.part`` until :meth:`seal`)."""

    def __init__(self, path: Path, header: dict[str, Any], *, level: int = DEFAULT_LEVEL) -> None:
        self.path = Path(path)
        self.part_path = self.path.with_name(self.path.name + PART)
        self.level = level
        self.index = FileIndex()
        self._pending: list[bytes | bytearray] = []
        self._pending_bytes = 0
        self._sha = hashlib.sha256()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.part_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        self.bytes_written = 0
        self._write(encode_header({"created_wall_ns": time.time_ns(), **header}))
        os.fsync(self._fd)
        _fsync_dir(self.path.parent)

    @property
    def pending_bytes(self) -> int:
        """Encoded bytes waiting for the next :meth:`flush`."""
        return self._pending_bytes

    def append(self, record: Recorded) -> None:
        """Buffer one record (nothing touches the disk until :meth:`flush`)."""
        self.extend([record])

    def extend(self, records: list[Recorded]) -> None:
        """Buffer records in order; a block is written early if they would overflow one."""
        encoded = list(encode_records(records))
        size = sum(map(len, encoded))
        if self._pending_bytes + size <= MAX_BLOCK_RAW:  # the usual case: all in this block
            self._pending.extend(encoded)
            self._pending_bytes += size
            self.index.add(records, size)
            return
        start = run = 0  # the records not yet indexed, and their bytes
        for position, data in enumerate(encoded):
            if self._pending_bytes + len(data) > MAX_BLOCK_RAW:
                self.index.add(records[start:position], run)
                self.flush()
                start, run = position, 0
            self._pending.append(data)
            self._pending_bytes += len(data)
            run += len(data)
        self.index.add(records[start:], run)

    def flush(self, fsync: bool = True) -> int:
        """Write what is buffered as one block; returns the bytes written (0 if none)."""
        if not self._pending:
            return 0
        block = encode_block(self._pending, self.level)
        self._pending, self._pending_bytes = [], 0
        self._write(block)
        self.index.blocks += 1
        if fsync:
            os.fsync(self._fd)
        return len(block)

    def seal(self) -> Path:
        """Flush, write the index and footer, fsync, and rename to the final name."""
        self.flush(fsync=False)
        offset = self.bytes_written
        index = dumps(self.index.as_dict(self._sha.hexdigest(), offset))
        tail = INDEX_MAGIC + len(index).to_bytes(4, "little") + index
        self._write(tail + FOOTER.pack(FOOTER_MAGIC, offset))
        os.fsync(self._fd)
        os.close(self._fd)
        os.replace(self.part_path, self.path)
        _fsync_dir(self.path.parent)
        return self.path

    def abandon(self) -> None:
        """Close without sealing (the ``.part`` stays, for :func:`recover_part`)."""
        os.close(self._fd)

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self._sha.update(data)
        self.bytes_written += len(data)


def recover_part(part_path: Path) -> Path | None:
    """Seal a ``.part`` left by a crash with every complete block it holds (the torn tail is
    dropped); ``None`` if it does not even hold a whole header."""
    part_path = Path(part_path)
    with part_path.open("rb") as f:
        try:
            header, _ = read_header(f)
        except CorruptRecordError:
            return None
        final = part_path.with_name(part_path.name[: -len(PART)])
        rebuilt = final.with_name(final.name + ".recovering")
        header = {k: v for k, v in header.items() if k != "format_version"}
        writer = RecordFileWriter(rebuilt, {**header, "recovered_from": part_path.name})
        for _, raw in complete_blocks(f):  # a block at a time, whatever the file's size
            writer.extend(list(decode_items(raw)))  # runs stay runs
            writer.flush(fsync=False)
    writer.seal()
    os.replace(rebuilt, final)
    part_path.unlink()
    _fsync_dir(final.parent)
    return final


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
