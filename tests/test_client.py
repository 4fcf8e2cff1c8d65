"""StreamClient planning, validation and fan-out, on a MemoryReactorClock (no sockets)."""

from __future__ import annotations

from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from binance_twisted import Endpoints, StreamClient
from binance_twisted.errors import ClientClosedError
from binance_twisted.events import EventKind
from binance_twisted.streams import RetiredStreamError

ENDPOINTS = Endpoints.for_tld("com").replace(stream_url="ws://127.0.0.1:9")


def names(count: int, kind: str = "trade") -> list[str]:
    return [f"s{i:04d}usdt@{kind}" for i in range(count)]


class PlanningTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.reactor = MemoryReactorClock()
        self.client = StreamClient(self.reactor, ENDPOINTS)

    def test_streams_beyond_the_cap_open_a_second_connection(self) -> None:
        """2,000 streams are split 1,024 + 976 over two connections."""
        self.client.subscribe(names(2000), lambda s, d: None)
        stats = self.client.stats()
        self.assertEqual(sorted(stats), ["spot-1", "spot-2"])
        self.assertEqual([stats[n]["streams"] for n in sorted(stats)], [1024, 976])
        self.assertEqual(len(self.reactor.tcpClients), 2)

    def test_connection_of_names_the_carrier_of_each_stream(self) -> None:
        """connection_of(stream) says which connection carries it (None if none does)."""
        first, second = names(1500)[:1024], names(1500)[1024:]
        self.client.subscribe(first + second, lambda s, d: None)
        self.assertEqual(self.client.connection_of(first[0]), "spot-1")
        self.assertEqual(self.client.connection_of(second[-1]), "spot-2")
        self.assertIsNone(self.client.connection_of("ethusdt@kline_1m"))

    def test_later_subscriptions_fill_existing_connections_first(self) -> None:
        """A second subscribe goes to the connection with room before opening another."""
        self.client.subscribe(names(1000), lambda s, d: None)
        self.client.subscribe(names(50, "aggTrade"), lambda s, d: None)
        stats = self.client.stats()
        self.assertEqual([stats[n]["streams"] for n in sorted(stats)], [1024, 26])

    def test_no_callback_runs_once_close_or_unsubscribe_was_called(self) -> None:
        """close() and unsubscribe() silence their callbacks at once, before the socket goes
        (frames already read still arrive while the close handshake runs)."""
        got: list[str] = []
        d = self.client.subscribe(["btcusdt@trade", "ethusdt@trade"], lambda s, _: got.append(s))
        (connection,) = self.client._connections
        other = self.client.subscribe(["bnbusdt@trade"], lambda s, _: got.append(s))
        connection.dispatch("btcusdt@trade", {}, {}, b"")
        subscription = connection.routes["btcusdt@trade"][0][2]
        subscription.unsubscribe()
        connection.dispatch("btcusdt@trade", {}, {}, b"")
        self.client.close()
        connection.dispatch("bnbusdt@trade", {}, {}, b"")
        self.assertEqual(got, ["btcusdt@trade"])
        self.failureResultOf(d, ClientClosedError)
        self.failureResultOf(other, ClientClosedError)

    def test_a_shared_stream_is_carried_once_and_kept_while_used(self) -> None:
        """Two subscriptions to one stream share it; it is dropped only when both let go."""
        first = []
        second = []
        self.client.subscribe(["btcusdt@trade"], lambda s, d: first.append(d))
        self.client.subscribe(["BTCUSDT@trade"], lambda s, d: second.append(d))
        (connection,) = self.client._connections
        self.assertEqual(list(connection.streams), ["btcusdt@trade"])
        connection.dispatch("btcusdt@trade", {"t": 1}, {}, b"")
        self.assertEqual((first, second), ([{"t": 1}], [{"t": 1}]))

    def test_bad_names_fail_before_any_io(self) -> None:
        """Invalid and retired names raise here, naming the stream; nothing is dialled."""
        with self.assertRaisesRegex(ValueError, "btcusdt@foo"):
            self.client.subscribe(["btcusdt@trade", "btcusdt@foo"], lambda s, d: None)
        with self.assertRaisesRegex(RetiredStreamError, "2026-03-26"):
            self.client.subscribe(["!ticker@arr"], lambda s, d: None)
        with self.assertRaises(TypeError):
            self.client.subscribe([b"btcusdt@trade"], lambda s, d: None)
        with self.assertRaisesRegex(TypeError, "on_message"):
            self.client.subscribe(["btcusdt@trade"], None)
        with self.assertRaisesRegex(ValueError, "at least one"):
            self.client.subscribe([], lambda s, d: None)
        with self.assertRaisesRegex(ValueError, "envelope=True and raw=True"):
            self.client.subscribe(["btcusdt@trade"], print, envelope=True, raw=True)
        self.assertEqual(self.reactor.tcpClients, [])

    def test_validate_none_accepts_futures_names(self) -> None:
        """validate=None lets any well-formed name through (e.g. futures markPrice)."""
        client = StreamClient(self.reactor, ENDPOINTS, validate=None)
        client.subscribe(["btcusdt@markPrice@1s"], lambda s, d: None)
        self.assertEqual(client.stats()["spot-1"]["streams"], 1)
        with self.assertRaisesRegex(ValueError, "spaces"):
            client.subscribe(["btc usdt@trade"], lambda s, d: None)

    def test_bad_stream_url_is_refused(self) -> None:
        """A stream_url that is not ws:// or wss:// fails at construction."""
        with self.assertRaisesRegex(ValueError, "stream_url"):
            StreamClient(self.reactor, ENDPOINTS, stream_url="https://stream.binance.com")

    def test_events_reach_only_subscriptions_on_that_connection(self) -> None:
        """on_event receives the events of the connections carrying its streams."""
        seen_a, seen_b = [], []
        self.client.subscribe(names(1024), lambda s, d: None, seen_a.append)
        self.client.subscribe(["btcusdt@trade"], lambda s, d: None, seen_b.append)
        first, _second = self.client._connections
        first._emit(EventKind.STALLED, reason="test")
        self.assertEqual([e.kind for e in seen_a], [EventKind.STALLED])
        self.assertEqual(seen_b, [])

    def test_close_deactivates_subscriptions(self) -> None:
        """After close(), handles refuse new work and subscribe raises."""
        d = self.client.subscribe(["btcusdt@trade"], lambda s, d: None)
        self.client.close()
        self.failureResultOf(d, ClientClosedError)
        with self.assertRaises(ClientClosedError):
            self.client.subscribe(["btcusdt@trade"], lambda s, d: None)
