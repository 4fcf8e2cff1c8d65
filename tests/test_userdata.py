"""ListenKeyStream on a MemoryReactorClock: create, connect, keep alive, recreate, never leak."""

from __future__ import annotations

import attrs
from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from binance_twisted.accounts.streams import ListenKeyStream, listen_key_stream_url
from binance_twisted.endpoints import Endpoints
from binance_twisted.errors import BinanceAPIError
from binance_twisted.events import EventKind
from tests.support import Harness

ENDPOINTS = Endpoints.for_tld("com").replace(
    futures_stream_url="ws://127.0.0.1:9", coin_futures_stream_url="ws://127.0.0.1:9"
)
KEY_1 = "A" * 60
KEY_2 = "B" * 60
GONE = BinanceAPIError(
    400, -1125, "This listenKey does not exist.", request="PUT /fapi/v1/listenKey"
)


@attrs.define
class _Product:
    name: str


class ScriptedListenKeys:
    """ListenKeys whose answers the test gives: each call returns a Deferred to fire."""

    def __init__(self, product: str = "futures") -> None:
        self.product = _Product(product)
        self.calls: list[tuple[str, str | None, defer.Deferred]] = []

    def _call(self, name: str, key: str | None) -> defer.Deferred:
        d: defer.Deferred = defer.Deferred()
        self.calls.append((name, key, d))
        return d

    def start(self) -> defer.Deferred:
        return self._call("start", None)

    def keepalive(self, key: str) -> defer.Deferred:
        return self._call("keepalive", key)

    def named(self, name: str) -> list[tuple[str, str | None, defer.Deferred]]:
        return [c for c in self.calls if c[0] == name]


def streaming(keepalive_every: float = 1800.0):
    keys = ScriptedListenKeys()
    events: list[dict] = []
    errors: list[Exception] = []

    def make(clock, on_event):
        return ListenKeyStream(
            clock,
            ENDPOINTS,
            keys,  # type: ignore[arg-type]
            events.append,
            on_error=errors.append,
            keepalive_every=keepalive_every,
            on_connection_event=on_event,
        )

    harness = Harness(make=make)
    started = harness.connection.start()
    keys.named("start")[0][2].callback(KEY_1)
    proto = harness.open()
    return harness, keys, proto, events, errors, started


