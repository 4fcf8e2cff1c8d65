"""The legacy depth caches, driven from real user threads against FakeBinance.

What a python-binance 0.x/1.x user sees: the constructor waits for the first sync (with a
timeout), ``get_depth_cache()`` equals the exchange's book, the callback runs on the
reactor thread, errors arrive as ``callback(None)`` once, and ``close()`` is final.
"""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

from twisted.internet import defer, reactor, threads
from twisted.python.threadable import isInIOThread
from twisted.trial.unittest import TestCase

from binance_twisted import (
    BinanceSocketManager,
    DepthCache,
    DepthCacheManager,
    FuturesDepthCacheManager,
    ThreadedDepthCacheManager,
)
from binance_twisted.errors import BinanceAPIError, SyncTimeoutError
from binance_twisted.testing import FakeBinance
from tests.support import asynchronous, wait_until


class Updates:
    """A thread-safe depth-cache callback: what it got, and on which thread."""

    def __init__(self) -> None:
        self.caches: list[DepthCache | None] = []
        self.on_reactor_thread: set[bool] = set()
        self._lock = threading.Lock()

    def __call__(self, depth_cache: DepthCache | None) -> None:
        with self._lock:
            self.caches.append(depth_cache)
            self.on_reactor_thread.add(isInIOThread())


def exact(levels: list[list[Any]]) -> dict[Decimal, Decimal]:
    return {Decimal(str(p)): Decimal(str(q)) for p, q in levels}


def truth(side: dict[str, str]) -> dict[Decimal, Decimal]:
    return {Decimal(p): Decimal(q) for p, q in side.items() if Decimal(q) != 0}


class DepthCacheUnitTests(TestCase):
    def test_levels_are_sorted_best_first_and_any_zero_removes(self) -> None:
        """get_bids high→low, get_asks low→high as floats; "0.000" deletes (0.7.11 kept it)."""
        cache = DepthCache("BNBBTC")
        for bid in (["0.0010", "5"], ["0.0012", "1.5"], ["0.0011", "2"]):
            cache.add_bid(bid)
        cache.add_ask(["0.0013", "1", []])  # 0.x read two elements of old three-element levels
        cache.add_ask(["0.0014", "1"])
        cache.add_bid(["0.0011", "0.000"])
        cache.add_ask(["0.0014", "0"])
        self.assertEqual(cache.get_bids(), [[0.0012, 1.5], [0.001, 5.0]])
        self.assertEqual(cache.get_asks(), [[0.0013, 1.0]])
        self.assertEqual(cache.get_bids(1), [[0.0012, 1.5]])

    def test_conv_type_keeps_prices_exact(self) -> None:
        """conv_type=Decimal or str (1.x): exact values, quantity spelt as Binance sent it."""
        cache = DepthCache("BTCUSDT", conv_type=Decimal)
        cache.add_bid(["60000.10000000", "0.10000000"])
        self.assertEqual(cache.get_bids(), [[Decimal("60000.1"), Decimal("0.1")]])
        cache.conv_type = str
        self.assertEqual(cache.get_bids(), [["60000.1", "0.10000000"]])

    def test_sort_depth_is_python_binances(self) -> None:
        """The static helper: {price: qty} → [[float price, qty]] sorted, reverse for bids."""
        vals = {"0.2": 1.0, "0.10": 2.0, "0.3": 3.0}
        self.assertEqual(
            DepthCache.sort_depth(vals, reverse=True), [[0.3, 3.0], [0.2, 1.0], [0.1, 2.0]]
        )

    def test_bad_arguments_fail_before_any_io(self) -> None:
        """Each bad argument names itself and the allowed values; no manager is created."""
        cases: list[tuple[dict[str, Any], type[Exception], str]] = [
            ({"symbol": "BNB/BTC"}, ValueError, "symbol"),
            ({"callback": "print"}, TypeError, "callback must be callable"),
            ({"limit": 0}, ValueError, "limit must be an int from 1 to 5000"),
            ({"ws_interval": 250}, ValueError, "ws_interval must be None or one of 0, 100, 1000"),
            ({"refresh_interval": -1}, ValueError, "refresh_interval must be None .30 min., 0"),
            ({"sync_timeout": 0}, ValueError, "sync_timeout must be None"),
            ({"bm": object()}, TypeError, "bm must be a binance_twisted BinanceSocketManager"),
            ({"conv_type": 3}, TypeError, "conv_type must be callable"),
        ]
        for overrides, error, words in cases:
            arguments = {"symbol": "BNBBTC", **overrides}
            with self.assertRaisesRegex(error, words):
                DepthCacheManager(None, **arguments)
        with self.assertRaisesRegex(ValueError, "1 to 1000 for futures"):
            FuturesDepthCacheManager(None, "BTCUSDT", limit=5000)
        with self.assertRaisesRegex(ValueError, "ws_interval must be None or one of 0, 100, 250"):
            FuturesDepthCacheManager(None, "BTCUSDT", ws_interval=1000)


