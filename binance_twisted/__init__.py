"""Twisted-native Binance WebSocket client and drop-in ``BinanceSocketManager`` replacement."""

from binance_twisted.endpoints import Endpoints

__all__ = ["Endpoints"]
