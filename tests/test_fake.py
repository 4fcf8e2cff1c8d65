"""FakeBinance: its pure parts with fake time, its server over real sockets on 127.0.0.1.

The socket tests talk to the fake with a small recording autobahn client defined here (the
project's own client is tested against the fake elsewhere). Nothing sleeps: tests wait on
conditions with ``fake.wait_for``. The fake's timers (pings, pong deadlines, lifetimes,
ticks) run on a ``task.Clock`` the test advances (``clock=self.clock``) while the bytes they
send travel over the real sockets; a test shows that nothing was sent with a round trip on
the same connection (:meth:`FakeTestCase.settle`), whose reply comes after anything sent
before it.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Coroutine
from typing import Any

import treq
from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol
from twisted.internet import defer, reactor, task
from twisted.internet.endpoints import TCP4ClientEndpoint, wrapClientTLS
from twisted.internet.ssl import optionsForClientTLS
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.client import Agent, BrowserLikePolicyForHTTPS, HTTPConnectionPool

from binance_twisted._json import dumps, loads
from binance_twisted.testing import FakeBinance, LogEntry, make_test_certificate_authority
from binance_twisted.testing._control import ControlError, decode
from binance_twisted.testing._limits import Heartbeat, RateWindow
from binance_twisted.testing._market import Market, SymbolMarket, kline_window
from binance_twisted.testing._names import BadURL, StreamSpec, is_well_formed, parse_url, recognise


def asynchronous(test: Callable[..., Coroutine[Any, Any, Any]]) -> Callable[..., defer.Deferred]:
    """Run an ``async def`` test as a Deferred-returning one (for trials that cannot)."""

    @functools.wraps(test)
    def run(self: Any) -> defer.Deferred:
        return defer.ensureDeferred(test(self))

    return run


def kinds(fake: FakeBinance, kind: str) -> list[LogEntry]:
    """The fake's log entries of one kind."""
    return [entry for entry in fake.log if entry.kind == kind]


def apply_diff(book: dict[str, dict[str, str]], diff: dict[str, Any]) -> None:
    """Apply a depth diff (absolute quantities, zero removes) to a local book."""
    for side, key in (("bids", "b"), ("asks", "a")):
        for price, qty in diff[key]:
            if float(qty) == 0:
                book[side].pop(price, None)
            else:
                book[side][price] = qty


# -- pure parts ---------------------------------------------------------------------------


class StreamNameTests(SynchronousTestCase):
    def test_well_formed_names(self) -> None:
        """Names with @-separated tokens (or a leading !) are accepted, whatever their kind."""
        for name in ["btcusdt@trade", "BTCUSDT@trade", "xrpxrp@nope", "!ticker@arr", "!bookTicker"]:
            self.assertTrue(is_well_formed(name), name)
        for name in ["", "btcusdt", "btcusdt@", "@trade", "btcusdt@@trade", "a b@trade", 7, None]:
            self.assertFalse(is_well_formed(name), name)

    def test_recognised_streams(self) -> None:
        """Known kinds parse into specs; unknown kinds, uppercase and retired names stay silent."""
        self.assertEqual(recognise("btcusdt@depth@100ms"), StreamSpec("depth", "btcusdt"))
        self.assertEqual(
            recognise("ethusdt@depth10@100ms"), StreamSpec("partialDepth", "ethusdt", levels=10)
        )
        self.assertEqual(
            recognise("btcusdt@kline_1M@+08:00"),
            StreamSpec("kline", "btcusdt", interval="1M", offset_ms=8 * 3600 * 1000),
        )
        self.assertEqual(
            recognise("!ticker_4h@arr"), StreamSpec("allWindowTicker", None, interval="4h")
        )
        for name in ["BTCUSDT@trade", "btcusdt@kline_7m", "!ticker@arr", "!bookTicker"]:
            self.assertIsNone(recognise(name), name)

    def test_futures_only_streams(self) -> None:
        """markPrice, !markPrice@arr and !bookTicker are recognised on futures routes only."""
        futures = {
            "btcusdt@markPrice": StreamSpec("markPrice", "btcusdt"),
            "btcusdt@markPrice@1s": StreamSpec("markPrice", "btcusdt"),
            "!markPrice@arr": StreamSpec("allMarkPrice", None),
            "!markPrice@arr@1s": StreamSpec("allMarkPrice", None),
            "!bookTicker": StreamSpec("allBookTicker", None),
        }
        for name, spec in futures.items():
            self.assertEqual(recognise(name, futures=True), spec, name)
            self.assertIsNone(recognise(name), name)
        self.assertEqual(recognise("btcusdt@trade", futures=True), StreamSpec("trade", "btcusdt"))
        for name in ["BTCUSDT@markPrice", "btcusdt@markPrice@3s", "!markPrice", "!ticker@arr"]:
            self.assertIsNone(recognise(name, futures=True), name)

    def test_url_forms(self) -> None:
        """/ws paths are raw, /stream queries combined; encoding and timeUnit are handled."""
        self.assertEqual(parse_url("/ws"), (None, False, []))
        self.assertEqual(
            parse_url("/ws/a@trade/b@kline_1m@+08:00"),
            (None, False, ["a@trade", "b@kline_1m@+08:00"]),
        )
        self.assertEqual(parse_url("/stream"), (None, True, []))
        self.assertEqual(
            parse_url("/stream?timeUnit=MICROSECOND&streams=a@trade%2F%21miniTicker%40arr"),
            (None, True, ["a@trade", "!miniTicker@arr"]),
        )

    def test_futures_route_prefixes(self) -> None:
        """/public, /market and /private may precede /ws and /stream; the route is returned."""
        self.assertEqual(parse_url("/public/ws/a@depth5"), ("public", False, ["a@depth5"]))
        self.assertEqual(
            parse_url("/market/stream?streams=a@markPrice/!bookTicker"),
            ("market", True, ["a@markPrice", "!bookTicker"]),
        )
        self.assertEqual(
            parse_url("/private/ws?listenKey=abc&events=ORDER_TRADE_UPDATE"),
            ("private", False, []),
        )

    def test_bad_urls(self) -> None:
        """A malformed stream name is a 400; another path (or route) a 404."""
        self.assertEqual(self.assertRaises(BadURL, parse_url, "/ws/btcusdt@@x").status, 400)
        self.assertEqual(self.assertRaises(BadURL, parse_url, "/stream?streams=a b@x").status, 400)
        self.assertEqual(self.assertRaises(BadURL, parse_url, "/market/ws/a@@x").status, 400)
        for path in ["/nope", "/futures/ws", "/public", "/public/nope", "/public/market/ws"]:
            self.assertEqual(self.assertRaises(BadURL, parse_url, path).status, 404, path)


