"""One JSON codec for the whole package: orjson when installed, the stdlib otherwise.

Every inbound frame is decoded exactly once, here; picking the implementation at import
time keeps the hot path free of branches. Callers catch :data:`DECODE_ERRORS`: a
``ValueError`` subclass for invalid JSON or UTF-8, ``TypeError`` for what is not text, and
``RecursionError``, which the stdlib decoder raises on deeply nested input (a 2 KB frame of
1,000 nested arrays) where orjson raises a ``ValueError``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["DECODE_ERRORS", "FAST", "dumps", "loads"]

#: what decoding untrusted bytes may raise, with either implementation
DECODE_ERRORS = (ValueError, TypeError, RecursionError)

loads: Callable[[bytes | str], Any]
dumps: Callable[[Any], bytes]

try:
    import orjson
except ImportError:  # pragma: no cover - exercised only without the "fast" extra
    FAST = False
    loads = json.loads

    def dumps(obj: Any) -> bytes:
        """Serialise compactly to UTF-8 bytes, as orjson would."""
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

else:
    FAST = True
    loads = orjson.loads
    dumps = orjson.dumps
