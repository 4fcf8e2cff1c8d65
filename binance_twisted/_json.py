"""One JSON codec for the whole package: orjson when installed, the stdlib otherwise.

Every inbound frame is decoded exactly once, here; picking the implementation at import
time keeps the hot path free of branches. Both raise a ``ValueError`` subclass on bad input
(invalid JSON or invalid UTF-8), so callers catch ``ValueError``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["FAST", "dumps", "loads"]

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