class ControlMessageTests(SynchronousTestCase):
    def error(self, frame: bytes) -> tuple[int, str, Any]:
        e = self.assertRaises(ControlError, decode, frame)
        return e.code, e.msg, e.request_id if e.has_id else "absent"

    def test_request_ids(self) -> None:
        """Ids may be integers, short alphanumeric strings or null; anything else is refused."""
        for request_id in [0, 2**63 - 1, "abc123", None]:
            message = {"method": "LIST_SUBSCRIPTIONS", "id": request_id}
            self.assertEqual(decode(dumps(message)).id, request_id)
        refusal = (2, "Invalid request: request ID must be an unsigned integer", "absent")
        for request_id in [1.5, True, "a-b", "x" * 37, 2**63, [1]]:
            message = {"method": "LIST_SUBSCRIPTIONS", "id": request_id}
            self.assertEqual(self.error(dumps(message)), refusal)
        self.assertEqual(self.error(b'{"method":"LIST_SUBSCRIPTIONS"}'), refusal)

    def test_errors(self) -> None:
        """Bad JSON is code 3; bad methods, streams and properties get Binance's messages."""
        code, msg, request_id = self.error(b"{nope")
        self.assertEqual((code, request_id), (3, "absent"))
        self.assertTrue(msg.startswith("Invalid JSON: "), msg)
        self.assertEqual(
            self.error(b'{"method":"PING","id":4}')[:2],
            (
                2,
                "Invalid request: unknown variant `PING`, expected one of `SUBSCRIBE`, "
                "`UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY`",
            ),
        )
        self.assertEqual(
            self.error(b'{"method":"SUBSCRIBE","params":["a@trade","a@@b"],"id":5}'),
            (2, "Invalid request: invalid stream", 5),
        )
        self.assertEqual(
            self.error(b'{"method":"SET_PROPERTY","params":["combined",1],"id":6}'),
            (1, "Invalid value type: expected Boolean", 6),
        )
        self.assertEqual(
            self.error(b'{"method":"GET_PROPERTY","params":["other"],"id":7}'),
            (0, "Unknown property", 7),
        )


class MarketTests(SynchronousTestCase):
    def test_snapshot_plus_later_diffs_reproduce_the_book(self) -> None:
        """Applying every diff with u > lastUpdateId to a snapshot gives the true book."""
        market = SymbolMarket("btcusdt", seed=1)
        for now in range(5):
            market.step(now)
        last_update_id, bids, asks = market.depth(5000)
        local = {"bids": dict(map(tuple, bids)), "asks": dict(map(tuple, asks))}
        previous = last_update_id
        for now in range(5, 200):
            diff = market.step(now).diff
            self.assertEqual(diff.first_update_id, previous + 1)
            self.assertGreaterEqual(diff.final_update_id, diff.first_update_id)
            previous = diff.final_update_id
            apply_diff(local, {"b": diff.bids, "a": diff.asks})
        self.assertEqual((previous, local["bids"], local["asks"]), market.book())
        self.assertLess(max(map(float, local["bids"])), min(map(float, local["asks"])))

    def test_ids_are_consecutive_and_aggregates_cover_trades(self) -> None:
        """Trade and aggTrade ids step by one; each aggTrade spans exactly its fills."""
        market = SymbolMarket("ethusdt", seed=2)
        steps = [market.step(now) for now in range(100)]
        trades = [t for s in steps for t in s.trades]
        aggs = [a for s in steps for a in s.agg_trades]
        self.assertEqual(
            [t.id for t in trades], list(range(trades[0].id, trades[0].id + len(trades)))
        )
        self.assertEqual([a.id for a in aggs], list(range(aggs[0].id, aggs[0].id + len(aggs))))
        by_id = {t.id: t for t in trades}
        for agg in aggs:
            fills = [by_id[i] for i in range(agg.first_id, agg.last_id + 1)]
            self.assertEqual({t.price for t in fills}, {agg.price})
            self.assertEqual(sum(t.qty for t in fills), agg.qty)
        self.assertEqual(aggs[0].first_id, trades[0].id)
        self.assertEqual(aggs[-1].last_id, trades[-1].id)

    def test_seeded(self) -> None:
        """The same seed gives the same history; a symbol's history ignores other symbols."""
        one, two = Market(seed=7), Market(seed=7)
        two.get("ethusdt").step(0)
        self.assertEqual(
            [one.get("btcusdt").step(n) for n in range(10)],
            [two.get("btcusdt").step(n) for n in range(10)],
        )
        self.assertNotEqual(
            Market(seed=8).get("btcusdt").book(), Market(seed=7).get("btcusdt").book()
        )

    def test_kline_windows(self) -> None:
        """Candles align on UTC (or UTC+8) minutes, Mondays and month starts."""
        now = 1_700_000_123_456  # Tuesday 2023-11-14 22:15:23.456 UTC
        self.assertEqual(kline_window("1m", 0, now), (1_700_000_100_000, 1_700_000_159_999))
        self.assertEqual(kline_window("1w", 0, now)[0], 1_699_833_600_000)  # Monday 11-13
        self.assertEqual(kline_window("1M", 0, now), (1_698_796_800_000, 1_701_388_799_999))
        eight = 8 * 3600 * 1000
        self.assertEqual(kline_window("1d", eight, now)[0], 1_699_977_600_000)  # 11-15 00:00 +8


