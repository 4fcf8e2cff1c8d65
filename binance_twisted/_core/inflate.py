"""Gzip binary frames, inflated within the message size limit.

Binance sends text frames; binary frames are gzip-compressed JSON, which python-binance
0.7.11 accepted, so the session inflates them, a step at a time and never past the limit.
"""

from __future__ import annotations

import zlib

__all__ = ["GZIP_MAGIC", "TooBig", "gunzip"]

#: the first two bytes of a gzip stream (recorders mark binary frames by them)
GZIP_MAGIC = b"\x1f\x8b"
_INFLATE_STEP = 1 << 20


class TooBig(Exception):
    """A gzip frame inflates past the message size limit."""


def gunzip(payload: bytes, limit: int) -> bytes:
    """Binary frames are gzip-compressed JSON (legacy 0.7.11 accepted them); else undecodable
    (``b""``).

    Inflated a step at a time and never past ``limit`` bytes: a 1 MB frame can inflate to
    1 GiB, and zlib's one-shot output buffer would hold twice the limit.
    """
    if payload[:2] != GZIP_MAGIC:
        return b""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    pieces: list[bytes] = []
    size = 0
    pending = payload
    try:
        while not inflater.eof:
            piece = inflater.decompress(pending, _INFLATE_STEP)
            pending = inflater.unconsumed_tail
            if not piece and not pending:
                return b""  # truncated: the input ended before the gzip stream did
            size += len(piece)
            if size > limit:
                raise TooBig
            pieces.append(piece)
    except zlib.error:
        return b""
    return b"".join(pieces)
