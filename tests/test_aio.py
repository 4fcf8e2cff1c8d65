"""python-binance 1.x's asyncio BinanceSocketManager: ``async with`` sockets read by
``await recv()``, in Twisted coroutines here (trial's reactor) and under ``asyncio.run()``
in a real subprocess, against FakeBinance on loopback.
"""

from __future__ import annotations

import asyncio
import sys
import textwrap
from typing import Any

from twisted.internet import defer, reactor
from twisted.internet.utils import getProcessOutputAndValue
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase, TestCase

from binance_twisted.aio import (
    BinanceSocketManager,
    DepthCacheManager,
    FuturesDepthCacheManager,
    ReadLoopClosed,
)
from binance_twisted.aio.loop import running_reactor
from binance_twisted.aio.queue import MessageQueue
from binance_twisted.errors import BinanceAPIError, MissingCredentialsError, RetiredStreamError
from binance_twisted.testing import FakeBinance
from tests.support import asynchronous, wait_until
from tests.test_accounts import API_KEY, SECRET
from tests.test_legacy_depthcache import BookTruth
from tests.test_operator import ENV, ROOT


class QueueTests(SynchronousTestCase):
    def test_a_full_queue_drops_the_oldest_says_so_once_and_goes_on(self) -> None:
        """Five slots, twelve messages: the newest five are read after one overflow dict;
        the next episode is reported again only after the reader caught up."""
        queue = MessageQueue(5, name="Spot_btcusdt@trade")
        with capturedLogs() as logged:
            for n in range(12):
                queue.put(n)
        (warning,) = [formatEvent(e) for e in logged]  # once per episode, not per loss
        self.assertIn("Spot_btcusdt@trade: Message queue size 5 exceeded maximum 5", warning)
        read = [self.successResultOf(queue.get()) for _ in range(len(queue))]
        overflow = read[0]  # first: what came before the rest was lost
        self.assertEqual(read[1:], [7, 8, 9, 10, 11])
        self.assertEqual(
            (overflow["e"], overflow["type"]), ("error", "BinanceWebsocketQueueOverflow")
        )
        self.assertIn("oldest", overflow["m"])
        self.assertEqual(queue.dropped, 7)
        for n in range(7):
            queue.put(n)
        self.assertEqual(len(queue), 6)  # the second episode is news again

    def test_drop_newest_keeps_the_first_messages(self) -> None:
        queue = MessageQueue(3, "drop_newest")
        for n in range(10):
            queue.put(n)
        read = [self.successResultOf(queue.get()) for _ in range(len(queue))]
        self.assertEqual(read[:3], [0, 1, 2])
        self.assertIn("newest", read[3]["m"])
        self.assertEqual(queue.dropped, 7)

    def test_an_ended_queue_is_read_out_then_raises(self) -> None:
        queue = MessageQueue(5)
        waiting = queue.get()
        queue.put("first")
        self.assertEqual(self.successResultOf(waiting), "first")
        queue.put("last")
        queue.end("gone")
        queue.put("ignored")
        self.assertEqual(self.successResultOf(queue.get()), "last")
        self.failureResultOf(queue.get(), ReadLoopClosed)
        queue = MessageQueue(5)
        pending = queue.get()
        pending.cancel()  # asyncio.wait_for() gave up on recv(): the next recv still works
        self.failureResultOf(pending, defer.CancelledError)
        again = queue.get()
        queue.put("next")
        self.assertEqual(self.successResultOf(again), "next")

    def test_bad_sizes_and_policies_are_refused_by_name(self) -> None:
        for size in (0, -1, 2.5, True, "100"):
            with self.assertRaisesRegex(ValueError, "max_queue_size"):
                MessageQueue(size)  # type: ignore[arg-type]
        with self.assertRaisesRegex(ValueError, "overflow must be 'drop_oldest' or"):
            MessageQueue(5, "drop_all")  # type: ignore[arg-type]


class LoopTests(SynchronousTestCase):
    def test_an_asyncio_task_with_another_reactor_installed_is_told_what_to_do(self) -> None:
        """Inside asyncio while trial's own reactor is installed: a clear error naming the
        fix, not a hang on a reactor that never runs."""

        async def make() -> Any:
            return running_reactor()

        loop = asyncio.new_event_loop()
        try:
            with self.assertRaisesRegex(RuntimeError, "before anything imports twisted"):
                loop.run_until_complete(make())
        finally:
            loop.close()