class LimitTests(SynchronousTestCase):
    def test_rate_window_slides(self) -> None:
        """Five events per second pass; the sixth within the same second does not."""
        clock = task.Clock()
        window = RateWindow(clock, 5)
        self.assertEqual([window.admit() for _ in range(6)], [True] * 5 + [False])
        clock.advance(1.0)
        self.assertTrue(window.admit())

    def test_heartbeat(self) -> None:
        """Pings carry the ms clock; only an echoing pong moves the deadline; stop cancels."""
        clock = task.Clock()
        sent: list[bytes] = []
        expired: list[float] = []
        beat = Heartbeat(clock, 20.0, 60.0, sent.append, lambda: expired.append(clock.seconds()))
        beat.start()
        clock.advance(20.0)
        self.assertEqual(sent, [b"20000"])
        self.assertFalse(beat.pong(b""))
        self.assertTrue(beat.pong(b"20000"))
        clock.pump([20.0] * 3)  # pings at 40, 60, 80 s, none answered
        self.assertEqual(expired, [])
        clock.advance(20.0)
        self.assertEqual(expired, [100.0])
        self.assertEqual(clock.getDelayedCalls(), [])
        beat.start()
        beat.stop()
        self.assertEqual(clock.getDelayedCalls(), [])


class WaitForTests(SynchronousTestCase):
    def test_wait_for_polls_on_the_reactor_not_on_the_clock(self) -> None:
        """wait_for waits for I/O: it polls on the reactor, whatever the fake's clock does."""
        reactor_clock, fake_clock = task.Clock(), task.Clock()
        fake = FakeBinance(reactor_clock, clock=fake_clock)
        self.assertIs(fake.clock, fake_clock)
        d = fake.wait_for(lambda: True, timeout=0.05)
        fake_clock.advance(1.0)
        self.assertEqual(self.successResultOf(d), True)
        never = fake.wait_for(lambda: False, timeout=0.05)
        fake_clock.advance(1.0)
        self.assertNoResult(never)
        reactor_clock.pump([0.01] * 6)
        self.failureResultOf(never, TimeoutError)

    def test_wait_for_fires_with_the_value(self) -> None:
        """wait_for polls on the fake's reactor and fires with the predicate's value."""
        clock = task.Clock()
        fake = FakeBinance(clock)
        box: list[int] = []
        d = fake.wait_for(lambda: box)
        clock.advance(0.01)
        box.append(1)
        clock.advance(0.01)
        self.assertEqual(self.successResultOf(d), [1])

    def test_wait_for_times_out_naming_what_it_awaited(self) -> None:
        """A predicate still false at the timeout fails with a TimeoutError naming it."""
        clock = task.Clock()
        fake = FakeBinance(clock)
        d = fake.wait_for(lambda: False, timeout=0.05, description="the moon")
        clock.pump([0.01] * 6)
        failure = self.failureResultOf(d, TimeoutError)
        self.assertIn("the moon", str(failure.value))
        self.assertEqual(clock.getDelayedCalls(), [])


# -- over real sockets --------------------------------------------------------------------


class Client(WebSocketClientProtocol):
    """Records what the server sends; answers pings unless told not to."""

    factory: ClientFactory

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[tuple[bytes, bool]] = []
        self.pings: list[bytes] = []
        self.opened: defer.Deferred[Client] = defer.Deferred()
        self.lost: defer.Deferred[BaseException] = defer.Deferred()
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self.was_clean: bool | None = None

    def onOpen(self) -> None:
        self.opened.callback(self)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        self.messages.append((payload, isBinary))

    def onPing(self, payload: bytes) -> None:
        self.pings.append(payload)
        if self.factory.answer_pings:
            self.sendPong(payload)

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        self.was_clean = wasClean
        self.close_code, self.close_reason = self.remoteCloseCode, self.remoteCloseReason

    def connectionLost(self, reason: Failure) -> None:
        super().connectionLost(reason)
        self.lost.callback(reason.value)

    def json(self) -> list[Any]:
        """Every text message, decoded."""
        return [loads(payload) for payload, binary in self.messages if not binary]

    def request(self, method: str, params: list[Any] | None = None, request_id: Any = 1) -> None:
        message: dict[str, Any] = {"method": method, "id": request_id}
        if params is not None:
            message["params"] = params
        self.sendMessage(dumps(message))

    def abort(self) -> defer.Deferred[BaseException]:
        if not self.lost.called:
            self.transport.abortConnection()
        return self.lost


class ClientFactory(WebSocketClientFactory):
    protocol = Client
    answer_pings = True


class FakeTestCase(TestCase):
    """Starts a fake per test and leaves no socket or timer behind.

    ``self.clock`` is a ``task.Clock`` at the reactor's time, in whole seconds (so that
    whole-second steps add up exactly): a test that drives the fake's timers passes it,
    ``self.start(clock=self.clock)``, and advances it.
    """

    timeout = 15
    options: dict[str, Any] = {"event_interval": None}

    def setUp(self) -> None:
        self.clock = task.Clock()
        self.clock.advance(float(int(reactor.seconds())))

    async def start(self, **options: Any) -> FakeBinance:
        fake = FakeBinance(reactor, **{**self.options, **options})
        await fake.start()
        self.addCleanup(fake.stop)
        self.fake = fake
        return fake

    async def connect(
        self, path: str = "/ws", *, answer_pings: bool = True, trust_root: Any = None
    ) -> Client:
        """A connected client (not necessarily upgraded: await ``client.opened`` for that)."""
        factory = ClientFactory(self.fake.endpoints.stream_url + path, reactor=reactor)
        factory.answer_pings = answer_pings
        endpoint: Any = TCP4ClientEndpoint(reactor, "127.0.0.1", self.fake.port)
        if trust_root is not None:
            endpoint = wrapClientTLS(
                optionsForClientTLS("127.0.0.1", trustRoot=trust_root), endpoint
            )
        client: Client = await endpoint.connect(factory)
        self.addCleanup(client.abort)
        return client

    async def open(self, path: str = "/ws", **options: Any) -> Client:
        """A client whose WebSocket handshake has completed."""
        client = await self.connect(path, **options)
        return await client.opened

    async def reply(self, client: Client, count: int = 1) -> Any:
        """Wait for the ``count``-th text message and return it decoded."""
        await self.fake.wait_for(lambda: len(client.messages) >= count)
        return client.json()[count - 1]

    async def settle(self, client: Client) -> None:
        """A LIST_SUBSCRIPTIONS round trip: once its reply is in, so is all the fake sent before.

        TCP keeps order, so this shows what did *not* arrive without waiting for it. The
        reply is taken out of ``client.messages`` again.
        """
        client.request("LIST_SUBSCRIPTIONS", request_id="settle")
        reply = await self.fake.wait_for(
            lambda: [m for m in client.messages if b'"settle"' in m[0]]
        )
        client.messages.remove(reply[0])

    def after(self, seconds: float) -> defer.Deferred[None]:
        """Real time, for bytes that must *not* arrive where no round trip can show it."""
        return task.deferLater(reactor, seconds, lambda: None)


