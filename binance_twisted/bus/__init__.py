"""Market data on Redis Streams: recorders publish, bots on any machine consume.

:class:`RedisPublisher` is a record sink that a recorder feeds (``twistd -n binance record
--publish redis://…``); :class:`RedisStreamSource` reads the streams back with
:class:`~binance_twisted.StreamClient`'s interface. Keys are named by
:func:`~binance_twisted.bus.address.stream_key`. Needs the ``redis`` extra (``txredisapi``).
"""

from binance_twisted.bus.address import BusAddress, stream_key
from binance_twisted.bus.publisher import PublisherStats, RedisPublisher
from binance_twisted.bus.source import RedisStreamSource

__all__ = [
    "BusAddress",
    "PublisherStats",
    "RedisPublisher",
    "RedisStreamSource",
    "stream_key",
]
