"""The blocking ws_* methods of the legacy managers, from a user thread against FakeBinance."""

from __future__ import annotations

from typing import Any

from twisted.internet import reactor, threads
from twisted.trial.unittest import TestCase

from binance_twisted import BinanceSocketManager, ThreadedWebsocketManager
from binance_twisted.errors import BinanceAPIError, MissingCredentialsError
from binance_twisted.testing import FakeBinance
from binance_twisted.wsapi.table import METHODS
from tests.support import asynchronous, wait_until


class SyncFacadeTests(TestCase):
    async def manager(self, cls: type = BinanceSocketManager, **options: Any):
        fake = FakeBinance(reactor, event_interval=None)
        await fake.start()
        self.addCleanup(fake.stop)
        if cls is ThreadedWebsocketManager:
            bm = cls(endpoints=fake.endpoints, **options)
        else:
            bm = cls(None, endpoints=fake.endpoints, **options)
        self.addCleanup(threads.deferToThread, bm.close)
        return fake, bm

    @asynchronous
    async def test_blocking_call_from_a_user_thread_returns_the_result(self) -> None:
        """bm.ws_get_time() blocks the calling thread and returns Binance's result dict."""
        _, bm = await self.manager()
        result = await threads.deferToThread(bm.ws_get_time)
        self.assertIsInstance(result["serverTime"], int)
        self.assertEqual(await threads.deferToThread(bm.ws_ping), {})

    @asynchronous
    async def test_binance_errors_are_raised_in_the_calling_thread(self) -> None:
        """A 400 reply raises BinanceAPIError with Binance's code in the user's thread."""
        fake, bm = await self.manager()
        fake.wsapi_fault("ping", status=400, code=-1100, msg="Illegal characters found.")
        error = await self.assertFailure(threads.deferToThread(bm.ws_ping), BinanceAPIError)
        self.assertEqual((error.status, error.code), (400, -1100))

    @asynchronous
    async def test_bad_arguments_and_missing_keys_fail_before_sending(self) -> None:
        """Unknown or missing parameters raise ValueError; signed calls need keys."""
        fake, bm = await self.manager()
        with self.assertRaisesRegex(MissingCredentialsError, "api_key and api_secret"):
            bm.ws_get_account()
        unknown = threads.deferToThread(lambda: bm.ws_get_time(symbol="BTCUSDT"))
        self.assertIn("symbol", str(await self.assertFailure(unknown, ValueError)))
        missing = threads.deferToThread(bm.ws_get_order_book)
        self.assertIn("'symbol'", str(await self.assertFailure(missing, ValueError)))
        self.assertEqual([e for e in fake.log if e.kind == "request"], [])

    @asynchronous
    async def test_calling_from_the_reactor_thread_raises_instead_of_blocking(self) -> None:
        """In a callback (the reactor thread) a blocking call raises and names the Deferred one."""
        _, bm = await self.manager()
        errors: list[Exception] = []

        def callback(message: Any) -> None:
            if not errors:
                try:
                    bm.ws_ping()
                except RuntimeError as error:
                    errors.append(error)

        await threads.deferToThread(lambda: bm.start_trade_socket("BNBBTC", callback))
        reactor.callLater(0, callback, {})
        await wait_until(lambda: errors)
        self.assertIn("WebSocketAPI.ws_ping()", str(errors[0]))

    @asynchronous
    async def test_both_managers_have_every_method(self) -> None:
        """Every ws_* row is a blocking method on both managers, with its parameters."""
        _, twm = await self.manager(ThreadedWebsocketManager)
        for name in METHODS:
            self.assertTrue(callable(getattr(BinanceSocketManager, name)), name)
            self.assertTrue(callable(getattr(twm, name)), name)
        self.assertEqual((await threads.deferToThread(twm.ws_ping)), {})