class DeliveryTests(FakeTestCase):
    @asynchronous
    async def test_raw_connection_gets_bare_payloads(self) -> None:
        """On /ws/<stream> each trade arrives as the bare event with decimal strings."""
        fake = await self.start()
        client = await self.open("/ws/btcusdt@trade")
        fake.tick()
        await fake.wait_for(lambda: client.messages)
        event = client.json()[0]
        self.assertEqual(sorted(event), sorted(["e", "E", "s", "t", "p", "q", "T", "m", "M"]))
        self.assertEqual((event["e"], event["s"]), ("trade", "BTCUSDT"))
        self.assertRegex(event["p"], r"^\d+\.\d{8}$")

    @asynchronous
    async def test_combined_connection_gets_wrapped_payloads(self) -> None:
        """On /stream?streams=… payloads arrive as {stream, data}; bookTicker has no e/E."""
        fake = await self.start()
        client = await self.open("/stream?streams=btcusdt@bookTicker/ethusdt@depth5")
        self.assertEqual(fake.connections[0].streams, ["btcusdt@bookTicker", "ethusdt@depth5"])
        self.assertTrue(fake.connections[0].combined)
        fake.tick()
        await fake.wait_for(lambda: len(client.messages) >= 2)
        wrapped = {m["stream"]: m["data"] for m in client.json()}
        self.assertEqual(sorted(wrapped["btcusdt@bookTicker"]), sorted("usbBaA"))
        self.assertEqual(sorted(wrapped["ethusdt@depth5"]), ["asks", "bids", "lastUpdateId"])
        self.assertEqual(len(wrapped["ethusdt@depth5"]["bids"]), 5)

    @asynchronous
    async def test_every_recognised_stream_publishes(self) -> None:
        """Each stream kind of the catalogue yields its event type; unknown names stay silent."""
        fake = await self.start(symbols=("btcusdt", "ethusdt"))
        kinds_by_stream = {
            "btcusdt@aggTrade": "aggTrade",
            "btcusdt@kline_1s": "kline",
            "btcusdt@kline_1h@+08:00": "kline",
            "btcusdt@depth@100ms": "depthUpdate",
            "btcusdt@ticker": "24hrTicker",
            "btcusdt@ticker_1h": "1hTicker",
            "btcusdt@miniTicker": "24hrMiniTicker",
            "btcusdt@avgPrice": "avgPrice",
            "btcusdt@referencePrice": "referencePrice",
            "!ticker_4h@arr": "4hTicker",
            "!miniTicker@arr": "24hrMiniTicker",
        }
        silent = ["btcusdt@nope", "!ticker@arr", "!bookTicker", "BTCUSDT@trade"]
        names = [*kinds_by_stream, *silent]
        client = await self.open("/stream?streams=" + "/".join(names))
        fake.tick()
        await fake.wait_for(
            lambda: len({m["stream"] for m in client.json()}) >= len(kinds_by_stream)
        )
        seen = {}
        for message in client.json():
            data = message["data"]
            seen[message["stream"]] = (data[0] if isinstance(data, list) else data)["e"]
        self.assertEqual(seen, kinds_by_stream)
        self.assertEqual(
            [len(m["data"]) for m in client.json() if m["stream"] == "!miniTicker@arr"], [2]
        )

    @asynchronous
    async def test_trade_ids_are_consecutive_and_identical_across_connections(self) -> None:
        """Two connections on one stream see the same events; trade ids step by one."""
        fake = await self.start()
        first = await self.open("/ws/btcusdt@trade")
        second = await self.open("/stream?streams=btcusdt@trade")
        fake.tick(20)
        await fake.wait_for(lambda: len(second.messages) >= len(first.messages) >= 20)
        raw = first.json()
        self.assertEqual(raw, [m["data"] for m in second.json()])
        ids = [event["t"] for event in raw]
        self.assertEqual(ids, list(range(ids[0], ids[0] + len(ids))))

    @asynchronous
    async def test_ticks_run_on_the_clock(self) -> None:
        """With event_interval set, each interval of the fake's clock brings one tick."""
        fake = await self.start(event_interval=0.01, clock=self.clock)
        client = await self.open("/ws/ethusdt@depth")
        self.clock.pump([0.01] * 5)
        await fake.wait_for(lambda: len(client.messages) >= 5)
        await self.settle(client)
        diffs = client.json()
        self.assertEqual(len(diffs), 5)
        for before, after in itertools.pairwise(diffs):
            self.assertEqual(after["U"], before["u"] + 1)
        self.assertEqual(diffs[-1]["E"] - diffs[0]["E"], 40)

    @asynchronous
    async def test_publish(self) -> None:
        """publish() sends a custom payload, wrapped only on combined connections."""
        fake = await self.start()
        raw = await self.open("/ws/btcusdt@custom")
        combined = await self.open("/stream?streams=btcusdt@custom")
        await self.open("/ws/ethusdt@custom")
        self.assertEqual(fake.publish("btcusdt@custom", {"x": 1}), 2)
        await fake.wait_for(lambda: raw.messages and combined.messages)
        self.assertEqual(raw.json(), [{"x": 1}])
        self.assertEqual(combined.json(), [{"stream": "btcusdt@custom", "data": {"x": 1}}])


