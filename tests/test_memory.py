"""binance_twisted.testing.memory: real clients against the fake's real server, in memory.

No test here opens a socket or waits for real time: everything runs on the in-memory
reactor's clock, and each test checks that the global reactor was left exactly as found.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from twisted.internet import defer
from twisted.internet.error import ConnectionAborted, ConnectionLost, ConnectionRefusedError
from twisted.internet.protocol import ClientFactory, Factory, Protocol
from twisted.trial.unittest import SynchronousTestCase

from binance_twisted import (
    ConnectionGaveUpError,
    ConnectionPolicy,
    DepthSynchroniser,
    EventKind,
    ListenKeys,
    ListenKeyStream,
    RestClient,
    StreamClient,
    WebSocketAPI,
)
from binance_twisted.errors import BinanceAPIError, RequestTimeoutError
from binance_twisted.testing.memory import START_TIME, InMemoryReactor, MemoryBinance

API_KEY = "k" * 64
SECRET = "s" * 64


def levels(side: dict[str, str]) -> dict[Decimal, Decimal]:
    """A side of the fake's true book as the local book holds it (no empty levels)."""
    return {Decimal(p): Decimal(q) for p, q in side.items() if Decimal(q) != 0}


def log_of(mem: MemoryBinance, kind: str) -> list[Any]:
    """The fake's log entries of one kind."""
    return [entry for entry in mem.fake.log if entry.kind == kind]


class MemoryTestCase(SynchronousTestCase):
    """A MemoryBinance per test, and a check that the real reactor was never touched."""

    def setUp(self) -> None:
        from twisted.internet import reactor

        self.global_reactor: Any = reactor
        before = self.reactor_state()
        self.addCleanup(lambda: self.assertEqual(self.reactor_state(), before))

    def reactor_state(self) -> tuple[list[Any], list[Any], list[Any]]:
        """What the real reactor has pending: timers, readers, writers."""
        r = self.global_reactor
        return (list(r.getDelayedCalls()), list(r.getReaders()), list(r.getWriters()))

    def memory(self, **options: Any) -> MemoryBinance:
        mem = MemoryBinance(**options)
        self.addCleanup(mem.stop)
        return mem


