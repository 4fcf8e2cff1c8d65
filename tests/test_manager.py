"""The legacy BinanceSocketManager, driven from a real user thread against FakeBinance.

trial runs the reactor in the main thread, so these tests cover the case "the program
already runs the reactor"; the library-owned reactor thread and process exit are covered
in subprocesses by tests/test_manager_process.py.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from twisted.internet import reactor, threads
from twisted.python.threadable import isInIOThread
from twisted.trial.unittest import TestCase

from binance_twisted import (
    BinanceSocketManager,
    RetiredStreamError,
    ThreadedWebsocketManager,
)
from binance_twisted.testing import FakeBinance
from tests.support import asynchronous, wait_until

UNABLE = {"e": "error", "type": "BinanceWebsocketUnableToConnect"}


def gave_up_because(messages: list, cause: str) -> str:
    """The one give-up dict in ``messages``: 0.7.11's text, then the cause it names."""
    (message,) = messages
    assert {k: message[k] for k in UNABLE} == UNABLE, message
    assert message["m"].startswith("Max reconnect retries reached (last error: "), message
    assert cause.lower() in message["m"].lower(), (cause, message)
    return message["m"]


class Inbox:
    """A thread-safe legacy callback that records messages and the thread it ran on."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.on_reactor_thread: list[bool] = []
        self._lock = threading.Lock()

    def __call__(self, message: Any) -> None:
        with self._lock:
            self.messages.append(message)
            self.on_reactor_thread.append(isInIOThread())

    def of(self, key: str, value: str) -> list[Any]:
        return [m for m in self.messages if isinstance(m, dict) and m.get(key) == value]


class ManagerTestCase(TestCase):
    async def fake(self, **options: Any) -> FakeBinance:
        fake = FakeBinance(reactor, **{"event_interval": 0.02, **options})
        await fake.start()
        self.addCleanup(fake.stop)
        return fake

    def manager(self, fake: FakeBinance | None, cls: type = BinanceSocketManager, **options: Any):
        if fake is not None:
            options.setdefault("endpoints", fake.endpoints)
        bm = cls(**options) if cls is ThreadedWebsocketManager else cls(None, **options)
        self.addCleanup(threads.deferToThread, bm.close)  # as a user thread would
        return bm

    def in_user_thread(self, function: Callable[[], Any]):
        """Run legacy user code in a real thread other than the reactor's."""
        return threads.deferToThread(function)