class ControlTests(FakeTestCase):
    @asynchronous
    async def test_subscribe_unsubscribe_list(self) -> None:
        """SUBSCRIBE/UNSUBSCRIBE answer result null; LIST_SUBSCRIPTIONS lists in order."""
        fake = await self.start()
        client = await self.open("/ws/btcusdt@trade")
        client.request("SUBSCRIBE", ["ethusdt@trade", "btcusdt@depth"], 1)
        client.request("UNSUBSCRIBE", ["btcusdt@trade", "never@trade"], "two")
        client.request("LIST_SUBSCRIPTIONS", request_id=None)
        await self.reply(client, 3)
        self.assertEqual(
            client.json(),
            [
                {"result": None, "id": 1},
                {"result": None, "id": "two"},
                {"result": ["ethusdt@trade", "btcusdt@depth"], "id": None},
            ],
        )
        self.assertEqual(
            [e.detail["method"] for e in fake.requests(fake.connections[0])],
            ["SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS"],
        )
        self.assertEqual(len(fake.requests(method="SUBSCRIBE")), 1)

    @asynchronous
    async def test_combined_property(self) -> None:
        """SET_PROPERTY combined true makes a /ws connection wrap; GET_PROPERTY reports it."""
        fake = await self.start()
        client = await self.open("/ws/btcusdt@trade")
        client.request("GET_PROPERTY", ["combined"], 1)
        client.request("SET_PROPERTY", ["combined", True], 2)
        client.request("GET_PROPERTY", ["combined"], 3)
        await self.reply(client, 3)
        self.assertEqual([m["result"] for m in client.json()], [False, None, True])
        fake.tick()
        self.assertEqual((await self.reply(client, 4))["stream"], "btcusdt@trade")

    @asynchronous
    async def test_error_frames(self) -> None:
        """Invalid streams, bad JSON and unknown methods get wrapped error frames, no effect."""
        fake = await self.start()
        client = await self.open("/ws")
        client.request("SUBSCRIBE", ["btcusdt@trade", "btcusdt trade"], 1)
        client.sendMessage(b'{"method": "SUBSCRIBE",')
        client.request("SUBSCRIBE!", [], 3)
        await self.reply(client, 3)
        invalid, bad_json, unknown = client.json()
        self.assertEqual(
            invalid, {"error": {"code": 2, "msg": "Invalid request: invalid stream"}, "id": 1}
        )
        self.assertEqual(bad_json["error"]["code"], 3)
        self.assertTrue(bad_json["error"]["msg"].startswith("Invalid JSON: "))
        self.assertNotIn("id", bad_json)
        self.assertEqual(unknown["id"], 3)
        self.assertTrue(unknown["error"]["msg"].startswith("Invalid request: unknown variant"))
        self.assertEqual(fake.connections[0].streams, [])
        self.assertEqual(len(kinds(fake, "invalid")), 3)

    @asynchronous
    async def test_well_formed_unknown_streams_are_accepted(self) -> None:
        """Unknown but well-formed names (and retired ones) are acknowledged and stay silent."""
        fake = await self.start()
        client = await self.open("/ws")
        client.request("SUBSCRIBE", ["xrpxrp@nope", "!ticker@arr", "!bookTicker"], 9)
        self.assertEqual(await self.reply(client), {"result": None, "id": 9})
        fake.tick(3)
        client.request("LIST_SUBSCRIPTIONS", request_id=10)
        self.assertEqual(len((await self.reply(client, 2))["result"]), 3)
        self.assertEqual(len(client.messages), 2)

    @asynchronous
    async def test_invalid_stream_can_close_the_connection(self) -> None:
        """With close_on_invalid_stream the error frame is followed by a close."""
        fake = await self.start(close_on_invalid_stream=True)
        client = await self.open("/ws")
        client.request("SUBSCRIBE", ["@"], 1)
        await client.lost
        self.assertEqual(client.json()[0]["error"]["code"], 2)
        self.assertEqual(client.close_code, 1008)
        self.assertEqual(kinds(fake, "close")[0].detail["by"], "server")

    @asynchronous
    async def test_stream_cap(self) -> None:
        """A SUBSCRIBE that would pass max_streams fails whole; a URL over it is refused."""
        fake = await self.start(max_streams=3)
        client = await self.open("/ws/a@trade/b@trade")
        client.request("SUBSCRIBE", ["a@trade", "c@trade", "d@trade"], 1)
        client.request("SUBSCRIBE", ["a@trade", "c@trade"], 2)
        error, ok = [await self.reply(client, 1), await self.reply(client, 2)]
        self.assertEqual(error["error"]["code"], 2)
        self.assertIn("too many streams", error["error"]["msg"])
        self.assertEqual(ok, {"result": None, "id": 2})
        self.assertEqual(fake.connections[0].streams, ["a@trade", "b@trade", "c@trade"])
        refused = await self.connect("/ws/a@x/b@x/c@x/d@x")
        await refused.lost
        self.assertEqual(kinds(fake, "refused")[0].detail["status"], 400)

    @asynchronous
    async def test_a_thousand_streams_on_one_connection(self) -> None:
        """1024 streams fit on a connection and all publish on a tick; the 1025th is refused."""
        fake = await self.start()
        client = await self.open("/stream")
        names = [f"s{i:04d}usdt@trade" for i in range(1024)]
        client.request("SUBSCRIBE", names, 1)
        client.request("SUBSCRIBE", ["one@more"], 2)
        await self.reply(client, 2)
        self.assertEqual(client.json()[0], {"result": None, "id": 1})
        self.assertIn("error", client.json()[1])
        fake.tick()
        await fake.wait_for(
            lambda: len({m["stream"] for m in client.json() if "stream" in m}) == 1024
        )

    @asynchronous
    async def test_invalid_url_is_refused(self) -> None:
        """A malformed stream name in the URL is answered with HTTP 400, nothing registered."""
        fake = await self.start()
        client = await self.connect("/ws/btcusdt@@trade")
        await client.lost
        self.assertFalse(client.opened.called)
        self.assertEqual(kinds(fake, "refused")[0].detail["status"], 400)
        self.assertEqual(fake.connections, [])


