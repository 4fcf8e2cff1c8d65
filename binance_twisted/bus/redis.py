"""The one place that talks to txredisapi: a lazily connecting, reconnecting Redis handle.

Why txredisapi: it is Twisted-native (commands return Deferreds on the reactor thread, no
thread to hand results across), pipelines every command on one connection, and reconnects
with backoff through Twisted's ``ClientService``. A thread-safe blocking client would need a
thread per blocking ``XREAD`` and a hop back to the reactor for every reply.

Bytes in, bytes out (``charset=None``) and no number guessing (``convertNumbers=False``):
frames are stored and read back exactly as Binance sent them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet import defer, task
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from binance_twisted.bus.address import BusAddress

__all__ = ["connect", "disconnect"]

log = Logger(namespace="binance_twisted.bus")
_warned: list[bool] = []


def connect(address: BusAddress, on_error: Callable[[str], Any] | None = None) -> Any:
    """A txredisapi handle for ``address`` (returned at once; commands wait for a connection).

    A fatal connection error (a refused password) is logged and given to ``on_error``:
    txredisapi stops trying then, and would otherwise say it only as an unhandled error.
    Needs the ``redis`` extra: ``pip install binance-twisted[redis]``.
    """
    handle = _open(address)
    first = getattr(getattr(handle, "_factory", None), "deferred", None)  # the first connect
    if first is not None:

        def failed(failure: Failure) -> None:
            message = failure.getErrorMessage()
            log.error("bus {address}: {message}", address=str(address), message=message)
            if on_error is not None:
                on_error(message)

        first.addErrback(failed)
    return handle


def _open(address: BusAddress) -> Any:
    try:
        import txredisapi
    except ImportError as e:  # pragma: no cover - the redis extra is part of the test setup
        raise ImportError(
            "the Redis bus needs txredisapi: pip install 'binance-twisted[redis]'"
        ) from e
    if txredisapi.hiredis is None and not _warned:
        _warned.append(True)
        log.warn(
            "hiredis is not installed: txredisapi parses replies in pure Python, one reactor "
            "turn per field; pip install 'binance-twisted[redis]' brings it"
        )
    return txredisapi.lazyConnection(
        address.host,
        address.port,
        dbid=address.db,
        reconnect=True,
        charset=None,
        convertNumbers=False,
        password=address.password,
        username=address.username,
    )


def disconnect(reactor: IReactorTime, handles: list[Any]) -> defer.Deferred[None]:
    """Close txredisapi handles; fires a reactor turn later, once their last parsing step
    (txredisapi finishes a reply in a ``callLater(0)``) has run."""
    d = defer.gatherResults(
        [defer.maybeDeferred(h.disconnect) for h in handles], consumeErrors=True
    )
    d.addBoth(lambda _: task.deferLater(reactor, 0, lambda: None))
    return d.addCallback(lambda _: None)
