"""python-binance 1.x's asyncio surface: sockets read with ``await socket.recv()``.

Runs under ``asyncio.run()`` (on Twisted's asyncio reactor, started on the running loop)
and in Twisted coroutines (``ensureDeferred``), on the same core as the thread facades.
"""

from binance_twisted.aio.depthcache import DepthCacheManager, FuturesDepthCacheManager
from binance_twisted.aio.manager import KEEPALIVE_TIMEOUT, BinanceSocketManager
from binance_twisted.aio.queue import ReadLoopClosed
from binance_twisted.aio.sockets import AsyncSocket

__all__ = [
    "KEEPALIVE_TIMEOUT",
    "AsyncSocket",
    "BinanceSocketManager",
    "DepthCacheManager",
    "FuturesDepthCacheManager",
    "ReadLoopClosed",
]
