"""python-binance's thread-based surface (0.x and 1.x) on the native core.

The only wing that imports :mod:`threading`: the managers own a thread for compatibility,
the library's reactor runs in one daemon thread (:mod:`~binance_twisted.legacy.reactor_thread`),
and every socket talks to a :class:`~binance_twisted.legacy.venue.Venue`.
"""

from binance_twisted.legacy.depthcache import (
    DepthCache,
    DepthCacheManager,
    FuturesDepthCacheManager,
    ThreadedDepthCacheManager,
)
from binance_twisted.legacy.manager import BinanceSocketManager
from binance_twisted.legacy.reactor_thread import ReactorStoppedError
from binance_twisted.legacy.threaded import ThreadedWebsocketManager

__all__ = [
    "BinanceSocketManager",
    "DepthCache",
    "DepthCacheManager",
    "FuturesDepthCacheManager",
    "ReactorStoppedError",
    "ThreadedDepthCacheManager",
    "ThreadedWebsocketManager",
]