class WaitForSyncTests(TestCase):
    def test_time_queued_for_the_weight_budget_does_not_count(self) -> None:
        """5 s queued behind other books, then 1 s of trying: times out at 6 s, not at 1 s."""
        from binance_twisted.legacy.depthcache import wait_for_sync

        now = [0.0]

        def wait(step: float) -> bool:
            now[0] += step
            return False

        queued = iter([True] * 40 + [False] * 100)  # steps of 1/8 s, exact in binary
        self.assertFalse(wait_for_sync(wait, lambda: next(queued), 1.0, lambda: now[0], 0.125))
        self.assertEqual(now[0], 6.0)

    def test_returns_as_soon_as_synced(self) -> None:
        """Synced on the third step: True at once."""
        from binance_twisted.legacy.depthcache import wait_for_sync

        now, answers = [0.0], iter([False, False, True])

        def wait(step: float) -> bool:
            now[0] += step
            return next(answers)

        self.assertTrue(wait_for_sync(wait, lambda: False, 30.0, lambda: now[0], 0.125))
        self.assertEqual(now[0], 0.375)


class BookTruth(TestCase):
    """A cache compared with the fake exchange's true book (both cache managers use it)."""

    async def assert_equals_truth(self, fake: FakeBinance, cache: Any) -> None:
        """Pause the market, let the cache catch up, compare with the exchange's book."""
        fake.event_interval = None
        symbol = cache.symbol.lower()
        await wait_until(lambda: cache.book.update_id == fake.book(symbol)[0])
        _, bids, asks = fake.book(symbol)
        self.assertEqual(exact(cache.get_bids()), truth(bids))
        self.assertEqual(exact(cache.get_asks()), truth(asks))
        prices = [bid[0] for bid in cache.get_bids()]
        self.assertEqual(prices, sorted(prices, reverse=True))


class LegacyCacheTestCase(BookTruth):
    async def fake(self, **options: Any) -> FakeBinance:
        fake = FakeBinance(reactor, **{"event_interval": 0.02, **options})
        await fake.start()
        self.addCleanup(fake.stop)
        # a cache that stops closes its connection without waiting; let it finish closing
        self.addCleanup(lambda: defer.ensureDeferred(wait_until(lambda: not fake.connections)))
        return fake

    def manager(self, fake: FakeBinance, cls: type = BinanceSocketManager, **options: Any) -> Any:
        if cls is ThreadedDepthCacheManager:
            bm = cls(endpoints=fake.endpoints, **options)
        else:
            bm = cls(None, endpoints=fake.endpoints, **options)
        self.addCleanup(threads.deferToThread, bm.close)
        return bm

    def user(self, function: Any) -> Any:
        """Run legacy user code in a real thread other than the reactor's."""
        return threads.deferToThread(function)


