"""Twisted-native Binance WebSocket client and drop-in ``BinanceSocketManager`` replacement."""

from binance_twisted.client import StreamClient, Subscription
from binance_twisted.connection import ConnectionPolicy
from binance_twisted.endpoints import Endpoints
from binance_twisted.errors import (
    BinanceTwistedError,
    ClientClosedError,
    ConnectionGaveUpError,
    NotConnectedError,
    StreamRequestError,
)
from binance_twisted.events import ConnectionEvent, EventKind
from binance_twisted.legacy_depthcache import (
    DepthCache,
    DepthCacheManager,
    FuturesDepthCacheManager,
    ThreadedDepthCacheManager,
)
from binance_twisted.manager import BinanceSocketManager
from binance_twisted.reactor_thread import ReactorStoppedError
from binance_twisted.streams import RetiredStreamError
from binance_twisted.threaded import ThreadedWebsocketManager

__all__ = [
    "BinanceSocketManager",
    "BinanceTwistedError",
    "ClientClosedError",
    "ConnectionEvent",
    "ConnectionGaveUpError",
    "ConnectionPolicy",
    "DepthCache",
    "DepthCacheManager",
    "Endpoints",
    "EventKind",
    "FuturesDepthCacheManager",
    "NotConnectedError",
    "ReactorStoppedError",
    "RetiredStreamError",
    "StreamClient",
    "StreamRequestError",
    "Subscription",
    "ThreadedDepthCacheManager",
    "ThreadedWebsocketManager",
]