class ManagerTests(TestCase):
    async def fake(self, **options: Any) -> FakeBinance:
        fake = FakeBinance(reactor, **{"event_interval": 0.01, **options})
        await fake.start()
        self.addCleanup(fake.stop)
        return fake

    def manager(self, fake: FakeBinance, **options: Any) -> BinanceSocketManager:
        bm = BinanceSocketManager(None, endpoints=fake.endpoints, **options)
        self.addCleanup(lambda: defer.ensureDeferred(bm.close()))
        return bm

    @asynchronous
    async def test_sockets_read_like_1x_and_share_one_connection(self) -> None:
        """A trade socket gets bare payloads in order, a multiplex socket ``{stream,
        data}``, a futures socket ``{stream, data}``; the same call twice is the same
        socket; the last socket out closes the shared connections."""
        fake = await self.fake()
        bm = self.manager(fake)
        self.assertIs(bm.trade_socket("BNBBTC"), bm.trade_socket("bnbbtc"))
        async with (
            bm.trade_socket("BNBBTC") as ts,
            bm.multiplex_socket(["bnbbtc@trade", "ethbtc@aggTrade"]) as ms,
            bm.aggtrade_futures_socket("BTCUSDT") as fs,
        ):
            trades = [await ts.recv() for _ in range(5)]
            self.assertEqual({t["e"] for t in trades}, {"trade"})
            ids = [t["t"] for t in trades]
            self.assertEqual(ids, list(range(ids[0], ids[0] + 5)))
            wrapped = await ms.recv()
            self.assertEqual(sorted(wrapped), ["data", "stream"])
            futures = await fs.recv()
            self.assertEqual(futures["stream"], "btcusdt@aggTrade")
            self.assertEqual(
                sorted(bm._conns),
                [
                    "Spot_bnbbtc@trade",
                    "Spot_streams=bnbbtc@trade/ethbtc@aggTrade",
                    "USD_M_Futures_btcusdt@aggTrade",
                ],
            )
            self.assertEqual(len(fake.connections), 2)  # Spot (both sockets), futures
            stats = bm.stats()
            self.assertGreaterEqual(stats["spot-1"]["messages"], 6)
            self.assertEqual(stats["spot-1"]["failed_attempts"], 0)
        self.assertEqual(bm._conns, {})
        await wait_until(lambda: not fake.connections)
        with self.assertRaises(ReadLoopClosed):
            await ts.recv()

    @asynchronous
    async def test_a_slow_reader_loses_the_oldest_not_the_socket(self) -> None:
        """1.x ended the socket at max_queue_size (ReadLoopClosed forever); here the
        oldest messages go, one overflow dict says so, and newer trades keep coming."""
        fake = await self.fake(event_interval=0.002)
        bm = self.manager(fake, max_queue_size=10)
        async with bm.trade_socket("BNBBTC") as ts:
            await wait_until(lambda: ts.dropped > 50)
            first = [await ts.recv() for _ in range(11)]
            kinds = [m["e"] for m in first]
            self.assertEqual(kinds.count("error"), 1)
            self.assertEqual(first[kinds.index("error")]["type"], "BinanceWebsocketQueueOverflow")
            later = await ts.recv()
            self.assertEqual(later["e"], "trade")

    @asynchronous
    async def test_a_dropped_connection_is_said_then_the_stream_resumes(self) -> None:
        fake = await self.fake()
        bm = self.manager(fake)
        async with bm.trade_socket("BNBBTC") as ts:
            await ts.recv()
            fake.drop_all()
            seen = [await ts.recv()]
            while seen[-1].get("e") != "trade" or len(seen) < 2:
                seen.append(await ts.recv())
            errors = [m for m in seen if m.get("e") == "error"]
            self.assertEqual([e["type"] for e in errors], ["BinanceWebsocketClosed"])
            self.assertIn("Reconnecting", errors[0]["m"])

    @asynchronous
    async def test_giving_up_is_said_once_then_recv_raises(self) -> None:
        """max_retries=1 and a fake that is gone: BinanceWebsocketUnableToConnect in the
        stream, then ReadLoopClosed, as 1.x's read loop ended."""
        fake = await self.fake()
        bm = self.manager(fake, max_retries=1)
        async with bm.trade_socket("BNBBTC") as ts:
            await ts.recv()
            await fake.stop()
            message = await ts.recv()
            while message.get("type") == "BinanceWebsocketClosed":
                message = await ts.recv()
            self.assertEqual(message["type"], "BinanceWebsocketUnableToConnect")
            with self.assertRaises(ReadLoopClosed):
                await ts.recv()

    @asynchronous
    async def test_user_socket_streams_account_events(self) -> None:
        fake = await self.fake(event_interval=None)
        account = fake.add_account(API_KEY, secret=SECRET)
        bm = self.manager(fake, api_key=API_KEY, api_secret=SECRET)
        async with bm.user_socket() as us:
            await fake.wait_for(lambda: account.emit("spot", account.balance_update()) > 0)
            event = await us.recv()
            self.assertEqual(event["e"], "balanceUpdate")

    def test_bad_arguments_fail_before_any_io(self) -> None:
        """Named arguments and allowed values, at the call; no keys for a user socket."""
        bm = BinanceSocketManager(None, reactor=reactor)
        with self.assertRaisesRegex(ValueError, "interval must be one of"):
            bm.kline_socket("BNBBTC", interval="2m")
        with self.assertRaisesRegex(ValueError, "futures_type must be FuturesType.USD_M"):
            bm.aggtrade_futures_socket("BTCUSDT", futures_type="EUR_M")
        with self.assertRaisesRegex(ValueError, "depth must be one of 5, 10, 20"):
            bm.futures_depth_socket("BTCUSDT", depth="7")
        with self.assertRaisesRegex(RetiredStreamError, "bookTicker"):
            bm.book_ticker_socket()
        with self.assertRaisesRegex(MissingCredentialsError, "api_key and api_secret"):
            bm.user_socket()
        with self.assertRaisesRegex(ValueError, "max_queue_size must be an int >= 1"):
            BinanceSocketManager(None, max_queue_size=0, reactor=reactor)
        with self.assertRaisesRegex(TypeError, "unknown option"):
            BinanceSocketManager(None, reactor=reactor, user_timout=60)
        self.assertEqual(bm._conns, {})

    def test_changed_urls_redirect_like_1x(self) -> None:
        """1.x formats its URLs with the client's tld; a changed one redirects new sockets."""

        class AsyncClient:
            tld = "us"
            testnet = False

        bm = BinanceSocketManager(AsyncClient(), reactor=reactor)
        self.assertEqual(bm.STREAM_URL, "wss://stream.binance.us:9443/")
        self.assertEqual(bm.venue.stream_host("spot"), "wss://stream.binance.us:9443")
        bm.STREAM_URL = "ws://127.0.0.1:9999/"
        self.assertEqual(bm.venue.stream_host("spot"), "ws://127.0.0.1:9999")
        bm.DSTREAM_URL = "ws://127.0.0.1:9998/"
        self.assertEqual(bm.venue.stream_host("coin_futures"), "ws://127.0.0.1:9998")