class DepthCacheManagerTests(LegacyCacheTestCase):
    @asynchronous
    async def test_constructor_waits_for_sync_and_the_cache_equals_the_exchange(self) -> None:
        """0.x usage from a user thread: synced on return, callbacks on the reactor thread."""
        fake = await self.fake()
        bm = self.manager(fake)
        updates = Updates()

        def user() -> tuple:
            dcm = DepthCacheManager(None, "BNBBTC", callback=updates, bm=bm, ws_interval=100)
            return dcm, dcm.get_depth_cache(), dcm.get_symbol(), dcm._conn_key

        dcm, cache, symbol, key = await self.user(user)
        self.assertEqual((symbol, key, dcm.state), ("BNBBTC", "bnbbtc@depth@100ms", "synced"))
        snapshots = {
            (e.detail["path"], e.detail["params"]["limit"]) for e in fake.log if e.kind == "http"
        }
        self.assertEqual(snapshots, {("/api/v3/depth", "500")})
        self.assertTrue(cache.get_bids() and cache.get_asks())
        await wait_until(lambda: len(updates.caches) >= 3)
        self.assertIs(updates.caches[-1], cache)
        self.assertEqual(updates.on_reactor_thread, {True})
        self.assertIsInstance(cache.update_time, int)
        await self.assert_equals_truth(fake, cache)
        await self.user(dcm.close)
        seen = len(updates.caches)
        fake.tick(5)
        await wait_until(lambda: not fake.connections)  # its only stream: connection closed
        self.assertEqual(len(updates.caches), seen)
        self.assertIsNone(dcm.get_depth_cache())
        self.assertNotIn(key, bm._conns)
        self.assertEqual(dcm.state, "stopped")

    @asynchronous
    async def test_a_sequence_gap_is_repaired_and_the_callback_goes_on(self) -> None:
        """Lost events: resync from a new snapshot (0.7.11 applied stale data); truth again."""
        fake = await self.fake()
        bm = self.manager(fake)
        updates = Updates()
        dcm = await self.user(lambda: DepthCacheManager(None, "ETHBTC", updates, bm=bm))
        fake.inject_depth_gap("ethbtc")
        synchroniser = dcm.synchroniser
        await wait_until(lambda: synchroniser.gaps == 1 and synchroniser.state == "synced")
        await self.assert_equals_truth(fake, dcm.get_depth_cache())
        self.assertNotIn(None, updates.caches)

    @asynchronous
    async def test_a_refused_symbol_raises_and_calls_back_none_once(self) -> None:
        """REST 400 on the snapshot: the constructor raises it; callback(None) once, no KeyError."""
        fake = await self.fake()
        bm = self.manager(fake)
        updates = Updates()
        fake.rate_limit_rest(1, status=400, retry_after=None)
        failure = await self.assertFailure(
            self.user(lambda: DepthCacheManager(None, "BNBBTC", updates, bm=bm)), BinanceAPIError
        )
        self.assertEqual(failure.status, 400)
        await wait_until(lambda: updates.caches)
        self.assertEqual(updates.caches, [None])
        self.assertEqual(bm._conns, {})
        self.flushLoggedErrors()

    @asynchronous
    async def test_giving_up_calls_back_none_once_and_stops(self) -> None:
        """Retries exhausted after sync: callback(None) once; the cache is gone, the key free."""
        fake = await self.fake()
        bm = self.manager(fake, max_retries=1)
        updates = Updates()
        dcm = await self.user(lambda: DepthCacheManager(None, "BNBBTC", updates, bm=bm))
        fake.refuse_handshakes(50, status=503)
        fake.drop_all()
        await wait_until(lambda: None in updates.caches, timeout=10)
        self.assertEqual(updates.caches.count(None), 1)
        self.assertIsNone(dcm.get_depth_cache())
        self.assertEqual(bm._conns, {})
        await self.user(dcm.close)  # still allowed
        self.flushLoggedErrors()

    @asynchronous
    async def test_the_wait_for_the_first_sync_has_a_timeout(self) -> None:
        """Snapshots rate-limited for long: SyncTimeoutError names the state; nothing lingers."""
        fake = await self.fake()
        bm = self.manager(fake)
        fake.rate_limit_rest(5, status=429, retry_after=30)
        error = await self.assertFailure(
            self.user(lambda: DepthCacheManager(None, "BNBBTC", bm=bm, sync_timeout=0.3)),
            SyncTimeoutError,
        )
        self.assertIn("did not sync within 0.3 s (state syncing", str(error))
        self.assertEqual(bm._conns, {})
        await wait_until(lambda: not fake.connections)  # its stream connection was closed

    @asynchronous
    async def test_many_caches_share_one_connection_and_a_weight_budget(self) -> None:
        """Ten books on one manager: one stream connection, all synced, all exact."""
        fake = await self.fake()
        bm = self.manager(fake)
        symbols = [f"C{i}USDT" for i in range(10)]

        def user() -> list:
            return [DepthCacheManager(None, s, bm=bm, sync_timeout=None) for s in symbols]

        caches = await self.user(user)
        await wait_until(lambda: all(c._socket.settled.is_set() for c in caches), timeout=10)
        self.assertEqual([c._socket.synchroniser.state for c in caches], ["synced"] * 10)
        self.assertEqual(len([c for c in fake.connections if c.path.startswith("/stream")]), 1)
        self.assertEqual(len(bm.venue._schedulers), 1)
        for cache in caches[:3]:
            await self.assert_equals_truth(fake, cache.get_depth_cache())

    @asynchronous
    async def test_a_cache_without_bm_owns_its_manager_and_close_ends_it(self) -> None:
        """No bm: a manager of its own (options go to it); close() ends its thread."""
        fake = await self.fake()

        def user() -> Any:
            dcm = DepthCacheManager(None, "BNBBTC", endpoints=fake.endpoints)
            alive = dcm._bm.is_alive()
            dcm.close()
            dcm._bm.join(5)
            return alive, dcm._bm.is_alive()

        self.assertEqual(await self.user(user), (True, False))
        await wait_until(lambda: not fake.connections)

    @asynchronous
    async def test_the_same_symbol_twice_gets_distinct_keys(self) -> None:
        """Two caches of one symbol on one manager (0.7.11 broke the second): key, key#2."""
        fake = await self.fake()
        bm = self.manager(fake)

        def user() -> list:
            return [DepthCacheManager(None, "BNBBTC", bm=bm)._conn_key for _ in range(2)]

        self.assertEqual(await self.user(user), ["bnbbtc@depth", "bnbbtc@depth#2"])


