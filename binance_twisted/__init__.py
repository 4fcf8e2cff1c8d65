"""Twisted-native Binance WebSocket client and drop-in ``BinanceSocketManager`` replacement.

The curated face of the package: the native API (streams, the WebSocket API, account
streams, order books, REST) and the python-binance names legacy code imports. Every name
here is pinned by ``tests/test_exports.py``; the wings behind it are described in
``docs/design.rst``.
"""

from binance_twisted._core.policy import ConnectionPolicy
from binance_twisted.accounts import (
    ListenKeys,
    ListenKeyStream,
    create_listen_token,
    subscribe_margin,
)
from binance_twisted.depth import DepthSynchroniser, OrderBook, SnapshotScheduler
from binance_twisted.endpoints import Endpoints
from binance_twisted.errors import (
    BinanceAPIError,
    BinanceTwistedError,
    ClientClosedError,
    ConnectionGaveUpError,
    EndpointRemovedError,
    MessageTooBigError,
    MissingCredentialsError,
    NotConnectedError,
    RateLimitedError,
    RequestTimeoutError,
    StreamRequestError,
    SyncTimeoutError,
)
from binance_twisted.events import ConnectionEvent, EventKind
from binance_twisted.legacy import (
    BinanceSocketManager,
    DepthCache,
    DepthCacheManager,
    FuturesDepthCacheManager,
    ReactorStoppedError,
    ThreadedDepthCacheManager,
    ThreadedWebsocketManager,
)
from binance_twisted.market import StreamClient, Subscription
from binance_twisted.rest import RestClient
from binance_twisted.signing import load_signer
from binance_twisted.streams import RetiredStreamError
from binance_twisted.wsapi import UserDataSubscription, WebSocketAPI

__all__ = [
    "BinanceAPIError",
    "BinanceSocketManager",
    "BinanceTwistedError",
    "ClientClosedError",
    "ConnectionEvent",
    "ConnectionGaveUpError",
    "ConnectionPolicy",
    "DepthCache",
    "DepthCacheManager",
    "DepthSynchroniser",
    "EndpointRemovedError",
    "Endpoints",
    "EventKind",
    "FuturesDepthCacheManager",
    "ListenKeyStream",
    "ListenKeys",
    "MessageTooBigError",
    "MissingCredentialsError",
    "NotConnectedError",
    "OrderBook",
    "RateLimitedError",
    "ReactorStoppedError",
    "RequestTimeoutError",
    "RestClient",
    "RetiredStreamError",
    "SnapshotScheduler",
    "StreamClient",
    "StreamRequestError",
    "Subscription",
    "SyncTimeoutError",
    "ThreadedDepthCacheManager",
    "ThreadedWebsocketManager",
    "UserDataSubscription",
    "WebSocketAPI",
    "create_listen_token",
    "load_signer",
    "subscribe_margin",
]