class LimitsTests(FakeTestCase):
    @asynchronous
    async def test_rate_limit_closes_with_1008(self) -> None:
        """The sixth incoming frame within a second gets close 1008 "Too many requests"."""
        fake = await self.start()
        client = await self.open("/ws")
        for request_id in range(6):
            client.request("LIST_SUBSCRIPTIONS", request_id=request_id)
        await client.lost
        self.assertEqual((client.close_code, client.close_reason), (1008, "Too many requests"))
        self.assertEqual(len(client.messages), 5)
        self.assertEqual(len(kinds(fake, "rate-limit")), 1)
        self.assertEqual(kinds(fake, "close")[0].detail["code"], 1008)

    @asynchronous
    async def test_pings_are_counted_too(self) -> None:
        """Client pings count against the same budget as control messages."""
        fake = await self.start()
        client = await self.open("/ws")
        for _ in range(6):
            client.sendPing(b"")
        await client.lost
        self.assertEqual(client.close_code, 1008)
        self.assertEqual(kinds(fake, "rate-limit")[0].detail["frame"], "ping")

    @asynchronous
    async def test_answered_pings_keep_the_connection(self) -> None:
        """A ping every 20 s of the clock carries it in ms; echoing pongs keep the connection."""
        fake = await self.start(clock=self.clock)
        client = await self.open("/ws")
        start = self.clock.seconds()
        for beat in range(1, 6):
            self.clock.advance(20.0)
            await fake.wait_for(lambda n=beat: len(kinds(fake, "pong")) >= n)
        expected = [str(round((start + 20.0 * n) * 1000)).encode() for n in range(1, 6)]
        self.assertEqual(client.pings, expected)
        self.assertTrue(all(entry.detail["answered"] for entry in kinds(fake, "pong")))
        self.assertEqual(kinds(fake, "pong-timeout"), [])
        self.assertEqual(len(fake.connections), 1)

    @asynchronous
    async def test_unanswered_pings_drop_the_connection(self) -> None:
        """No pong within 60 s of the first ping: the connection is aborted, no close frame."""
        fake = await self.start(clock=self.clock)
        client = await self.open("/ws", answer_pings=False)
        self.clock.advance(20)  # the first ping
        self.clock.advance(59)
        self.assertEqual(len(fake.connections), 1)
        self.clock.advance(1)
        await client.lost
        self.assertEqual(client.close_code, None)
        self.assertFalse(client.was_clean)
        (timeout,) = kinds(fake, "pong-timeout")
        self.assertEqual(timeout.time - fake.log[0].time, 80.0)
        self.assertEqual(kinds(fake, "close")[0].detail["code"], 1006)

    @asynchronous
    async def test_unsolicited_pongs_do_not_count(self) -> None:
        """Pongs that do not echo a ping are logged but do not meet the deadline."""
        fake = await self.start(clock=self.clock)
        client = await self.open("/ws", answer_pings=False)
        client.sendPong(b"")
        await fake.wait_for(lambda: kinds(fake, "pong"))
        self.clock.advance(20.0)
        await fake.wait_for(lambda: client.pings)
        client.sendPong(b"")
        await fake.wait_for(lambda: len(kinds(fake, "pong")) == 2)
        self.clock.advance(60.0)
        await client.lost
        self.assertEqual([e.detail["answered"] for e in kinds(fake, "pong")], [False, False])
        self.assertEqual(len(kinds(fake, "pong-timeout")), 1)

    @asynchronous
    async def test_lifetime(self) -> None:
        """After lifetime seconds (Binance's 24 h here) the server closes with 1000."""
        day = 24 * 3600.0
        fake = await self.start(lifetime=day, ping_interval=None, clock=self.clock)
        client = await self.open("/ws")
        self.clock.advance(day - 1)
        self.assertEqual(len(fake.connections), 1)
        self.clock.advance(1)
        await client.lost
        self.assertEqual(client.close_code, 1000)
        self.assertEqual(len(kinds(fake, "lifetime")), 1)
        self.assertEqual(kinds(fake, "close")[0].detail["by"], "server")


