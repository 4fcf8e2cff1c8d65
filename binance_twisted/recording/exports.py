"""Recordings in other shapes: JSON lines, hftbacktest's input, plain message lines; and
replaying a recording into the callbacks a :class:`~binance_twisted.StreamClient` would call.

Every export reads records in order with :func:`~binance_twisted.recording.read_records` and
writes one line per frame, so memory stays flat whatever the recording's size:

* ``jsonl``: ``{"recv_wall_ns", "recv_mono_ns", "conn_id", "seq", "stream", "kind", ...}``
  per record, the frame itself under ``"frame"`` (gap, disconnect and other records under
  ``"details"``);
* ``hftbacktest``: ``"{recv_wall_ns} {frame}"`` per frame, gzip-compressed, the input its
  Binance data preparation reads;
* ``lines``: the frame alone per line, and an empty line where a session ended (the shape
  several public archives use).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

from binance_twisted._json import loads
from binance_twisted.recording.format import Kind, Record
from binance_twisted.recording.reader import read_records

__all__ = ["FORMATS", "export", "replay_into"]

FORMATS = ("jsonl", "hftbacktest", "lines")


def export(
    path_or_dir: str | Path,
    out: str | Path,
    format: str = "jsonl",
    streams: Iterable[str] | None = None,
) -> int:
    """Write the recording at ``path_or_dir`` to ``out`` in ``format``; returns the lines."""
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    records = read_records(path_or_dir, streams=streams)
    opener: Callable[..., IO[str]] = gzip.open if format == "hftbacktest" else open
    written = 0
    with opener(out, "wt", encoding="utf-8") as sink:
        for line in _LINES[format](records):
            sink.write(line)
            sink.write("\n")
            written += 1
    return written


def _jsonl(records: Iterable[Record]) -> Iterable[str]:
    for record in records:
        line: dict[str, Any] = {
            "kind": record.kind.name,
            "recv_wall_ns": record.recv_wall_ns,
            "recv_mono_ns": record.recv_mono_ns,
            "conn_id": record.conn_id,
            "seq": record.seq,
            "stream": record.stream,
        }
        if record.kind is Kind.FRAME:
            line["frame"] = _text(record)
        else:
            line["details"] = record.details()
        yield json.dumps(line, separators=(",", ":"))


def _hftbacktest(records: Iterable[Record]) -> Iterable[str]:
    for record in records:
        if record.kind is Kind.FRAME:
            yield f"{record.recv_wall_ns} {_text(record)}"


def _lines(records: Iterable[Record]) -> Iterable[str]:
    for record in records:
        if record.kind is Kind.FRAME:
            yield _text(record)
        elif record.kind is Kind.DISCONNECT:
            yield ""


_LINES = {"jsonl": _jsonl, "hftbacktest": _hftbacktest, "lines": _lines}


def _text(record: Record) -> str:
    """The frame as text (a gzip binary frame inflated)."""
    payload = record.payload
    if record.binary:
        payload = gzip.decompress(payload)
    return payload.decode("utf-8")


def replay_into(
    path_or_dir: str | Path,
    on_message: Callable[[str, Any], Any],
    streams: Iterable[str] | None = None,
) -> int:
    """Call ``on_message(stream, data)`` for every recorded frame, in order, as a
    ``StreamClient`` subscription would; returns how many were replayed."""
    count = 0
    for record in read_records(path_or_dir, streams=streams, kinds=[Kind.FRAME]):
        message = loads(_text(record))
        if isinstance(message, dict) and "stream" in message and "data" in message:
            on_message(message["stream"], message["data"])
        else:
            on_message(record.stream, message)
        count += 1
    return count
