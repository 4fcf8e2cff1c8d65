"""Binance's WebSocket API: requests by id, user-data subscriptions, and the ``ws_*`` table."""

from binance_twisted.wsapi.connection import WebSocketAPI
from binance_twisted.wsapi.table import METHODS, WsApiMethod
from binance_twisted.wsapi.userdata import UserDataSubscription

__all__ = ["METHODS", "UserDataSubscription", "WebSocketAPI", "WsApiMethod"]