class FaultTests(FakeTestCase):
    @asynchronous
    async def test_server_shutdown_shapes(self) -> None:
        """serverShutdown is a bare event on /ws and the !serverShutdown stream on /stream."""
        fake = await self.start()
        raw = await self.open("/ws/btcusdt@trade")
        combined = await self.open("/stream")
        self.assertEqual(fake.server_shutdown(), 2)
        await fake.wait_for(lambda: raw.messages and combined.messages)
        (event,) = raw.json()
        self.assertEqual(sorted(event), ["E", "e"])
        self.assertEqual(event["e"], "serverShutdown")
        self.assertEqual(combined.json(), [{"stream": "!serverShutdown", "data": event}])
        self.assertEqual(len(fake.connections), 2)

    @asynchronous
    async def test_refused_handshakes(self) -> None:
        """refuse_handshakes(2, 429) answers two upgrades with 429, then accepts again."""
        fake = await self.start()
        fake.refuse_handshakes(2, 429)
        for _ in range(2):
            client = await self.connect("/ws/btcusdt@trade")
            await client.lost
            self.assertFalse(client.opened.called)
        await self.open("/ws/btcusdt@trade")
        self.assertEqual([e.detail["status"] for e in kinds(fake, "refused")], [429, 429])
        self.assertEqual([c.id for c in fake.connections], [1])

    @asynchronous
    async def test_drop_all(self) -> None:
        """drop_all aborts every connection without a close frame."""
        fake = await self.start()
        clients = [await self.open("/ws"), await self.open("/stream")]
        self.assertEqual(fake.drop_all(), 2)
        for client in clients:
            await client.lost
            self.assertEqual((client.was_clean, client.close_code), (False, None))
        self.assertEqual(fake.connections, [])

    @asynchronous
    async def test_stall_and_resume(self) -> None:
        """While stalled nothing is sent, not even pings or pong deadlines; resume restarts."""
        fake = await self.start(clock=self.clock)
        client = await self.open("/ws/btcusdt@trade", answer_pings=False)
        fake.stall()
        fake.tick(3)
        self.assertEqual(fake.server_shutdown(), 0)
        self.clock.advance(200.0)  # ten ping intervals, three pong deadlines
        self.assertEqual(len(fake.connections), 1)
        fake.resume()
        self.assertEqual(fake.server_shutdown(), 1)  # the first frame since the stall
        await fake.wait_for(lambda: client.messages)
        self.assertEqual(([m["e"] for m in client.json()], client.pings), (["serverShutdown"], []))
        fake.tick()
        self.clock.advance(20.0)
        await fake.wait_for(lambda: len(client.messages) >= 2 and client.pings)
        self.clock.advance(60.0)
        await client.lost
        self.assertEqual(len(kinds(fake, "pong-timeout")), 1)

    @asynchronous
    async def test_garbage(self) -> None:
        """send_garbage sends a non-JSON text frame, or a binary frame, to every connection."""
        fake = await self.start()
        client = await self.open("/ws")
        self.assertEqual(fake.send_garbage(), 1)
        self.assertEqual(fake.send_garbage(binary=True), 1)
        await fake.wait_for(lambda: len(client.messages) == 2)
        (text, is_binary), (data, binary) = client.messages
        self.assertEqual((text, is_binary, binary), (b"\x00not json{", False, True))
        self.assertEqual(len(data), 16)

    @asynchronous
    async def test_slow_reader(self) -> None:
        """A slow-reading server answers nothing until it reads again."""
        fake = await self.start()
        client = await self.open("/ws")
        fake.slow_reader()
        client.request("LIST_SUBSCRIPTIONS")
        await self.after(0.2)
        self.assertEqual(client.messages, [])
        fake.slow_reader(False)
        self.assertEqual(await self.reply(client), {"result": [], "id": 1})

    @asynchronous
    async def test_connection_close(self) -> None:
        """connection.close sends the given code and reason; the log says who closed."""
        fake = await self.start()
        client = await self.open("/ws")
        fake.connections[0].close(4000, "bye")
        await client.lost
        self.assertEqual((client.close_code, client.close_reason), (4000, "bye"))
        (close,) = kinds(fake, "close")
        self.assertEqual(
            close.detail, {"code": 4000, "reason": "bye", "by": "server", "clean": True}
        )
        self.assertEqual([e.kind for e in fake.log], ["connect", "close"])


class RestTests(FakeTestCase):
    async def get(self, path: str, agent: Any = None) -> tuple[int, Any]:
        pool = HTTPConnectionPool(reactor)
        self.addCleanup(pool.closeCachedConnections)
        client = treq.client.HTTPClient(agent or Agent(reactor, pool=pool))
        response = await client.get(self.fake.endpoints.rest_url + path)
        return response.code, loads(await response.content())

    @asynchronous
    async def test_depth_snapshot_then_diffs_reproduce_the_book(self) -> None:
        """A REST snapshot plus every later diff with u > lastUpdateId equals fake.book()."""
        fake = await self.start()
        client = await self.open("/ws/btcusdt@depth@100ms")
        fake.tick(3)
        status, snapshot = await self.get("/api/v3/depth?symbol=BTCUSDT&limit=5000")
        self.assertEqual(status, 200)
        fake.tick(30)
        last_update_id, bids, asks = fake.book("BTCUSDT")
        await fake.wait_for(lambda: client.json() and client.json()[-1]["u"] == last_update_id)
        book = {"bids": dict(snapshot["bids"]), "asks": dict(snapshot["asks"])}
        later = [d for d in client.json() if d["u"] > snapshot["lastUpdateId"]]
        self.assertEqual(later[0]["U"], snapshot["lastUpdateId"] + 1)
        for diff in later:
            apply_diff(book, diff)
        self.assertEqual((book["bids"], book["asks"]), (bids, asks))
        prices = [float(price) for price, _ in snapshot["bids"]]
        self.assertEqual(prices, sorted(prices, reverse=True))

    @asynchronous
    async def test_depth_limit_and_errors(self) -> None:
        """limit trims each side; an unknown symbol is -1121; other paths are JSON 404s."""
        await self.start()
        status, snapshot = await self.get("/api/v3/depth?symbol=ETHUSDT&limit=5")
        self.assertEqual((status, len(snapshot["bids"]), len(snapshot["asks"])), (200, 5, 5))
        self.assertEqual(
            await self.get("/api/v3/depth?symbol=NOPE"),
            (400, {"code": -1121, "msg": "Invalid symbol."}),
        )
        status, error = await self.get("/api/v3/nothing")
        self.assertEqual((status, error["code"]), (404, -1))

    @asynchronous
    async def test_ping_and_time(self) -> None:
        """/api/v3/ping is {} and /api/v3/time the fake's clock in ms."""
        await self.start(clock=self.clock)
        self.assertEqual(await self.get("/api/v3/ping"), (200, {}))
        self.clock.advance(0.25)
        status, body = await self.get("/api/v3/time")
        self.assertEqual((status, body), (200, {"serverTime": round(self.clock.seconds() * 1000)}))


class TLSTests(FakeTestCase):
    options = {"event_interval": None, "tls": True}

    @asynchronous
    async def test_trusted_ca_connects(self) -> None:
        """A client trusting fake.trust_root completes wss:// and https:// requests."""
        fake = await self.start()
        self.assertTrue(fake.endpoints.stream_url.startswith("wss://127.0.0.1:"))
        client = await self.open("/ws/btcusdt@trade", trust_root=fake.trust_root)
        fake.tick()
        await fake.wait_for(lambda: client.messages)
        pool = HTTPConnectionPool(reactor)
        self.addCleanup(pool.closeCachedConnections)
        agent = Agent(reactor, BrowserLikePolicyForHTTPS(fake.trust_root), pool=pool)
        response = await agent.request(b"GET", (fake.endpoints.rest_url + "/api/v3/ping").encode())
        self.assertEqual(await treq.content(response), b"{}")

    @asynchronous
    async def test_other_ca_fails_the_handshake(self) -> None:
        """A client trusting another CA fails the TLS handshake; no connection registers."""
        fake = await self.start()
        other = make_test_certificate_authority()
        client = await self.connect("/ws/btcusdt@trade", trust_root=other.certificate)
        reason = await client.lost
        self.assertFalse(client.opened.called)
        self.assertIn("certificate verify failed", str(reason))
        self.assertEqual(fake.connections, [])


