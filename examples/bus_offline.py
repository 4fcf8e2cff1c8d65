"""The Redis Streams bus end to end, offline: FakeBinance → recorder → Redis → a bot.

Run it: ``python examples/bus_offline.py`` (needs ``redis-server`` on the PATH and
``pip install '.[redis]'``). It starts a throwaway redis-server on a free loopback port
(``binance_twisted.testing.redis``),
records FakeBinance's trades into it as ``twistd -n binance record --publish`` would, and
reads them back with ``RedisStreamSource``, which a bot would use instead of
``StreamClient``: the ``subscribe`` call is the same.
"""

import sys
from typing import Any

from twisted.internet import defer, task

from binance_twisted import StreamClient
from binance_twisted.bus import RedisPublisher, RedisStreamSource
from binance_twisted.recording.recorder import Recorder
from binance_twisted.testing import FakeBinance
from binance_twisted.testing.redis import RedisServer, RedisUnavailable


async def main(reactor: Any, url: str) -> None:
    fake = FakeBinance(reactor, event_interval=0.05)
    await fake.start()
    try:
        # the operator's side: one set of Binance connections, published to Redis
        publisher = RedisPublisher(reactor, url)
        publisher.start()
        binance = StreamClient(reactor, fake.endpoints)
        await Recorder(binance, ["bnbbtc@trade"], publisher.put).start()

        # a bot's side: the same subscribe() as StreamClient, fed from Redis
        bot = RedisStreamSource(reactor, url)
        received = defer.Deferred()
        trades: list[dict] = []

        def on_message(stream: str, trade: dict) -> None:
            print(f"{stream}: trade {trade['t']}: {trade['q']} BNB at {trade['p']} BTC")
            trades.append(trade)
            if len(trades) == 5 and not received.called:
                received.callback(None)

        await bot.subscribe(["bnbbtc@trade"], on_message)
        await received
        await bot.close()
        await binance.close()
        await publisher.stop()  # waits for Redis to acknowledge what is in flight
        stats = publisher.stats
        print(f"published {stats.published} entries, {stats.dropped} dropped")
    finally:
        await fake.stop()


if __name__ == "__main__":
    try:
        redis = RedisServer()  # a throwaway one on a free port; in production, your own
    except RedisUnavailable as missing:
        sys.exit(str(missing))
    redis.start()  # blocking, so before the reactor runs
    try:
        task.react(lambda reactor: defer.ensureDeferred(main(reactor, redis.url)))
    finally:
        redis.stop()