class DepthCacheTests(BookTruth):
    async def fake(self, **options: Any) -> FakeBinance:
        fake = FakeBinance(reactor, **{"event_interval": 0.02, **options})
        await fake.start()
        self.addCleanup(fake.stop)
        return fake

    @asynchronous
    async def test_recv_gives_the_synced_cache_which_equals_the_exchange(self) -> None:
        """1.x usage: entering waits for the first sync; each recv() is the same cache
        after a change; a gap is repaired (1.x applied stale data); exit closes all."""
        fake = await self.fake()
        dcm = DepthCacheManager(None, "BNBBTC", endpoints=fake.endpoints, ws_interval=100)
        async with dcm as dcm_socket:
            self.assertEqual(dcm.synchroniser.state, "synced")
            first = await dcm_socket.recv()
            self.assertIs(first, dcm.get_depth_cache())
            self.assertTrue(first.get_bids() and first.get_asks())
            self.assertIs(await dcm_socket.recv(), first)
            fake.inject_depth_gap("bnbbtc")
            await wait_until(lambda: dcm.synchroniser.gaps == 1)
            await self.assert_equals_truth(fake, first)
        self.assertIsNone(dcm.get_depth_cache())
        await wait_until(lambda: not fake.connections)
        with self.assertRaises(ReadLoopClosed):
            await dcm.recv()

    @asynchronous
    async def test_a_refused_symbol_raises_on_entry(self) -> None:
        fake = await self.fake()
        fake.rate_limit_rest(1, status=400, retry_after=None)
        dcm = DepthCacheManager(None, "BNBBTC", endpoints=fake.endpoints)
        with self.assertRaises(BinanceAPIError):
            async with dcm:
                pass
        self.assertIsNone(dcm.get_depth_cache())
        await wait_until(lambda: not fake.connections)
        self.flushLoggedErrors()

    @asynchronous
    async def test_futures_cache_on_a_shared_manager(self) -> None:
        fake = await self.fake()
        bm = BinanceSocketManager(None, endpoints=fake.endpoints)
        self.addCleanup(lambda: defer.ensureDeferred(bm.close()))
        async with FuturesDepthCacheManager(None, "BTCUSDT", bm=bm) as dcm:
            cache = await dcm.recv()
            await self.assert_equals_truth(fake, cache)
        self.assertTrue(bm.venue.stream_host("futures"))

    def test_bad_arguments_fail_before_any_io(self) -> None:
        for options, message in (
            ({"ws_interval": 250}, "ws_interval must be None or one of 0, 100, 1000"),
            ({"limit": 0}, "limit must be an int from 1 to 5000"),
            ({"refresh_interval": -1}, r"refresh_interval must be None \(off\)"),
            ({"sync_timeout": 0}, "sync_timeout must be a positive number of seconds"),
        ):
            with self.assertRaisesRegex(ValueError, message):
                DepthCacheManager(None, "BNBBTC", reactor=reactor, **options)
        with self.assertRaisesRegex(TypeError, "bm must be a binance_twisted.aio"):
            DepthCacheManager(None, "BNBBTC", bm=object())  # type: ignore[arg-type]


