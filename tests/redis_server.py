"""A real ``redis-server`` for the bus tests: started on a free loopback port, no disk.

Skips (with how to install it) where the Debian package is missing; ``.ci/run`` installs it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

from twisted.trial.unittest import SkipTest

_SERVER = shutil.which("redis-server")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """One ``redis-server`` process; ``restart()`` brings it back on the same port."""

    def __init__(self, *extra: str) -> None:
        if _SERVER is None:
            raise SkipTest("redis-server is not installed (Debian: apt-get install redis-server)")
        self.port = free_port()
        self.extra = extra
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert _SERVER is not None
        self.process = subprocess.Popen(
            [_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--protected-mode", "no", *self.extra],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while self.command("PING") not in (b"+PONG", b"-NOAUTH Authentication required."):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)  # a process starting, not a test waiting on time

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def command(self, *args: str | bytes) -> bytes | None:
        """One command over a plain socket; its first reply line (None if unreachable)."""
        parts = [a.encode() if isinstance(a, str) else a for a in args]
        request = b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as conn:
                conn.sendall(request)
                return conn.recv(1 << 16).split(b"\r\n", 1)[0]
        except OSError:
            return None

    def reply(self, *args: str | bytes) -> bytes:
        """A command's whole raw reply (RESP), for tests that look inside nested replies."""
        parts = [a.encode() if isinstance(a, str) else a for a in args]
        request = b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
        chunks = []
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as conn:
            conn.sendall(request)
            conn.settimeout(0.2)
            try:
                while chunk := conn.recv(1 << 16):
                    chunks.append(chunk)
            except TimeoutError:
                pass  # the reply is complete: Redis sent nothing more
        return b"".join(chunks)

    def get(self, key: str) -> str | None:
        """GET: the value as text, or None."""
        request = b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(key), key.encode())
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as conn:
            conn.sendall(request)
            data = b""
            while b"\r\n" not in data:
                data += conn.recv(4096)
            head, _, rest = data.partition(b"\r\n")
            if head == b"$-1":
                return None
            size = int(head[1:])
            while len(rest) < size + 2:
                rest += conn.recv(4096)
            return rest[:size].decode()

    def integer(self, *args: str) -> int:
        """A command whose reply is an integer (XLEN, DBSIZE…)."""
        reply = self.command(*args)
        if reply is None or not reply.startswith(b":"):
            raise AssertionError(f"{args} answered {reply!r}")
        return int(reply[1:])
