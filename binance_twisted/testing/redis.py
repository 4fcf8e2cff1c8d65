"""A throwaway ``redis-server`` for tests, examples and the bench: the bus's FakeBinance.

Redis itself is small and fast to start, so there is nothing to fake: :class:`RedisServer`
runs the real one (Debian: ``apt-get install redis-server``) on a free loopback port with no
disk at all, and :meth:`~RedisServer.restart` brings it back on the same port, empty, as a
crash would.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

__all__ = ["RedisServer", "RedisUnavailable", "free_port"]


class RedisUnavailable(RuntimeError):
    """``redis-server`` is not installed, or did not start."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """One ``redis-server`` process; ``extra`` are more of its command-line options."""

    def __init__(self, *extra: str) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            raise RedisUnavailable(
                "redis-server is not installed (Debian: apt-get install redis-server)"
            )
        self.executable = executable
        self.port = free_port()
        self.extra = extra
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        """Start it and return once it answers (blocking: call it before the reactor runs,
        or from a test's setup, not from a callback)."""
        self.process = subprocess.Popen(
            [self.executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--protected-mode", "no", *self.extra],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while self.ping() is None:
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RedisUnavailable(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)  # a process starting up

    def stop(self) -> None:
        """Kill it (no shutdown save: it has no disk) and wait for it to end."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self) -> None:
        """Stop and start on the same port: empty again, as after a crash."""
        self.stop()
        self.start()

    def ping(self) -> bytes | None:
        """The first line of its answer to PING (``None`` while it does not listen yet)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as conn:
                conn.sendall(b"*1\r\n$4\r\nPING\r\n")
                return conn.recv(1024).split(b"\r\n", 1)[0]
        except OSError:
            return None
