"""WebSocket frame heads for frames we write ourselves (RFC 6455 section 5.2).

The replay server sends a batch of recorded frames as one write instead of one autobahn
``sendMessage`` (and one transport write) per frame; the bench's blast server pre-renders
its frames the same way.
"""

from __future__ import annotations

import struct

__all__ = ["frame_head"]

_SHORT, _MEDIUM, _LONG = struct.Struct("!BB"), struct.Struct("!BBH"), struct.Struct("!BBQ")


def frame_head(length: int, binary: bool = False) -> bytes:
    """The head of one final, unmasked (server-to-client) text or binary frame."""
    first = 0x82 if binary else 0x81
    if length < 126:
        return _SHORT.pack(first, length)
    if length < 65536:
        return _MEDIUM.pack(first, 126, length)
    return _LONG.pack(first, 127, length)