class StreamTests(MemoryTestCase):
    def test_subscribe_receive_and_close(self) -> None:
        """Subscribe, a second of ticks brings 20 gapless diffs and trades, close is clean."""
        mem = self.memory(event_interval=0.05)
        client = StreamClient(mem.reactor, mem.endpoints)
        seen: list[tuple[str, Any]] = []
        streams = ["btcusdt@trade", "btcusdt@depth@100ms"]
        mem.result_of(client.subscribe(streams, lambda s, d: seen.append((s, d))))
        mem.advance(1.0)
        diffs = [d for s, d in seen if s == "btcusdt@depth@100ms"]
        self.assertEqual(len(diffs), 20)
        for before, after in itertools.pairwise(diffs):
            self.assertEqual(after["U"], before["u"] + 1)
        trades = [d["t"] for s, d in seen if s == "btcusdt@trade"]
        self.assertEqual(trades, list(range(trades[0], trades[0] + len(trades))))
        self.assertEqual(diffs[-1]["E"], int((START_TIME + 1.0) * 1000))
        mem.result_of(client.close())
        (close,) = log_of(mem, "close")
        self.assertEqual(
            close.detail, {"code": 1000, "reason": None, "by": "client", "clean": True}
        )
        self.assertEqual(mem.fake.connections, [])

    def test_binance_cadence_batches_what_binance_batches(self) -> None:
        """cadence="binance": ten seconds bring every trade, but a 1m kline every 2 s, a
        ticker and a 1 s kline every second, partial depth at its speed; "tick" sends all
        at every tick."""
        names = [
            "btcusdt@trade",
            "btcusdt@kline_1m",
            "btcusdt@kline_1s",
            "btcusdt@ticker",
            "btcusdt@depth5",
            "btcusdt@depth5@100ms",
        ]
        counts = {}
        for cadence in ("binance", "tick"):
            mem = self.memory(event_interval=0.05, cadence=cadence)
            client = StreamClient(mem.reactor, mem.endpoints)
            moments: dict[str, set[float]] = {name: set() for name in names}

            def seen(stream: str, data: Any, m: Any = moments, clock: Any = mem.reactor) -> None:
                m[stream].add(clock.seconds())

            mem.result_of(client.subscribe(names, seen))
            mem.advance(10.0)
            counts[cadence] = [len(moments[name]) for name in names]  # instants it went out
            mem.result_of(client.close())
        trades, *batched = counts["binance"]
        self.assertGreaterEqual(trades, 190)
        for count, expected in zip(batched, [5, 10, 10, 10, 100], strict=True):
            self.assertIn(count, (expected, expected + 1))
        self.assertEqual(counts["tick"], [counts["tick"][0]] * len(names))
        with self.assertRaisesRegex(ValueError, "cadence must be one of tick, binance"):
            self.memory(cadence="real")

    def test_a_kline_batched_at_binances_cadence_still_closes_with_all_its_trades(self) -> None:
        """Between its 2 s updates a kline still absorbs every trade, and its final
        message (x: true) goes out when it closes, not at the next update."""
        mem = self.memory(event_interval=0.05, cadence="binance")
        client = StreamClient(mem.reactor, mem.endpoints)
        klines: list[dict] = []
        trades: list[dict] = []
        streams = ["btcusdt@kline_1m", "btcusdt@trade"]
        route = {"btcusdt@kline_1m": klines, "btcusdt@trade": trades}
        mem.result_of(client.subscribe(streams, lambda s, d: route[s].append(d)))
        mem.advance(125.0)
        closed = [k["k"] for k in klines if k["k"]["x"]]
        self.assertEqual(len(closed), 2)
        last = closed[-1]
        inside = [t for t in trades if last["t"] <= t["T"] <= last["T"]]
        self.assertEqual(int(last["n"]), len(inside))  # every trade of its minute counted
        mem.result_of(client.close())

    def test_strict_symbols_know_only_their_symbols(self) -> None:
        """strict_symbols=True: an unlisted symbol's stream stays silent and REST answers
        -1121 "Invalid symbol." as Binance does (by default a subscription invents it)."""
        mem = self.memory(event_interval=0.05, symbols=["btcusdt"], strict_symbols=True)
        client = StreamClient(mem.reactor, mem.endpoints)
        seen: list[str] = []
        both = ["btcusdt@trade", "xyzusdt@trade"]
        mem.result_of(client.subscribe(both, lambda s, d: seen.append(s)))
        mem.advance(1.0)
        self.assertEqual(set(seen), {"btcusdt@trade"})
        rest = RestClient(mem.reactor, mem.endpoints.rest_url, http=mem.http)
        with self.assertRaises(BinanceAPIError) as refused:
            mem.result_of(rest.request("GET", "/api/v3/depth", {"symbol": "XYZUSDT"}))
        error = refused.exception
        self.assertEqual((error.status, error.code, error.msg), (400, -1121, "Invalid symbol."))
        book = mem.result_of(rest.request("GET", "/api/v3/depth", {"symbol": "BTCUSDT"}))
        self.assertGreater(book["lastUpdateId"], 0)
        mem.result_of(client.close())

    def test_a_drop_is_followed_by_a_reconnect_on_the_clock(self) -> None:
        """drop_all: the client is back after its backoff delay, on the in-memory clock."""
        mem = self.memory(event_interval=None)
        events: list[Any] = []
        policy = ConnectionPolicy(initial_delay=2.0)
        client = StreamClient(mem.reactor, mem.endpoints, policy=policy)
        mem.result_of(client.subscribe(["btcusdt@trade"], lambda s, d: None, events.append))
        mem.fake.drop_all()
        mem.flush()
        kinds = [e.kind for e in events]
        self.assertEqual(
            kinds, [EventKind.CONNECTED, EventKind.DISCONNECTED, EventKind.RECONNECTING]
        )
        delay = events[-1].delay
        mem.advance(delay * 0.99)
        self.assertEqual(len(log_of(mem, "connect")), 1)
        mem.advance(delay * 0.02)
        self.assertEqual([e.kind for e in events][-1], EventKind.RECONNECTED)
        self.assertEqual(len(mem.fake.connections), 1)

    def test_hours_of_pings_and_rotations_lose_nothing(self) -> None:
        """Two hours in memory: every ping answered, hourly rotations keep trade ids gapless."""
        mem = self.memory(event_interval=30.0, lifetime=5400.0)
        events: list[Any] = []
        trades: list[int] = []
        client = StreamClient(
            mem.reactor, mem.endpoints, policy=ConnectionPolicy(rotate_after=3600)
        )

        def on_trade(stream: str, data: Any) -> None:
            trades.append(data["t"])

        mem.result_of(client.subscribe(["btcusdt@trade"], on_trade, events.append))
        mem.advance(2 * 3600.0)
        self.assertEqual(log_of(mem, "pong-timeout"), [])
        self.assertGreaterEqual(len(log_of(mem, "pong")), 2 * 3600 // 20 - 2)
        self.assertEqual(log_of(mem, "lifetime"), [])
        self.assertEqual([e.kind for e in events].count(EventKind.ROTATED), 2)
        self.assertNotIn(EventKind.DISCONNECTED, [e.kind for e in events])
        self.assertEqual(trades, list(range(trades[0], trades[0] + len(trades))))
        mem.result_of(client.close())

    def test_nothing_listening_is_a_refused_connection(self) -> None:
        """After stop() the port is gone: the client's attempts are refused, then it gives up."""
        mem = self.memory()
        mem.stop()
        policy = ConnectionPolicy(initial_delay=0.5, max_retries=1)
        client = StreamClient(mem.reactor, mem.endpoints, policy=policy)
        d = client.subscribe(["btcusdt@trade"], lambda s, d: None)
        error = self.assertRaises(ConnectionGaveUpError, mem.result_of, d)
        self.assertIn("refused", str(error).lower())


class WebSocketApiTests(MemoryTestCase):
    def test_requests_are_answered_with_the_clock_as_server_time(self) -> None:
        """ws_get_time answers with the in-memory clock; a delayed answer waits for it."""
        mem = self.memory(event_interval=None)
        api = WebSocketAPI(mem.reactor, mem.endpoints)
        self.assertEqual(mem.result_of(api.ws_get_time()), {"serverTime": START_TIME * 1000})
        mem.fake.wsapi_fault("ping", delay=5.0)
        slow = api.ws_ping()
        mem.advance(4.9)
        self.assertNoResult(slow)
        mem.advance(0.1)
        self.assertEqual(self.successResultOf(slow), {})
        mem.result_of(api.close())

    def test_a_request_times_out_on_the_clock(self) -> None:
        """The client's request_timeout runs on the same clock: the slow reply is too late."""
        mem = self.memory(event_interval=None)
        api = WebSocketAPI(mem.reactor, mem.endpoints, request_timeout=3.0)
        mem.result_of(api.ws_ping())
        mem.fake.wsapi_fault("time", delay=10.0)
        late = api.ws_get_time()
        mem.advance(3.0)
        self.failureResultOf(late, RequestTimeoutError)
        self.assertEqual(mem.result_of(api.ws_ping()), {})
        mem.result_of(api.close())

    def test_signed_requests_use_the_clock_for_timestamps(self) -> None:
        """A signed user-data subscription is accepted and its events arrive."""
        mem = self.memory(event_interval=None)
        account = mem.fake.add_account(API_KEY, secret=SECRET)
        api = WebSocketAPI(
            mem.reactor, mem.endpoints, api_key=API_KEY, private_key_or_secret=SECRET
        )
        events: list[Any] = []
        mem.result_of(api.subscribe_user_data(events.append))
        account.emit("spot", account.balance_update())
        mem.flush()
        self.assertEqual([e["e"] for e in events], ["balanceUpdate"])
        self.assertEqual(events[0]["E"], START_TIME * 1000)
        mem.result_of(api.close())


class ListenKeyTests(MemoryTestCase):
    def stream(self, mem: MemoryBinance, events: list[Any]) -> ListenKeyStream:
        rest = RestClient(
            mem.reactor, mem.endpoints.futures_rest_url, api_key=API_KEY, http=mem.http
        )
        stream = ListenKeyStream(
            mem.reactor, mem.endpoints, ListenKeys(rest, "futures"), events.append
        )
        mem.result_of(stream.start())
        return stream

    def test_key_over_rest_events_over_the_stream_and_keepalives(self) -> None:
        """POST over StubTreq, events on /private/ws, a PUT every 30 min keeps the key alive."""
        mem = self.memory(event_interval=None)
        account = mem.fake.add_account(API_KEY, secret=SECRET)
        events: list[Any] = []
        stream = self.stream(mem, events)
        key = account.listen_key("futures")
        account.emit("futures", account.order_trade_update(X="FILLED"))
        mem.flush()
        self.assertEqual([e["o"]["X"] for e in events], ["FILLED"])
        mem.advance(3 * 3600.0)
        puts = [e for e in log_of(mem, "http") if e.detail["method"] == "PUT"]
        self.assertEqual(len(puts), 6)
        self.assertEqual(account.listen_key("futures"), key)
        self.assertEqual(log_of(mem, "listen-key-expired"), [])
        mem.result_of(stream.close())

    def test_an_expired_key_is_replaced_and_events_flow_again(self) -> None:
        """The key's validity runs out on the clock: a new key, a new socket, events again."""
        mem = self.memory(event_interval=None, listen_key_validity=600.0)
        account = mem.fake.add_account(API_KEY, secret=SECRET)
        events: list[Any] = []
        stream = self.stream(mem, events)
        old_key = account.listen_key("futures")
        mem.advance(600.0)
        self.assertEqual(len(log_of(mem, "listen-key-expired")), 1)
        new_key = account.listen_key("futures")
        self.assertNotIn(new_key, (None, old_key))
        self.assertEqual(account.emit("futures", account.order_trade_update()), 1)
        mem.flush()
        self.assertEqual([e["e"] for e in events], ["ORDER_TRADE_UPDATE"])
        mem.result_of(stream.close())


class DepthTests(MemoryTestCase):
    def synchronised(self, mem: MemoryBinance) -> DepthSynchroniser:
        client = StreamClient(mem.reactor, mem.endpoints)
        self.addCleanup(lambda: mem.result_of(client.close()))
        rest = RestClient(mem.reactor, mem.endpoints.rest_url, http=mem.http)
        sync = DepthSynchroniser(mem.reactor, client, rest, "BTCUSDT")
        self.addCleanup(lambda: mem.result_of(sync.stop()))
        mem.result_of(sync.start())
        return sync

    def assert_is_truth(self, mem: MemoryBinance, sync: DepthSynchroniser) -> None:
        last_update_id, bids, asks = mem.fake.book("btcusdt")
        self.assertEqual(sync.book.update_id, last_update_id)
        self.assertEqual(dict(sync.book.bids()), levels(bids))
        self.assertEqual(dict(sync.book.asks()), levels(asks))

    def test_the_book_syncs_and_follows_the_truth(self) -> None:
        """Snapshot over StubTreq plus buffered diffs: the local book is the true book."""
        mem = self.memory(event_interval=0.1)
        sync = self.synchronised(mem)
        self.assertEqual(sync.state, "synced")
        mem.advance(2.0)
        self.assert_is_truth(mem, sync)

    def test_a_gap_is_repaired_in_memory(self) -> None:
        """An injected gap: resync, and the book is the true book again."""
        mem = self.memory(event_interval=0.1)
        sync = self.synchronised(mem)
        mem.fake.inject_depth_gap("btcusdt")
        mem.advance_until(lambda: sync.gaps == 1 and sync.state == "synced")
        mem.advance(1.0)
        self.assert_is_truth(mem, sync)


class MemoryBinanceTests(MemoryTestCase):
    def test_the_clock_starts_at_start_time_and_endpoints_are_plain(self) -> None:
        """The clock starts at START_TIME; endpoints are ws:// and http:// on 127.0.0.1."""
        mem = self.memory(start_time=1000.0)
        self.assertEqual(mem.reactor.seconds(), 1000.0)
        self.assertIs(mem.fake.clock, mem.reactor)
        self.assertTrue(mem.endpoints.stream_url.startswith("ws://127.0.0.1:"))
        self.assertTrue(mem.endpoints.rest_url.startswith("http://127.0.0.1:"))

    def test_reactor_clock_and_tls_are_not_options(self) -> None:
        """reactor, clock and tls are MemoryBinance's own choice: a TypeError names them."""
        with self.assertRaisesRegex(TypeError, "clock, tls"):
            MemoryBinance(tls=True, clock=None)

    def test_advance_until_names_what_never_happened(self) -> None:
        """A predicate still false when the clock passes the timeout: TimeoutError naming it."""
        mem = self.memory(event_interval=None)
        error = self.assertRaises(
            TimeoutError, mem.advance_until, lambda: False, 30.0, "the moon to rise"
        )
        self.assertIn("the moon to rise", str(error))
        self.assertEqual(mem.reactor.seconds(), START_TIME + 30.0)

    def test_result_of_raises_the_failure(self) -> None:
        """result_of a failed Deferred raises its exception."""
        mem = self.memory()
        self.assertRaises(ZeroDivisionError, mem.result_of, defer.fail(ZeroDivisionError()))


class InMemoryReactorTests(SynchronousTestCase):
    def connect(self, reactor: InMemoryReactor, port: int) -> tuple[ClientFactory, list[Any]]:
        outcomes: list[Any] = []

        class Recording(ClientFactory):
            protocol = Protocol

            def clientConnectionFailed(self, connector: Any, reason: Any) -> None:
                outcomes.append(reason.value)

            def clientConnectionLost(self, connector: Any, reason: Any) -> None:
                outcomes.append(reason.value)

        factory = Recording()
        reactor.connectTCP("127.0.0.1", port, factory)
        return factory, outcomes

    def test_a_port_with_nobody_listening_refuses(self) -> None:
        """connectTCP to a port nobody listens on: the factory hears ConnectionRefusedError."""
        reactor = InMemoryReactor()
        _, outcomes = self.connect(reactor, 1234)
        self.assertEqual(outcomes, [])  # not before the reactor runs, as on a real one
        reactor.flush()
        self.assertIsInstance(outcomes[0], ConnectionRefusedError)

    def test_bytes_flow_and_a_paused_reader_holds_them(self) -> None:
        """Bytes cross on flush; a paused reader gets them on resuming; an abort ends both."""
        reactor = InMemoryReactor()
        servers: list[Any] = []

        class Server(Protocol):
            def connectionMade(self) -> None:
                self.received: list[bytes] = []
                self.lost: list[Any] = []
                servers.append(self)

            def dataReceived(self, data: bytes) -> None:
                self.received.append(data)

            def connectionLost(self, reason: Any) -> None:
                self.lost.append(reason.value)

        port = reactor.listenTCP(0, Factory.forProtocol(Server), interface="127.0.0.1")
        _, outcomes = self.connect(reactor, port.getHost().port)
        reactor.flush()
        ((server,), (connector,)) = servers, reactor.connectors
        server.transport.pauseProducing()
        connector.transport.write(b"hello")
        reactor.flush()
        self.assertEqual(server.received, [])
        server.transport.resumeProducing()
        reactor.flush()
        self.assertEqual(server.received, [b"hello"])
        connector.transport.abortConnection()
        reactor.flush()
        self.assertIsInstance(outcomes[0], ConnectionAborted)
        self.assertIsInstance(server.lost[0], ConnectionLost)
