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

__all__ = [
    "BinanceTwistedError",
    "ClientClosedError",
    "ConnectionEvent",
    "ConnectionGaveUpError",
    "ConnectionPolicy",
    "Endpoints",
    "EventKind",
    "NotConnectedError",
    "StreamClient",
    "StreamRequestError",
    "Subscription",
]
