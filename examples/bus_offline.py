"""The Redis Streams bus end to end, offline: FakeBinance → recorder → Redis → a bot.

Run it: ``python examples/bus_offline.py`` (needs ``redis-server`` on the PATH and
``pip install '.[redis]'``). It starts a throwaway redis-server on a free loopback port,
records FakeBinance's trades into it as ``twistd -n binance record --publish`` would, and
reads them back with ``RedisStreamSource``, which a bot would use instead of
``StreamClient``: the ``subscribe`` call is the same.
"""

import shutil
import socket
import subprocess
import sys
import time
from typing import Any

from twisted.internet import defer, task

from binance_twisted import StreamClient
from binance_twisted.bus import RedisPublisher, RedisStreamSource
from binance_twisted.recording.recorder import Recorder
from binance_twisted.testing import FakeBinance


def start_redis() -> tuple[subprocess.Popen, str]:
    server = shutil.which("redis-server")
    if server is None:
        sys.exit("redis-server is not installed (Debian: apt-get install redis-server)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(500):  # until it accepts connections
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.01)
    return process, f"redis://127.0.0.1:{port}/0"


async def main(reactor: Any) -> None:
    redis, url = start_redis()
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
        redis.terminate()
        redis.wait()


if __name__ == "__main__":
    task.react(lambda reactor: defer.ensureDeferred(main(reactor)))