class ListenKeyStreamTests(SynchronousTestCase):
    def test_connects_with_the_key_and_delivers_events(self) -> None:
        """The key goes in the routed /private URL; events reach on_event; start() fires."""
        harness, _, proto, events, _, started = streaming()
        self.assertIs(self.successResultOf(started), harness.connection)
        self.assertEqual(
            harness.connection._factory.url, f"ws://127.0.0.1:9/private/ws?listenKey={KEY_1}"
        )
        harness.send(proto, {"e": "ORDER_TRADE_UPDATE", "E": 1, "o": {"s": "BTCUSDT"}})
        self.assertEqual(events, [{"e": "ORDER_TRADE_UPDATE", "E": 1, "o": {"s": "BTCUSDT"}}])

    def test_keepalive_every_user_timeout(self) -> None:
        """The key is PUT every keepalive_every seconds, and again after each success."""
        harness, keys, _, _, _, _ = streaming(keepalive_every=1800)
        harness.clock.advance(1799)
        self.assertEqual(keys.named("keepalive"), [])
        harness.clock.advance(1)
        (first,) = keys.named("keepalive")
        self.assertEqual(first[1], KEY_1)
        first[2].callback(None)
        harness.clock.advance(1800)
        self.assertEqual(len(keys.named("keepalive")), 2)

    def test_transient_keepalive_failures_are_retried_with_backoff(self) -> None:
        """Failed PUTs (not -1125) are reported, retried after 10 s then 20 s; success resets."""
        harness, keys, _, _, errors, _ = streaming()
        harness.clock.advance(1800)
        keys.named("keepalive")[0][2].errback(ConnectionError("reset"))
        harness.clock.advance(10)
        keys.named("keepalive")[1][2].errback(ConnectionError("reset"))
        harness.clock.advance(19)
        self.assertEqual(len(keys.named("keepalive")), 2)
        harness.clock.advance(1)
        keys.named("keepalive")[2][2].callback(None)
        self.assertEqual(len(errors), 2)
        harness.clock.advance(1799)
        self.assertEqual(len(keys.named("keepalive")), 3)
        harness.clock.advance(1)
        self.assertEqual(len(keys.named("keepalive")), 4)

    def test_unknown_key_recreates_it_and_moves_the_socket_without_a_gap(self) -> None:
        """-1125 on keepalive: a new key, a new socket for it, then the old socket is closed."""
        harness, keys, old, events, _, _ = streaming()
        harness.clock.advance(1800)
        keys.named("keepalive")[0][2].errback(GONE)
        keys.named("start")[1][2].callback(KEY_2)
        factory = harness.connection._rotation.factory
        self.assertEqual(factory.url, f"ws://127.0.0.1:9/private/ws?listenKey={KEY_2}")
        harness.send(old, {"e": "ACCOUNT_UPDATE", "n": 1})
        new = harness.open(factory)
        self.assertIn({"close": 1000}, old.sent)
        self.assertIs(harness.connection._session, new)
        harness.send(new, {"e": "ACCOUNT_UPDATE", "n": 2})
        self.assertEqual([e["n"] for e in events], [1, 2])
        self.assertEqual(harness.kinds()[-1], EventKind.ROTATED)

    def test_listen_key_expired_event_recreates_the_key(self) -> None:
        """listenKeyExpired is not passed on: a key is created and the socket follows it."""
        harness, keys, old, events, _, _ = streaming()
        harness.send(old, {"e": "listenKeyExpired", "E": 1, "listenKey": KEY_1})
        self.assertEqual(len(keys.named("start")), 2)
        keys.named("start")[1][2].callback(KEY_2)
        self.assertIsNotNone(harness.connection._rotation)
        self.assertEqual(events, [])

    def test_same_key_back_needs_no_new_socket(self) -> None:
        """If Binance hands back the same key, the socket stays as it is."""
        harness, keys, old, _, _, _ = streaming()
        harness.send(old, {"e": "listenKeyExpired", "E": 1, "listenKey": KEY_1})
        keys.named("start")[1][2].callback(KEY_1)
        self.assertIsNone(harness.connection._rotation)

    def test_the_key_is_never_shown(self) -> None:
        """Neither repr, stats nor connection events contain the listen key."""
        harness, _, proto, _, _, _ = streaming()
        harness.lose(proto)
        shown = [repr(harness.connection), str(harness.connection.stats.as_dict())]
        shown += [repr(event) for event in harness.events]
        self.assertFalse([text for text in shown if KEY_1 in text])

    def test_urls_per_product(self) -> None:
        """Each product's events live where Binance serves them; missing hosts are refused."""
        com = Endpoints.for_tld("com")
        self.assertEqual(
            listen_key_stream_url(com, "futures", "k"),
            "wss://fstream.binance.com/private/ws?listenKey=k",
        )
        self.assertEqual(
            listen_key_stream_url(com, "portfolio_margin", "k"), "wss://fstream.binance.com/pm/ws/k"
        )
        self.assertEqual(
            listen_key_stream_url(com, "margin_risk", "k"), "wss://margin-stream.binance.com/ws/k"
        )
        with self.assertRaisesRegex(ValueError, "binance.us has no stream endpoint for futures"):
            listen_key_stream_url(Endpoints.for_tld("us"), "futures", "k")
        with self.assertRaisesRegex(ValueError, "product must be one of"):
            listen_key_stream_url(com, "options", "k")


class KeepaliveServiceTests(SynchronousTestCase):
    """The keepalive timer is a twisted.application service with an injected clock."""

    def test_it_runs_only_while_its_parent_service_runs(self) -> None:
        """Started by a MultiService, it extends every interval; stopped, it calls nothing."""
        from twisted.application.service import IService, MultiService
        from twisted.internet.task import Clock

        from binance_twisted.accounts import KeepaliveService

        clock = Clock()
        calls: list[float] = []

        def extend() -> defer.Deferred:
            calls.append(clock.seconds())
            return defer.succeed(None)

        keepalive = KeepaliveService(clock, 60.0, extend, lambda error, delay: None)
        self.assertTrue(IService.providedBy(keepalive))
        parent = MultiService()
        keepalive.setServiceParent(parent)
        clock.advance(120)
        self.assertEqual(calls, [])
        parent.startService()
        clock.pump([60, 60, 30])
        self.assertEqual(calls, [60.0 + 120, 120.0 + 120])
        parent.stopService()
        clock.advance(600)
        self.assertEqual(len(calls), 2)
        self.assertEqual(clock.getDelayedCalls(), [])
