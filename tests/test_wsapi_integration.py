"""WebSocketAPI against FakeBinance over real sockets: concurrency, timeouts, drops, rotation."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer, reactor
from twisted.trial.unittest import TestCase

from binance_twisted.errors import NotConnectedError, RateLimitedError, RequestTimeoutError
from binance_twisted.events import EventKind
from binance_twisted.testing import FakeBinance
from binance_twisted.wsapi.connection import WebSocketAPI
from tests.support import asynchronous, wait_until


class WsApiTestCase(TestCase):
    async def connected(self, **options: Any) -> tuple[FakeBinance, WebSocketAPI, list[Any]]:
        fake = FakeBinance(reactor, event_interval=None)
        await fake.start()
        self.addCleanup(fake.stop)
        events: list[Any] = []
        api = WebSocketAPI(reactor, fake.endpoints, on_event=events.append, **options)
        self.addCleanup(api.close)
        return fake, api, events


class ConcurrencyTests(WsApiTestCase):
    @asynchronous
    async def test_100_concurrent_requests_are_all_answered_by_their_own_reply(self) -> None:
        """100 requests in flight at once on one connection; each gets its own reply."""
        fake, api, _ = await self.connected()
        replies = await defer.gatherResults(
            [api.ws_get_time() for _ in range(50)] + [api.ws_ping() for _ in range(50)]
        )
        self.assertTrue(all("serverTime" in r for r in replies[:50]))
        self.assertEqual(replies[50:], [{}] * 50)
        ids = [e.detail.get("id") for e in fake.log if e.kind == "request"]
        self.assertEqual(len(set(ids)), 100)
        self.assertEqual(len([c for c in fake.connections if c.service == "ws-api"]), 1)
        self.assertTrue(api.rate_limits)


class FailureTests(WsApiTestCase):
    @asynchronous
    async def test_a_slow_reply_times_out_and_others_go_on(self) -> None:
        """A request past its timeout fails (status unknown); the connection keeps working."""
        fake, api, _ = await self.connected(request_timeout=0.3)
        await api.ws_ping()
        fake.wsapi_fault("time", delay=1.0)
        error = await self.assertFailure(api.ws_get_time(), RequestTimeoutError)
        self.assertIn("unknown", str(error))
        self.assertEqual(await api.ws_ping(), {})

    @asynchronous
    async def test_a_drop_fails_requests_in_flight_and_the_next_ones_reconnect(self) -> None:
        """Dropped mid-request: 'execution status unknown'; later requests use a new session."""
        fake, api, events = await self.connected()
        await api.ws_ping()
        fake.wsapi_fault("time", drop=True)
        error = await self.assertFailure(api.ws_get_time(), NotConnectedError)
        self.assertIn("unknown", str(error))
        self.assertEqual(await api.ws_ping(), {})
        self.assertIn(EventKind.RECONNECTED, [e.kind for e in events])

    @asynchronous
    async def test_rate_limit_reply_carries_retry_after(self) -> None:
        """A 429 reply raises RateLimitedError with the retryAfter Binance gave."""
        fake, api, _ = await self.connected()
        fake.wsapi_fault("ping", status=429, retry_after=2.0)
        error = await self.assertFailure(api.ws_ping(), RateLimitedError)
        self.assertEqual(error.status, 429)
        self.assertIsNotNone(error.retry_after)

    @asynchronous
    async def test_server_shutdown_rotates_without_failing_requests(self) -> None:
        """serverShutdown: a new session takes over; requests before and after succeed."""
        fake, api, events = await self.connected()
        await api.ws_ping()
        fake.server_shutdown()
        await fake.wait_for(lambda: EventKind.ROTATED in [e.kind for e in events])
        self.assertEqual(await api.ws_ping(), {})
        self.assertNotIn(EventKind.DISCONNECTED, [e.kind for e in events])


API_KEY = "k" * 64
SECRET = "s" * 64


class NamedMethodTests(WsApiTestCase):
    async def keyed(self) -> tuple[FakeBinance, WebSocketAPI, Any]:
        fake, _, _ = await self.connected()
        account = fake.add_account(API_KEY, secret=SECRET)
        api = WebSocketAPI(reactor, fake.endpoints, api_key=API_KEY, private_key_or_secret=SECRET)
        self.addCleanup(api.close)
        return fake, api, account

    @asynchronous
    async def test_market_data_methods(self) -> None:
        """Order book, exchange info and tickers come back in Binance's shapes."""
        _, api, _ = await self.keyed()
        book = await api.ws_get_order_book(symbol="BTCUSDT", limit=5)
        self.assertEqual((len(book["bids"]), len(book["asks"])), (5, 5))
        self.assertLess(float(book["bids"][0][0]), float(book["asks"][0][0]))
        info = await api.ws_get_exchange_info(symbol="BTCUSDT")
        self.assertEqual(info["symbols"][0]["symbol"], "BTCUSDT")
        price = await api.ws_get_symbol_ticker(symbol="BTCUSDT")
        self.assertEqual(price["symbol"], "BTCUSDT")

    @asynchronous
    async def test_order_lifecycle_with_user_data_events(self) -> None:
        """Place a resting limit buy, read it back, cancel it; user data sees each step."""
        _, api, _ = await self.keyed()
        events: list[dict] = []
        await api.subscribe_user_data(events.append)
        book = await api.ws_get_order_book(symbol="BTCUSDT", limit=5)
        order = await api.ws_order_limit_buy(
            symbol="BTCUSDT", quantity="0.01", price=book["bids"][-1][0]
        )
        self.assertEqual(order["status"], "NEW")
        status = await api.ws_get_order(symbol="BTCUSDT", orderId=order["orderId"])
        self.assertEqual(status["orderId"], order["orderId"])
        cancelled = await api.ws_cancel_order(symbol="BTCUSDT", orderId=order["orderId"])
        self.assertEqual(cancelled["status"], "CANCELED")
        await wait_until(lambda: len([e for e in events if e["e"] == "executionReport"]) >= 2)
        self.assertEqual(
            [e["x"] for e in events if e["e"] == "executionReport"][:2], ["NEW", "CANCELED"]
        )

    @asynchronous
    async def test_futures_methods_on_the_futures_connection(self) -> None:
        """WebSocketAPI.futures talks to ws-fapi; Spot methods are refused there before I/O."""
        fake, _, _ = await self.keyed()
        futures = WebSocketAPI.futures(
            reactor, fake.endpoints, api_key=API_KEY, private_key_or_secret=SECRET
        )
        self.addCleanup(futures.close)
        book = await futures.ws_futures_get_order_book(symbol="BTCUSDT", limit=5)
        self.assertEqual(len(book["bids"]), 5)
        balances = await futures.ws_futures_account_balance()
        self.assertIn("USDT", [b["asset"] for b in balances])
        with self.assertRaisesRegex(ValueError, "Spot method"):
            futures.ws_get_order_book(symbol="BTCUSDT")

    @asynchronous
    async def test_blocking_order_from_a_user_thread(self) -> None:
        """bm.ws_get_order_book and bm.ws_create_order block a user thread and return dicts."""
        from twisted.internet import threads

        from binance_twisted import BinanceSocketManager

        fake, _, _ = await self.keyed()
        bm = BinanceSocketManager(
            None, api_key=API_KEY, api_secret=SECRET, endpoints=fake.endpoints
        )
        self.addCleanup(threads.deferToThread, bm.close)

        def user() -> dict:
            bid = bm.ws_get_order_book(symbol="BTCUSDT", limit=5)["bids"][-1][0]
            return bm.ws_create_order(
                symbol="BTCUSDT",
                side="BUY",
                type="LIMIT",
                timeInForce="GTC",
                quantity="0.01",
                price=bid,
            )

        order = await threads.deferToThread(user)
        self.assertEqual(order["status"], "NEW")