class FuturesRouteTests(FakeTestCase):
    @asynchronous
    async def test_routed_connections_are_served_and_logged(self) -> None:
        """/public, /market and /private before /ws or /stream serve the market; log the route."""
        fake = await self.start()
        public = await self.open("/public/ws/btcusdt@depth5")
        market = await self.open("/market/stream?streams=btcusdt@trade")
        private = await self.open("/private/ws")
        spot = await self.open("/ws/btcusdt@trade")
        self.assertEqual(
            [(c.route, c.combined) for c in fake.connections],
            [("public", False), ("market", True), ("private", False), (None, False)],
        )
        self.assertEqual(
            kinds(fake, "connect")[1].detail,
            {"path": "/market/stream?streams=btcusdt@trade", "route": "market"},
        )
        self.assertEqual(
            [e.detail["route"] for e in kinds(fake, "connect")],
            ["public", "market", "private", None],
        )
        private.request("SUBSCRIBE", ["btcusdt@markPrice"], 1)
        self.assertEqual(await self.reply(private), {"result": None, "id": 1})
        fake.tick()
        await fake.wait_for(lambda: public.messages and market.messages and spot.messages)
        await fake.wait_for(lambda: len(private.messages) >= 2)
        self.assertEqual(sorted(public.json()[0]), ["asks", "bids", "lastUpdateId"])
        self.assertEqual(market.json()[0]["data"], spot.json()[0])
        self.assertEqual(private.json()[1]["e"], "markPriceUpdate")

    @asynchronous
    async def test_unknown_route_is_refused(self) -> None:
        """Another prefix gets REST's 404; a route without /ws or /stream a logged 404."""
        fake = await self.start()
        for path in ["/futures/ws/btcusdt@trade", "/public/nope", "/market/public/ws"]:
            client = await self.connect(path)
            await client.lost
            self.assertFalse(client.opened.called, path)
        refused = [(e.detail["path"], e.detail["status"]) for e in kinds(fake, "refused")]
        self.assertEqual(refused, [("/public/nope", 404), ("/market/public/ws", 404)])
        self.assertEqual(fake.connections, [])

    @asynchronous
    async def test_mark_price_events(self) -> None:
        """@markPrice[@1s] and !markPrice@arr[@1s] send markPriceUpdate events on a route."""
        fake = await self.start(symbols=("btcusdt", "ethusdt"))
        names = ["btcusdt@markPrice", "ethusdt@markPrice@1s", "!markPrice@arr", "!markPrice@arr@1s"]
        client = await self.open("/market/stream?streams=" + "/".join(names))
        fake.tick()
        await fake.wait_for(lambda: len(client.messages) >= len(names))
        data = {m["stream"]: m["data"] for m in client.json()}
        self.assertEqual(sorted(data), sorted(names))
        event = data["btcusdt@markPrice"]
        self.assertEqual(sorted(event), sorted(["e", "E", "s", "p", "i", "P", "r", "T"]))
        self.assertEqual((event["e"], event["s"]), ("markPriceUpdate", "BTCUSDT"))
        for field in "piPr":
            self.assertRegex(event[field], r"^-?\d+\.\d{8}$")
        self.assertTrue(-0.0075 <= float(event["r"]) <= 0.0075, event)
        eight_hours = 8 * 3600 * 1000
        self.assertEqual(event["T"] % eight_hours, 0)
        self.assertTrue(0 < event["T"] - event["E"] <= eight_hours, event)
        self.assertEqual(data["ethusdt@markPrice@1s"]["s"], "ETHUSDT")
        for name in ["!markPrice@arr", "!markPrice@arr@1s"]:
            self.assertEqual([e["s"] for e in data[name]], ["BTCUSDT", "ETHUSDT"])
            self.assertEqual(data[name][0], event)

    @asynchronous
    async def test_futures_book_ticker_cycles_through_symbols(self) -> None:
        """Futures !bookTicker sends one symbol's best bid/ask per tick, round the symbols."""
        fake = await self.start(symbols=("btcusdt", "ethusdt", "bnbusdt"))
        client = await self.open("/public/ws/!bookTicker")
        fake.tick(4)
        await fake.wait_for(lambda: len(client.messages) >= 4)
        events = client.json()
        self.assertEqual([e["s"] for e in events], ["BTCUSDT", "ETHUSDT", "BNBUSDT", "BTCUSDT"])
        for event in events:
            self.assertEqual(sorted(event), sorted(["e", "u", "s", "b", "B", "a", "A", "T", "E"]))
            self.assertEqual(event["e"], "bookTicker")
            self.assertLess(float(event["b"]), float(event["a"]))
        _, bids, asks = fake.book("bnbusdt")
        self.assertEqual(events[2]["b"], max(bids, key=float))
        self.assertEqual(events[2]["a"], min(asks, key=float))

    @asynchronous
    async def test_futures_only_streams_stay_silent_on_spot_paths(self) -> None:
        """Spot !bookTicker and markPrice stay silent while a futures route gets them."""
        fake = await self.start()
        names = "!bookTicker/btcusdt@markPrice/!markPrice@arr"
        spot = await self.open("/stream?streams=" + names)
        futures = await self.open("/public/stream?streams=" + names)
        raw_spot = await self.open("/ws/!bookTicker")
        fake.tick(3)
        await fake.wait_for(lambda: len(futures.messages) >= 9)
        await self.settle(spot)
        await self.settle(raw_spot)
        self.assertEqual((spot.messages, raw_spot.messages), ([], []))
        self.assertEqual({m["stream"] for m in futures.json()}, set(names.split("/")))