class StartTests(ManagerTestCase):
    @asynchronous
    async def test_spot_sockets_return_legacy_keys_and_deliver_legacy_shapes(self) -> None:
        """Keys as in 0.7.11; single sockets get payloads, multiplex gets {stream, data}."""
        fake = await self.fake()
        bm = self.manager(fake)
        single, multi = Inbox(), Inbox()

        def user() -> tuple:
            keys = (
                bm.start_trade_socket("BNBBTC", single),
                bm.start_trade_socket("BNBBTC", single),
                bm.start_multiplex_socket(["ethbtc@aggTrade", "ethbtc@depth5"], multi),
            )
            bm.start()
            return keys

        keys = await self.in_user_thread(user)
        self.assertEqual(keys, ("bnbbtc@trade", False, "streams=ethbtc@aggTrade/ethbtc@depth5"))
        await fake.wait_for(lambda: len(single.messages) >= 3 and len(multi.messages) >= 3)
        self.assertEqual(single.messages[0]["e"], "trade")
        self.assertNotIn("stream", single.messages[0])
        self.assertEqual(
            {m["stream"] for m in multi.messages[:20]} - {"ethbtc@aggTrade", "ethbtc@depth5"}, set()
        )
        self.assertTrue(all(single.on_reactor_thread + multi.on_reactor_thread))
        self.assertEqual(
            sorted(bm._conns), ["bnbbtc@trade", "streams=ethbtc@aggTrade/ethbtc@depth5"]
        )
        stats = await self.in_user_thread(bm.stats)  # the native counters, from a user thread
        self.assertEqual(list(stats), ["spot-1"])
        self.assertGreaterEqual(stats["spot-1"]["messages"], 6)
        self.assertEqual((stats["spot-1"]["connects"], stats["spot-1"]["state"]), (1, "running"))

    @asynchronous
    async def test_every_spot_and_futures_method_subscribes_the_right_stream_and_route(
        self,
    ) -> None:
        """Each start_* method reaches the fake with its stream, futures on /public or /market."""
        fake = await self.fake(event_interval=None)
        bm = self.manager(fake)
        inbox = Inbox()

        def user() -> list:
            return [
                bm.start_depth_socket("BNBBTC", inbox, depth=bm.WEBSOCKET_DEPTH_5),
                bm.start_depth_socket("BNBBTC", inbox, interval=100),
                bm.start_kline_socket("BNBBTC", inbox, interval="1h"),
                bm.start_miniticker_socket(inbox),
                bm.start_aggtrade_socket("BNBBTC", inbox),
                bm.start_symbol_ticker_socket("BNBBTC", inbox),
                bm.start_ticker_socket(inbox),
                bm.start_symbol_book_ticker_socket("BNBBTC", inbox),
                bm.start_aggtrade_futures_socket("BTCUSDT", inbox),
                bm.start_symbol_mark_price_socket("BTCUSDT", inbox),
                bm.start_all_mark_price_socket(inbox, fast=False),
                bm.start_symbol_ticker_futures_socket("BTCUSDT", inbox),
                bm.start_individual_symbol_ticker_futures_socket("BTCUSDT", inbox),
                bm.start_all_ticker_futures_socket(inbox),
            ]

        keys = await self.in_user_thread(user)
        self.assertEqual(
            keys,
            [
                "bnbbtc@depth5",
                "bnbbtc@depth@100ms",
                "bnbbtc@kline_1h",
                "!miniTicker@arr@1000ms",
                "bnbbtc@aggTrade",
                "bnbbtc@ticker",
                "!ticker@arr",
                "bnbbtc@bookTicker",
                "btcusdt@aggTrade",
                "btcusdt@markPrice@1s",
                "!markPrice@arr",
                "btcusdt@bookTicker",
                "btcusdt@ticker",
                "!bookTicker",
            ],
        )
        expected = {
            "spot": {
                "bnbbtc@depth5",
                "bnbbtc@depth@100ms",
                "bnbbtc@kline_1h",
                "!miniTicker@arr",
                "bnbbtc@aggTrade",
                "bnbbtc@ticker",
                "!ticker_1d@arr",
                "bnbbtc@bookTicker",
            },
            "public": {"btcusdt@bookTicker", "!bookTicker"},
            "market": {
                "btcusdt@aggTrade",
                "btcusdt@markPrice@1s",
                "!markPrice@arr",
                "btcusdt@ticker",
            },
        }

        def carried() -> dict[str, set[str]]:
            found: dict[str, set[str]] = {}
            for connection in fake.connections:
                route = connection.path.split("/")[1]
                route = route if route in ("public", "market") else "spot"
                found.setdefault(route, set()).update(connection.streams)
            return found

        await fake.wait_for(lambda: carried() == expected, description="every stream subscribed")
        self.flushLoggedErrors()

    @asynchronous
    async def test_keys_of_spot_and_futures_no_longer_collide(self) -> None:
        """0.7.11 returned False for futures aggTrade after spot aggTrade; now both stream."""
        fake = await self.fake()
        bm = self.manager(fake)
        spot, futures = Inbox(), Inbox()

        def user() -> tuple:
            return (
                bm.start_aggtrade_socket("BTCUSDT", spot),
                bm.start_aggtrade_futures_socket("BTCUSDT", futures),
            )

        keys = await self.in_user_thread(user)
        self.assertEqual(keys, ("btcusdt@aggTrade", "futures:btcusdt@aggTrade"))
        await fake.wait_for(lambda: spot.messages and futures.messages)
        self.assertEqual(futures.messages[0]["stream"], "btcusdt@aggTrade")

    @asynchronous
    async def test_callback_first_and_keyword_calls_work(self) -> None:
        """1.x order start_trade_socket(cb, 'BNBBTC') and keyword calls give the same key."""
        fake = await self.fake()
        bm = self.manager(fake)
        inbox = Inbox()

        def user() -> tuple:
            return (
                bm.start_trade_socket(inbox, "BNBBTC"),
                bm.start_kline_socket(callback=inbox, symbol="ETHBTC", interval="5m"),
                bm.start_depth_socket(inbox, "XRPBTC", 10),
            )

        self.assertEqual(
            await self.in_user_thread(user),
            ("bnbbtc@trade", "ethbtc@kline_5m", "xrpbtc@depth10"),
        )

    @asynchronous
    async def test_bad_arguments_fail_in_the_callers_thread_before_io(self) -> None:
        """Bad interval, depth, callback or option raise at once; nothing is subscribed."""
        fake = await self.fake()
        bm = self.manager(fake)
        inbox = Inbox()
        errors = []

        def user() -> None:
            for call in (
                lambda: bm.start_kline_socket("BNBBTC", inbox, interval="2m"),
                lambda: bm.start_depth_socket("BNBBTC", inbox, depth=15),
                lambda: bm.start_depth_socket("BNBBTC", inbox, interval=250),
                lambda: bm.start_trade_socket("BNBBTC", "not callable"),
                lambda: bm.start_book_ticker_socket(inbox),
                lambda: bm.start_options_ticker_socket("BTC-210430-34000-C", inbox),
            ):
                try:
                    call()
                except (ValueError, TypeError) as error:
                    errors.append(error)

        await self.in_user_thread(user)
        self.assertEqual(len(errors), 6)
        self.assertIsInstance(errors[4], RetiredStreamError)
        self.assertEqual(bm._conns, {})
        self.assertEqual(fake.connections, [])
        with self.assertRaisesRegex(TypeError, "unknown option.*allowed: api_key"):
            BinanceSocketManager(None, retries=3)

    def test_reprs_show_at_most_a_prefix_of_the_api_key(self) -> None:
        """repr() of the manager, its venue, options and credentials never holds a secret."""
        key, secret = "K" * 64, "S" * 64
        bm = BinanceSocketManager(None, api_key=key, api_secret=secret)
        credentials = bm.venue.load_credentials()
        for text in (repr(bm), repr(bm.venue), repr(bm.venue.options), repr(credentials)):
            self.assertNotIn(key[:8], text)
            self.assertNotIn(secret[:8], text)
        self.assertIn("KKKK…", repr(credentials))

    def test_bad_option_values_fail_in_the_constructor_naming_the_argument(self) -> None:
        """max_retries=-1 or '5', stall_timeout 0 or NaN, rotate_after=-1, user_timeout=0:
        refused at once with the argument's name (they used to give a silent, dead socket)."""
        for options, name in [
            ({"max_retries": -1}, "max_retries"),
            ({"max_retries": "5"}, "max_retries"),
            ({"max_retries": True}, "max_retries"),
            ({"stall_timeout": 0}, "stall_timeout"),
            ({"stall_timeout": float("nan")}, "stall_timeout"),
            ({"stall_timeout": "60"}, "stall_timeout"),
            ({"rotate_after": -1}, "rotate_after"),
            ({"user_timeout": 0}, "user_timeout"),
            ({"tld": "de"}, "tld"),
            ({"queue_size": 0}, "queue_size"),
            ({"queue_overflow": "drop_all"}, "queue_overflow"),
        ]:
            with self.assertRaisesRegex(ValueError, name, msg=str(options)):
                BinanceSocketManager(None, **options)