class LifecycleTests(LegacyCacheTestCase):
    @asynchronous
    async def test_close_is_done_when_it_returns(self) -> None:
        """close() from a user thread returns with the synchroniser stopped and the key free."""
        fake = await self.fake()
        bm = self.manager(fake)

        def user() -> tuple:
            dcm = DepthCacheManager(None, "BNBBTC", bm=bm)
            synchroniser = dcm.synchroniser
            dcm.close()
            return synchroniser.state, dict(bm._conns)

        self.assertEqual(await self.user(user), ("stopped", {}))

    @asynchronous
    async def test_closing_a_dead_cache_leaves_a_newer_one_alone(self) -> None:
        """A cache stopped by an error freed its key; its close() must not stop the next one."""
        fake = await self.fake()
        bm = self.manager(fake)
        fake.rate_limit_rest(1, status=400, retry_after=None)

        def user() -> tuple:
            dead = DepthCacheManager(None, "BNBBTC", bm=bm, sync_timeout=None)
            dead._socket.settled.wait(5)
            alive = DepthCacheManager(None, "BNBBTC", bm=bm)
            dead.close()
            return dead._conn_key, alive._conn_key, alive.state

        self.assertEqual(await self.user(user), ("bnbbtc@depth", "bnbbtc@depth", "synced"))
        self.flushLoggedErrors()

    def test_a_venue_without_the_market_fails_before_any_io(self) -> None:
        """A futures cache on Binance.US (no futures there) raises at once, naming the venue."""
        with self.assertRaisesRegex(ValueError, "binance.us has no USD-M futures streams"):
            FuturesDepthCacheManager(None, "BTCUSDT", tld="us")

    def test_snapshots_follow_the_venue_not_a_testnet_clients_mainnet_urls(self) -> None:
        """python-binance's Client(testnet=True) keeps mainnet API_URL: snapshots go to testnet."""
        from binance_twisted import Endpoints

        class Client:
            API_URL = "https://api.binance.com/api"
            FUTURES_URL = "https://fapi.binance.com/fapi"
            testnet = True

        testnet = Endpoints.testnet()
        self.assertEqual(
            BinanceSocketManager(Client()).venue.rest_base("rest_url"), testnet.rest_url
        )
        Client.testnet = False
        Client.API_URL = "https://proxy.example/api"
        self.assertEqual(
            BinanceSocketManager(Client()).venue.rest_base("rest_url"), "https://proxy.example"
        )
        explicit = BinanceSocketManager(Client(), endpoints=testnet)
        self.assertEqual(explicit.venue.rest_base("futures_rest_url"), testnet.futures_rest_url)


class FuturesAndThreadedTests(LegacyCacheTestCase):
    @asynchronous
    async def test_futures_cache_uses_the_public_route_and_equals_the_exchange(self) -> None:
        """USD-M: /public stream, /fapi/v1/depth snapshot, pu continuity; a gap is repaired."""
        fake = await self.fake()
        bm = self.manager(fake)
        dcm = await self.user(lambda: FuturesDepthCacheManager(None, "BTCUSDT", bm=bm))
        self.assertEqual(dcm._conn_key, "btcusdt@depth")
        self.assertTrue(any(c.path.startswith("/public/") for c in fake.connections))
        snapshots = {
            (e.detail["path"], e.detail["params"]["limit"]) for e in fake.log if e.kind == "http"
        }
        self.assertEqual(snapshots, {("/fapi/v1/depth", "1000")})
        fake.inject_depth_gap("btcusdt")
        synchroniser = dcm.synchroniser
        await wait_until(lambda: synchroniser.gaps == 1 and synchroniser.state == "synced")
        await self.assert_equals_truth(fake, dcm.get_depth_cache())

    @asynchronous
    async def test_threaded_manager_start_depth_cache_returns_1x_names(self) -> None:
        """1.x: start_depth_cache returns '<sym>@depth<limit>' at once; stop_socket stops it."""
        fake = await self.fake()
        tdcm = self.manager(fake, ThreadedDepthCacheManager)
        spot, futures = Updates(), Updates()

        def user() -> tuple:
            tdcm.start()
            return (
                tdcm.start_depth_cache(spot, symbol="BNBBTC"),
                tdcm.start_futures_depth_socket(futures, "BTCUSDT", limit=100),
            )

        names = await self.user(user)
        self.assertEqual(names, ("bnbbtc@depth10", "btcusdt@depth100"))
        await wait_until(lambda: len(spot.caches) >= 2 and len(futures.caches) >= 2)
        self.assertEqual(spot.caches[-1].symbol, "BNBBTC")
        await self.user(lambda: tdcm.stop_socket("bnbbtc@depth10"))
        self.assertEqual(list(tdcm._conns), ["btcusdt@depth100"])
