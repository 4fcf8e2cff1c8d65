"""Which reactor the asyncio surface runs on, and how its coroutines wait.

python-binance 1.x code runs under ``asyncio.run(main())`` and never touches a reactor. So
the first manager made inside an asyncio task installs Twisted's asyncio reactor on the
running loop and starts it there (no thread, no second loop); the loop drives every
connection. Code that already runs under a Twisted reactor (``task.react`` with
``ensureDeferred``) keeps its reactor, whatever kind it is.

The two kinds of coroutine wait differently: an asyncio task can only wait on a
:class:`asyncio.Future`, Twisted's ``ensureDeferred`` only on a Deferred. :func:`wait`
gives each its own.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any, TypeVar

from twisted.internet import defer

__all__ = ["in_asyncio_task", "running_reactor", "wait"]

T = TypeVar("T")


def in_asyncio_task() -> bool:
    """Whether the caller runs inside an asyncio task (else: a Twisted coroutine, or none)."""
    try:
        return asyncio.current_task() is not None
    except RuntimeError:  # no running loop in this thread
        return False


def running_reactor() -> Any:
    """The reactor for a manager made here: on asyncio, the running loop's (installed and
    started on first use); else the global reactor, as it is."""
    if not in_asyncio_task():
        from twisted.internet import reactor

        return reactor
    loop = asyncio.get_running_loop()
    if "twisted.internet.reactor" not in sys.modules:
        from twisted.internet import asyncioreactor

        asyncioreactor.install(loop)
    from twisted.internet import reactor
    from twisted.internet.asyncioreactor import AsyncioSelectorReactor

    # the reactor keeps its loop in a private attribute; nothing public says which it is
    bound = getattr(reactor, "_asyncioEventloop", None)
    if not isinstance(reactor, AsyncioSelectorReactor) or bound is not loop:
        kind = type(reactor).__name__
        where = "another event loop" if isinstance(reactor, AsyncioSelectorReactor) else kind
        raise RuntimeError(
            f"binance_twisted.aio runs on the running asyncio loop, but Twisted's reactor is "
            f"already installed on {where}: make the first BinanceSocketManager inside "
            "asyncio.run() before anything imports twisted.internet.reactor, and use one "
            "asyncio.run() per process (or run your coroutines under Twisted with "
            "task.react and ensureDeferred)"
        )
    if not reactor.running:
        from binance_twisted.aio.resolver import LoopResolver

        # names resolved by the loop, not in a reactor thread that would outlive it
        reactor.installNameResolver(LoopResolver(loop))
        reactor.startRunning(installSignalHandlers=False)
    return reactor


async def wait(d: defer.Deferred[T]) -> T:
    """The result of ``d``, awaited the way the calling coroutine can (see the module)."""
    if in_asyncio_task():
        return await d.asFuture(asyncio.get_running_loop())
    return await d
