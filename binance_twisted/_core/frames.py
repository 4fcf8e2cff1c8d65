"""WebSocket frame heads for frames we write ourselves (RFC 6455 section 5.2).

The replay server sends a batch of recorded frames as one write instead of one autobahn
``sendMessage`` (and one transport write) per frame; the bench's blast server pre-renders
its frames the same way.
"""

from __future__ import annotations

import struct

__all__ = ["FIN_BINARY", "FIN_TEXT", "frame_head"]

#: a frame's first byte: FIN, no reserved bits, and the opcode (1 text, 2 binary)
FIN_TEXT, FIN_BINARY = 0x81, 0x82

_SHORT, _MEDIUM, _LONG = struct.Struct("!BB"), struct.Struct("!BBH"), struct.Struct("!BBQ")


def frame_head(length: int, binary: bool = False) -> bytes:
    """The head of one final, unmasked (server-to-client) text or binary frame."""
    first = FIN_BINARY if binary else FIN_TEXT
    if length < 126:
        return _SHORT.pack(first, length)
    if length < 65536:
        return _MEDIUM.pack(first, 126, length)
    return _LONG.pack(first, 127, length)