class QueueOptionTests(ManagerTestCase):
    @asynchronous
    async def test_a_full_queue_drops_and_says_so_in_the_1x_error_shape(self) -> None:
        """queue_size=2 and a burst of 50 trades: the callback gets the newest ones, one
        {'e': 'error', 'type': 'BinanceWebsocketQueueOverflow', ...} dict, and the socket
        goes on (python-binance 1.x ended its socket there)."""
        fake = await self.fake(event_interval=None)
        bm = self.manager(fake, queue_size=2)
        inbox = Inbox()
        await self.in_user_thread(lambda: bm.start_trade_socket("BNBBTC", inbox))
        await fake.wait_for(lambda: any("bnbbtc@trade" in c.streams for c in fake.connections))

        def burst(first: int) -> None:
            for trade_id in range(first, first + 50):
                fake.publish("bnbbtc@trade", {"e": "trade", "E": 1, "s": "BNBBTC", "t": trade_id})

        burst(0)
        await fake.wait_for(lambda: inbox.of("t", 49))
        (overflow,) = inbox.of("e", "error")
        self.assertEqual(overflow["type"], "BinanceWebsocketQueueOverflow")
        self.assertIn("queue full (2 messages): dropping the oldest", overflow["m"])
        trades = [m["t"] for m in inbox.messages if m.get("e") == "trade"]
        self.assertLess(len(trades), 50)
        self.assertEqual(trades[-2:], [48, 49])
        burst(100)  # still streaming
        await fake.wait_for(lambda: inbox.of("t", 149))


