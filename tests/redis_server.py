"""A real ``redis-server`` for the bus tests: started on a free loopback port, no disk.

Skips (with how to install it) where the Debian package is missing; ``.ci/run`` installs it.
"""

from __future__ import annotations

import socket
from typing import Any

import hiredis
from twisted.trial.unittest import SkipTest

from binance_twisted.testing import redis

free_port = redis.free_port


class RedisServer(redis.RedisServer):
    """The library's throwaway server, skipping the test where it is not installed, with
    the few blocking commands tests use to look inside it."""

    def __init__(self, *extra: str) -> None:
        try:
            super().__init__(*extra)
        except redis.RedisUnavailable as unavailable:
            raise SkipTest(str(unavailable)) from None

    def call(self, *args: str | bytes) -> Any:
        """One command, blocking, its reply parsed by hiredis (``b"OK"``, ints, lists…)."""
        parts = [a.encode() if isinstance(a, str) else a for a in args]
        reader = hiredis.Reader()
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as conn:
            conn.sendall(
                b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
            )
            while (reply := reader.gets()) is False:
                data = conn.recv(1 << 16)
                if not data:
                    raise ConnectionError(f"redis-server closed the connection during {args}")
                reader.feed(data)
        return reply

    def events(self, venue: str = "spot") -> list[dict[bytes, bytes]]:
        """Every entry of the venue's ``_events`` stream, as field dicts."""
        entries = self.call("XRANGE", f"binance:{venue}:_events", "-", "+")
        return [dict(zip(fields[::2], fields[1::2], strict=True)) for _, fields in entries]
