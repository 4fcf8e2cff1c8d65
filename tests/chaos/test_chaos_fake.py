"""FakeBinance misbehaving on purpose, and users in a hurry: serverShutdown storms, a slow
consumer, twenty threads starting and stopping legacy sockets at once.

What the user must see: no trade lost or doubled across rotations, lag and drops reported
while other streams keep flowing, and no "Unhandled error in Deferred" however the threads
race.
"""

from __future__ import annotations

import threading
import time

from twisted.internet import threads
from twisted.logger import globalLogPublisher

from binance_twisted import BinanceSocketManager, ConnectionEvent, EventKind
from tests.chaos.support import ChaosTestCase, kinds
from tests.support import asynchronous, wait_until


class RotationStormTests(ChaosTestCase):
    @asynchronous
    async def test_five_server_shutdowns_lose_and_double_nothing(self) -> None:
        """serverShutdown five times in a row while trades flow: five rotations, and the
        trade ids the callback saw are exactly consecutive."""
        fake = await self.fake()
        seen: list[int] = []
        events: list[ConnectionEvent] = []
        client = self.client(fake.port)
        await client.subscribe(["bnbbtc@trade"], lambda s, d: seen.append(d["t"]), events.append)
        for rotations in range(1, 6):
            await wait_until(lambda: len(seen) > 5)
            fake.server_shutdown()
            await wait_until(lambda r=rotations: kinds(events).count(EventKind.ROTATED) >= r)
        mark = len(seen)
        await wait_until(lambda: len(seen) > mark + 5)
        self.assertEqual(seen, list(range(seen[0], seen[0] + len(seen))))
        self.assertNotIn(EventKind.DISCONNECTED, kinds(events))


class SlowConsumerTests(ChaosTestCase):
    @asynchronous
    async def test_a_slow_callback_is_reported_and_bounded_while_others_flow(self) -> None:
        """A callback that burns 5 ms per trade on a fast feed, with a queue of 20 (at most
        0.1 s of waiting): LAGGING past 0.05 s, DROPPED once the queue is full, no
        disconnect; a second client in the same process keeps getting every trade."""
        fake = await self.fake(event_interval=0.005)
        events: list[ConnectionEvent] = []
        slow = self.client(fake.port, queue_size=20, lag_threshold=0.05)

        def burn(stream: str, data: dict) -> None:
            until = time.perf_counter() + 0.005
            while time.perf_counter() < until:
                pass

        await slow.subscribe(["bnbbtc@trade", "ethbtc@trade"], burn, events.append)
        brisk: list[int] = []
        other = self.client(fake.port)
        await other.subscribe(["ltcbtc@trade"], lambda s, d: brisk.append(d["t"]))
        await wait_until(
            lambda: {EventKind.LAGGING, EventKind.DROPPED} <= set(kinds(events)), timeout=20
        )
        (stats,) = slow.stats().values()
        self.assertGreater(stats["dropped"], 0)
        self.assertLessEqual(stats["queued"], 20)
        self.assertNotIn(EventKind.DISCONNECTED, kinds(events))
        await slow.close()
        mark = len(brisk)
        await wait_until(lambda: len(brisk) > mark + 5)
        self.assertEqual(brisk, list(range(brisk[0], brisk[0] + len(brisk))))


class ThreadStormTests(ChaosTestCase):
    @asynchronous
    async def test_twenty_threads_starting_and_stopping_sockets(self) -> None:
        """20 threads of 10 start/stop rounds each on one manager: no unhandled error is logged,
        every key is freed, and a fresh socket streams afterwards."""
        fake = await self.fake()
        unhandled: list[dict] = []

        def observe(event: dict) -> None:
            text = str(event.get("log_format") or "") + repr(event.get("log_failure") or "")
            if "Unhandled" in text:
                unhandled.append(event)

        globalLogPublisher.addObserver(observe)
        self.addCleanup(globalLogPublisher.removeObserver, observe)
        bm = BinanceSocketManager(None, endpoints=fake.endpoints)
        self.addCleanup(threads.deferToThread, bm.close)
        symbols = ["BNBBTC", "ETHBTC", "LTCBTC", "XRPBTC"]

        def storm(n: int) -> None:
            for round_ in range(10):
                key = bm.start_trade_socket(symbols[(n + round_) % 4], lambda m: None)
                if key:
                    bm.stop_socket(key)

        def user() -> None:
            workers = [threading.Thread(target=storm, args=(n,)) for n in range(20)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()

        await threads.deferToThread(user)
        await wait_until(lambda: not bm._conns)
        got: list[dict] = []
        await threads.deferToThread(lambda: bm.start_trade_socket("BNBBTC", got.append))
        await wait_until(lambda: len(got) > 3)
        self.assertEqual(unhandled, [])