class StopTests(ManagerTestCase):
    @asynchronous
    async def test_stop_socket_ends_delivery_and_frees_the_key(self) -> None:
        """After stop_socket no more messages arrive and the key can be started again."""
        fake = await self.fake()
        bm = self.manager(fake)
        inbox = Inbox()
        key = await self.in_user_thread(lambda: bm.start_trade_socket("BNBBTC", inbox))
        await fake.wait_for(lambda: len(inbox.messages) >= 2)
        await self.in_user_thread(lambda: bm.stop_socket(key))
        await self.in_user_thread(lambda: bm.stop_socket("no-such-key"))
        await fake.wait_for(lambda: not any(c.streams for c in fake.connections))
        count = len(inbox.messages)
        fake.tick(3)
        await fake.wait_for(lambda: True)
        self.assertEqual(len(inbox.messages), count)
        self.assertEqual(
            await self.in_user_thread(lambda: bm.start_trade_socket("BNBBTC", inbox)), key
        )

    @asynchronous
    async def test_deprecated_stop_aliases_warn_and_work(self) -> None:
        """0.1-0.3's stop_kline_socket(symbol) warns DeprecationWarning and stops the socket."""
        fake = await self.fake()
        bm = self.manager(fake)
        inbox = Inbox()
        await self.in_user_thread(lambda: bm.start_kline_socket("BNBBTC", inbox))
        await fake.wait_for(lambda: fake.connections)
        bm.stop_kline_socket("BNBBTC")
        self.assertEqual(bm._conns, {})
        await fake.wait_for(lambda: not fake.connections)
        (warning,) = [w for w in self.flushWarnings() if w["category"] is DeprecationWarning]
        self.assertIn("stop_socket(conn_key)", warning["message"])

    @asynchronous
    async def test_start_close_start_again(self) -> None:
        """start() is idempotent, close() ends the thread, start() works again after it."""
        fake = await self.fake()
        bm = self.manager(fake)
        inbox = Inbox()

        def user() -> tuple:
            bm.start()
            bm.start()
            bm.start_trade_socket("BNBBTC", inbox)
            first = bm.is_alive()
            bm.close()
            bm.join(5)
            stopped = not bm.is_alive()
            bm.start()
            key = bm.start_trade_socket("BNBBTC", inbox)
            return first, stopped, bm.is_alive(), key

        self.assertEqual(await self.in_user_thread(user), (True, True, True, "bnbbtc@trade"))
        await fake.wait_for(lambda: len(inbox.messages) >= 2)