SCRIPT = """
import asyncio, sys
from binance_twisted.aio import BinanceSocketManager, DepthCacheManager

class AsyncClient:  # what python-binance's AsyncClient.create() gives, as far as sockets care
    API_KEY = API_SECRET = None
    API_URL = sys.argv[2] + "/api"  # python-binance's REST base: depth snapshots come here
    tld, testnet = "com", False

async def main():
    bm = BinanceSocketManager(AsyncClient(), max_queue_size=100)
    bm.STREAM_URL = sys.argv[1] + "/"
    bm.FSTREAM_URL = sys.argv[1] + "/"
    ts = bm.trade_socket("BNBBTC")
    async with ts as tscm:
        for _ in range(3):
            msg = await asyncio.wait_for(tscm.recv(), timeout=10)
            print(msg["e"], msg["s"])
    async with bm.futures_multiplex_socket(["btcusdt@aggTrade"]) as fm:
        msg = await fm.recv()
        print(msg["stream"])
    print("sockets left:", len(bm._conns))
    async with DepthCacheManager(AsyncClient(), "BNBBTC", bm=bm) as dcm_socket:
        depth_cache = await dcm_socket.recv()
        print("book synced:", bool(depth_cache.get_bids() and depth_cache.get_asks()))

asyncio.run(main())
print("done")
"""


class AsyncioProcessTests(TestCase):
    @asynchronous
    async def test_a_1x_script_under_asyncio_run(self) -> None:
        """A python-binance 1.x asyncio script, import line changed, in a fresh interpreter
        under ``asyncio.run()``: reads trades and futures, ends by itself."""
        fake = FakeBinance(reactor, event_interval=0.01)
        await fake.start()
        self.addCleanup(fake.stop)
        path = self.mktemp() + ".py"
        with open(path, "w") as script:
            script.write(textwrap.dedent(SCRIPT))
        out, err, code = await getProcessOutputAndValue(
            "timeout",
            ["20", sys.executable, path, fake.endpoints.stream_url, fake.endpoints.rest_url],
            env=ENV,
        )
        self.assertEqual(code, 0, out.decode() + err.decode())
        self.assertEqual(
            out.decode().splitlines(),
            [
                "trade BNBBTC",
                "trade BNBBTC",
                "trade BNBBTC",
                "btcusdt@aggTrade",
                "sockets left: 0",
                "book synced: True",
                "done",
            ],
        )

    @asynchronous
    async def test_the_offline_example_runs(self) -> None:
        """``examples/aio_offline.py``, as the migration guide shows it: trades, a synced
        book, and a process that ends by itself."""
        example = str(ROOT / "examples" / "aio_offline.py")
        out, err, code = await getProcessOutputAndValue(
            "timeout", ["60", sys.executable, example], env=ENV
        )
        self.assertEqual(code, 0, out.decode() + err.decode())
        lines = out.decode().splitlines()
        self.assertEqual([line.split()[0] for line in lines], ["trade"] * 5 + ["best"])
