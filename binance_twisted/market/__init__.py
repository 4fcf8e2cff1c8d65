"""Market streams: :class:`StreamClient` plans streams over connections, each a
:class:`StreamConnection` that keeps its streams flowing on one WebSocket at a time."""

from binance_twisted.market.client import StreamClient, Subscription
from binance_twisted.market.connection import StreamConnection

__all__ = ["StreamClient", "StreamConnection", "Subscription"]