class FailureTests(ManagerTestCase):
    @asynchronous
    async def test_retry_limit_sends_the_flat_legacy_error_dict_once_per_socket(self) -> None:
        """After max_retries: {'e':'error','type':...,'m':...} once, flat even for multiplex."""
        fake = await self.fake()
        endpoints = fake.endpoints
        await fake.stop()
        bm = self.manager(None, endpoints=endpoints, max_retries=1)
        single, multi = Inbox(), Inbox()

        def user() -> None:
            bm.start_trade_socket("BNBBTC", single)
            bm.start_multiplex_socket(["bnbbtc@aggTrade"], multi)

        await self.in_user_thread(user)
        await wait_until(lambda: single.messages and multi.messages, timeout=10)
        gave_up_because(single.messages, "refused")
        gave_up_because(multi.messages, "refused")
        self.assertIsNot(single.messages[0], multi.messages[0])
        self.assertEqual(bm._conns, {})

    @asynchronous
    async def test_callback_exception_is_logged_to_stdlib_and_the_stream_goes_on(self) -> None:
        """A raising callback lands in logging under binance_twisted; later messages arrive."""
        fake = await self.fake()
        bm = self.manager(fake)
        records: list[logging.LogRecord] = []
        handler = logging.Handler()
        handler.emit = records.append  # type: ignore[method-assign]
        logger = logging.getLogger("binance_twisted")
        logger.addHandler(handler)
        self.addCleanup(logger.removeHandler, handler)
        seen = []

        def fragile(message: dict) -> None:
            seen.append(message["t"])
            if len(seen) == 2:
                raise KeyError("user bug")

        await self.in_user_thread(lambda: bm.start_trade_socket("BNBBTC", fragile))
        await fake.wait_for(lambda: len(seen) >= 6)
        self.assertEqual(seen, list(range(seen[0], seen[0] + len(seen))))
        failures = [r for r in records if r.exc_info and r.exc_info[0] is KeyError]
        self.assertEqual(len(failures), 1)
        self.assertIn("bnbbtc@trade", failures[0].getMessage())
        self.flushLoggedErrors(KeyError)

    @asynchronous
    async def test_connection_events_reach_the_callback_only_when_asked(self) -> None:
        """on_event=True delivers {'e':'event'} dicts; by default the callback sees only data."""
        fake = await self.fake()
        quiet, chatty = Inbox(), Inbox()
        self.manager(fake)
        await self.in_user_thread(lambda: self.manager(fake).start_trade_socket("BNBBTC", quiet))
        loud = self.manager(fake, on_event=True)
        await self.in_user_thread(lambda: loud.start_trade_socket("ETHBTC", chatty))
        await fake.wait_for(lambda: chatty.of("e", "event") and quiet.messages)
        fake.drop_all()
        await fake.wait_for(lambda: chatty.of("type", "reconnected"))
        self.assertEqual(chatty.of("e", "event")[0]["type"], "connected")
        self.assertEqual(quiet.of("e", "event"), [])


