"""Reading recordings back: records in order, filtered, and what a file holds.

:func:`read_records` walks a file or a directory of them (sealed ``.btrec`` files and
``.part`` files still being written or left by a crash) and yields :class:`Record` objects.
A ``.part`` ends quietly before a torn last block; a sealed file must be whole, or
:class:`CorruptRecordError` names the file and the byte. :func:`inspect_file` says what a
file holds and whether its checksum still holds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import attrs

from binance_twisted.recording.files import PART, SUFFIX
from binance_twisted.recording.format import (
    CorruptRecordError,
    FrameRun,
    Kind,
    Record,
    Recorded,
    complete_blocks,
    decode_items,
    decode_records,
    read_header,
    sealed_index,
)

__all__ = ["FileSummary", "count_frames", "inspect_file", "read_records", "recording_files"]


def recording_files(path_or_dir: str | Path) -> list[Path]:
    """The recording files under a directory (or the one file), oldest first."""
    path = Path(path_or_dir)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"no recording at {path}")
    found = [p for p in path.rglob("*") if p.name.endswith((SUFFIX, SUFFIX + PART))]

    def created(file: Path) -> tuple[int, str]:
        try:
            with file.open("rb") as f:
                header, _ = read_header(f)
        except CorruptRecordError:
            return (0, file.name)
        return (int(header.get("created_wall_ns", 0)), file.name)

    return sorted(found, key=created)


def read_records(
    path_or_dir: str | Path,
    streams: Iterable[str] | None = None,
    start: int | None = None,
    end: int | None = None,
    kinds: Iterable[Kind] | None = None,
) -> Iterator[Record]:
    """Every record, file by file in order, optionally only of ``streams`` (non-FRAME
    records without a stream pass too), of ``kinds``, received in ``[start, end)`` (ns).

    With ``kinds``, a sealed file whose index counts none of them is not read at all: the
    replay's search for depth snapshots skips the hours that took none.
    """
    wanted = set(streams) if streams is not None else None
    wanted_kinds = set(kinds) if kinds is not None else None
    frames_wanted = wanted_kinds is None or Kind.FRAME in wanted_kinds

    def passes(record: Record) -> bool:
        # records of no stream (connects, marks) pass a stream filter
        unwanted = wanted is not None and record.stream not in wanted
        if unwanted and (record.kind is Kind.FRAME or record.stream):
            return False
        if wanted_kinds is not None and record.kind not in wanted_kinds:
            return False
        if start is not None and record.recv_wall_ns < start:
            return False
        return end is None or record.recv_wall_ns < end

    for file in recording_files(path_or_dir):
        if wanted_kinds is not None:
            index = _index_of(file)  # a sealed file says what it holds: skip it unread
            if index is not None and not any(index["kinds"].get(k.name) for k in wanted_kinds):
                continue
        for item in _file_items(file):
            if not isinstance(item, FrameRun):
                if passes(item):
                    yield item
            elif not frames_wanted:
                continue
            elif _passes_whole(item, wanted, start, end):
                yield from item.records()  # no test per frame
            else:
                yield from filter(passes, item.records())


def _passes_whole(
    run: FrameRun, wanted: set[str] | None, start: int | None, end: int | None
) -> bool:
    """Whether every frame of ``run`` is of ``wanted`` streams and within the window."""
    if wanted is not None and not wanted.issuperset(run.streams):
        return False
    base = run.wall_ns - run.monos[0]
    if start is not None and base + min(run.monos) < start:
        return False
    return end is None or base + max(run.monos) < end


def _file_items(file: Path) -> Iterator[Recorded]:
    with file.open("rb") as f:
        if file.name.endswith(PART):
            try:
                read_header(f)
            except CorruptRecordError:
                return  # its very header was being written when it was read, or killed
        try:
            sealed = sealed_index(f)
            for _, raw in complete_blocks(f, sealed[1] if sealed else None):
                yield from decode_items(raw)
        except CorruptRecordError as error:
            raise CorruptRecordError(f"{file}: {error}") from None


def count_frames(path_or_dir: str | Path) -> int:
    """FRAME records in a recording: from each sealed file's index (a few bytes read), and
    by reading through only the files without one (``.part``)."""
    total = 0
    for file in recording_files(path_or_dir):
        index = _index_of(file)
        if index is not None:
            total += int(index["kinds"].get("FRAME", 0))
        else:
            items = _file_items(file)
            total += sum(len(i) if isinstance(i, FrameRun) else i.kind is Kind.FRAME for i in items)
    return total


def _index_of(file: Path) -> dict[str, Any] | None:
    """A sealed file's index (a few bytes at its end), or ``None`` for a ``.part``."""
    if file.name.endswith(PART):
        return None
    with file.open("rb") as f:
        sealed = sealed_index(f)
    if sealed is None:
        return None
    index = sealed[0]
    if not isinstance(index.get("kinds"), dict):
        raise CorruptRecordError(f"{file}: the index has no kind counts")
    return index


@attrs.frozen
class FileSummary:
    """What one recording file holds (``python -m binance_twisted inspect`` prints it)."""

    path: Path
    sealed: bool
    #: the SHA-256 in the index matches the bytes (``None``: not sealed, nothing to check)
    checksum_ok: bool | None
    header: dict[str, Any]
    kinds: dict[str, int]
    streams: dict[str, int]
    first_wall_ns: int | None
    last_wall_ns: int | None
    gaps: list[dict[str, Any]]
    file_bytes: int
    raw_bytes: int
    #: bytes after the last complete block of a ``.part`` (a torn tail)
    truncated_tail: int

    @property
    def compression_ratio(self) -> float:
        return self.raw_bytes / self.file_bytes if self.file_bytes else 0.0


def inspect_file(path: str | Path) -> FileSummary:
    """Read a file through (a block at a time) and summarise it; a sealed file's checksum
    is verified."""
    path = Path(path)
    kinds: dict[str, int] = {}
    streams: dict[str, int] = {}
    gaps: list[dict[str, Any]] = []
    first = last = None
    raw_bytes = 0
    with path.open("rb") as f:
        size = f.seek(0, 2)
        header, consumed = read_header(f)
        sealed = sealed_index(f)
        checksum_ok = None if sealed is None else _sha256(f, sealed[1]) == sealed[0].get("sha256")
        for block_end, raw in complete_blocks(f, sealed[1] if sealed else None):
            consumed = block_end  # the torn tail of a .part starts after the last whole block
            raw_bytes += len(raw)
            for record in decode_records(raw):
                kinds[record.kind.name] = kinds.get(record.kind.name, 0) + 1
                if record.kind is Kind.FRAME:
                    streams[record.stream] = streams.get(record.stream, 0) + 1
                elif record.kind is Kind.GAP:
                    gaps.append({**record.details(), "recv_wall_ns": record.recv_wall_ns})
                first = record.recv_wall_ns if first is None else first
                last = record.recv_wall_ns
    tail = 0 if sealed is not None else size - consumed
    return FileSummary(
        path,
        sealed is not None,
        checksum_ok,
        header,
        kinds,
        streams,
        first,
        last,
        gaps,
        size,
        raw_bytes,
        tail,
    )


def _sha256(f: BinaryIO, end: int) -> str:
    """SHA-256 of the first ``end`` bytes of ``f``, read a MiB at a time."""
    digest = hashlib.sha256()
    f.seek(0)
    left = end
    while left > 0:
        chunk = f.read(min(left, 1 << 20))
        if not chunk:
            break
        digest.update(chunk)
        left -= len(chunk)
    return digest.hexdigest()
