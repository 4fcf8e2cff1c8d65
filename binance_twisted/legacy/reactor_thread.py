"""The one reactor thread that thread-based (legacy) code runs on.

python-binance 0.x ran ``reactor.run()`` inside the first manager's thread. This module keeps
the useful part of that (a script needs no Twisted knowledge) and drops the defects: the
global reactor runs in one *daemon* thread owned by the library, started on first need and
never stopped by the library, so managers can come and go; if the program already runs the
reactor itself, nothing new starts. Calls from other threads reach it through
:func:`call_in_reactor`, which never deadlocks the reactor thread and never hangs on a
reactor that is gone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from twisted.internet import defer
from twisted.internet.task import LoopingCall
from twisted.python.failure import Failure
from twisted.python.threadable import isInIOThread

from binance_twisted.errors import BinanceTwistedError

__all__ = [
    "HEARTBEAT",
    "ReactorStoppedError",
    "call_in_reactor",
    "ensure_running",
    "reactor_stopped",
]

T = TypeVar("T")

#: A stopped reactor is noticed within this many seconds even when no data flows: user code
#: often calls ``reactor.stop()`` from the main thread, which does not wake the reactor.
HEARTBEAT = 0.5

_lock = threading.Lock()
_thread: threading.Thread | None = None


class ReactorStoppedError(BinanceTwistedError):
    """The Twisted reactor was stopped; Twisted cannot restart it in this process."""

    def __init__(self) -> None:
        super().__init__(
            "the Twisted reactor has been stopped (reactor.stop() was called) and Twisted "
            "reactors cannot be restarted: create managers before stopping the reactor, "
            "use manager.close() instead of reactor.stop() to end streaming, or start a new "
            "process"
        )


def reactor_stopped(reactor: Any) -> bool:
    """Whether ``reactor`` ran before and has stopped (or is stopping) for good."""
    started_before = getattr(reactor, "_startedBefore", False)
    stopping = getattr(reactor, "_stopped", False) and getattr(reactor, "_started", False)
    return bool(started_before and (not reactor.running or stopping))


def ensure_running(reactor: Any, timeout: float = 10.0) -> None:
    """Make sure ``reactor`` runs somewhere: start the library's daemon thread if needed."""
    global _thread
    if reactor_stopped(reactor):
        raise ReactorStoppedError()
    with _lock:
        if reactor.running or (_thread is not None and _thread.is_alive()):
            return
        ready = threading.Event()
        reactor.callWhenRunning(ready.set)
        reactor.callWhenRunning(_start_heartbeat, reactor)
        _thread = threading.Thread(
            target=reactor.run,
            kwargs={"installSignalHandlers": False},
            name="binance-twisted-reactor",
            daemon=True,
        )
        _thread.start()
    if not ready.wait(timeout):
        raise BinanceTwistedError(f"the Twisted reactor did not start within {timeout} s")


def _start_heartbeat(reactor: Any) -> None:
    heartbeat = LoopingCall(lambda: None)
    heartbeat.clock = reactor
    heartbeat.start(HEARTBEAT, now=False)


def call_in_reactor(
    reactor: Any, function: Callable[..., Any], *args: Any, timeout: float | None = None
) -> Any:
    """Run ``function(*args)`` on the reactor thread and return its (awaited) result.

    From the reactor thread itself it runs directly (callbacks may call the facade). From
    other threads it waits, at most ``timeout`` seconds, and raises what ``function``
    raised. A stopped reactor raises :class:`ReactorStoppedError` instead of hanging.
    """
    if isInIOThread() and reactor.running:
        result = function(*args)
        return result if not isinstance(result, defer.Deferred) else None
    if reactor_stopped(reactor):
        raise ReactorStoppedError()
    done = threading.Event()
    outcome: list[Any] = []

    def run() -> None:
        d = defer.maybeDeferred(function, *args)

        def finish(result: Any) -> None:
            outcome.append(result)
            done.set()

        d.addBoth(finish)

    reactor.callFromThread(run)
    if not done.wait(timeout):
        if reactor_stopped(reactor):
            raise ReactorStoppedError()
        raise BinanceTwistedError(f"the reactor did not answer within {timeout} s")
    result = outcome[0]
    if isinstance(result, Failure):
        result.raiseException()
    return result