class ThreadedManagerTests(ManagerTestCase):
    @asynchronous
    async def test_1x_keyword_api_start_stop_join(self) -> None:
        """twm.start(); start_kline_socket(callback=, symbol=, interval=) → name; stop(); join()."""
        fake = await self.fake()
        twm = self.manager(fake, cls=ThreadedWebsocketManager, endpoints=fake.endpoints)
        inbox = Inbox()

        def user() -> tuple:
            twm.start()
            names = (
                twm.start_kline_socket(callback=inbox, symbol="BNBBTC", interval="1m"),
                twm.start_multiplex_socket(callback=inbox, streams=["ethbtc@trade"]),
                twm.start_symbol_miniticker_socket(callback=inbox, symbol="BNBBTC"),
            )
            return names

        names = await self.in_user_thread(user)
        self.assertEqual(names, ("bnbbtc@kline_1m", "streams=ethbtc@trade", "bnbbtc@miniTicker"))
        await fake.wait_for(lambda: len(inbox.messages) >= 5)

        def finish() -> bool:
            twm.stop()
            twm.join(5)
            return twm.is_alive()

        self.assertFalse(await self.in_user_thread(finish))
        self.assertNotIn("secret", repr(ThreadedWebsocketManager(api_key="k", api_secret="secret")))

    @asynchronous
    async def test_1x_futures_multiplex_on_usd_m_and_coin_m(self) -> None:
        """start_futures_multiplex_socket: USD-M by default, COIN-M by futures_type (either
        on its own connection), wrapped messages; another futures_type is refused."""
        fake = await self.fake()
        twm = self.manager(fake, cls=ThreadedWebsocketManager, endpoints=fake.endpoints)
        usd, coin = Inbox(), Inbox()

        class FuturesType:  # python-binance's binance.enums.FuturesType, as far as it matters
            name = "COIN_M"

        def user() -> tuple:
            twm.start()
            return (
                twm.start_futures_multiplex_socket(usd, ["btcusdt@aggTrade"]),
                twm.start_futures_multiplex_socket(coin, ["btcusd@trade"], FuturesType()),
            )

        names = await self.in_user_thread(user)
        self.assertEqual(names, ("streams=btcusdt@aggTrade", "streams=btcusd@trade"))
        await fake.wait_for(lambda: usd.messages and coin.messages)
        self.assertEqual(usd.messages[0]["stream"], "btcusdt@aggTrade")
        self.assertEqual(coin.messages[0]["stream"], "btcusd@trade")
        self.assertEqual(
            sorted(await self.in_user_thread(twm.stats)), ["coin_futures-1", "futures-1"]
        )
        with self.assertRaisesRegex(ValueError, "futures_type must be FuturesType.USD_M or"):
            twm.start_futures_multiplex_socket(usd, ["btcusdt@trade"], "EUR_M")


class ReactorThreadTests(ManagerTestCase):
    @asynchronous
    async def test_start_from_inside_a_callback(self) -> None:
        """A callback may start another socket (it runs on the reactor thread, no deadlock)."""
        fake = await self.fake()
        bm = self.manager(fake)
        second = Inbox()
        keys = []

        def first(message: dict) -> None:
            if not keys:
                keys.append(bm.start_aggtrade_socket("ETHBTC", second))

        await self.in_user_thread(lambda: bm.start_trade_socket("BNBBTC", first))
        await fake.wait_for(lambda: len(second.messages) >= 2)
        self.assertEqual(keys, ["ethbtc@aggTrade"])

    @asynchronous
    async def test_tls_is_verified_with_the_trust_root_given(self) -> None:
        """wss:// to a server with a test CA works with trust_root= and fails without it."""
        fake = await self.fake(tls=True)
        trusted, untrusted = Inbox(), Inbox()
        good = self.manager(fake, trust_root=fake.trust_root)
        bad = self.manager(fake, max_retries=0)
        await self.in_user_thread(lambda: good.start_trade_socket("BNBBTC", trusted))
        await self.in_user_thread(lambda: bad.start_trade_socket("BNBBTC", untrusted))
        await fake.wait_for(lambda: len(trusted.messages) >= 2 and untrusted.messages)
        gave_up_because(untrusted.messages, "certificate")
        self.assertEqual(trusted.messages[0]["e"], "trade")


class _IdleReactor:
    """A reactor that has not started: work from threads waits in a queue."""

    running = False

    def __init__(self) -> None:
        self.queued: list[Callable[[], Any]] = []

    def callFromThread(self, function: Callable[..., Any], *args: Any) -> None:
        self.queued.append(lambda: function(*args))


class CloseBeforeStartTests(TestCase):
    def test_sockets_closed_before_the_reactor_runs_never_open(self) -> None:
        """start_* then close() with the reactor not running yet: the queued opens do nothing."""
        idle = _IdleReactor()
        bm = BinanceSocketManager(None, api_key="k" * 64, api_secret="s" * 64, reactor=idle)
        bm.start_trade_socket("BNBBTC", print)
        bm.start_user_socket(print)
        bm.close()
        for queued in idle.queued:
            queued()
        self.assertEqual((bm.venue._stream_clients, bm.venue._account), ({}, None))
