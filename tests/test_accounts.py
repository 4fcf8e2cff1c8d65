"""Account streams end to end against FakeBinance (real signatures, real sockets on 127.0.0.1).

Spot over the WebSocket API (HMAC, RSA, Ed25519 logon), margin over a listenToken, futures
over a listenKey that expires and is recreated, the legacy managers on top, the refusals
Binance gives (bad key, bad signature, clock skew, 410) and that no secret reaches the logs.
"""

from __future__ import annotations

import threading
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from twisted.internet import reactor, threads
from twisted.logger import formatEvent, globalLogPublisher
from twisted.trial.unittest import TestCase

from binance_twisted import BinanceSocketManager, ThreadedWebsocketManager
from binance_twisted.accounts.listenkeys import ListenKeys
from binance_twisted.accounts.margin import subscribe_margin
from binance_twisted.accounts.streams import ListenKeyStream
from binance_twisted.errors import BinanceAPIError, EndpointRemovedError, MissingCredentialsError
from binance_twisted.rest import RestClient
from binance_twisted.signing import load_signer
from binance_twisted.testing import FakeBinance
from binance_twisted.wsapi.connection import WebSocketAPI
from tests.support import asynchronous

API_KEY = "k" * 64
SECRET = "s" * 64


def pem_pair(kind: str) -> tuple[str, bytes]:
    """(private PEM text, public PEM bytes) of a fresh RSA or Ed25519 key."""
    key = (
        rsa.generate_private_key(65537, 2048)
        if kind == "rsa"
        else ed25519.Ed25519PrivateKey.generate()
    )
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


class Collected:
    """Thread-safe list of what a callback received."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._lock = threading.Lock()

    def __call__(self, item: Any) -> None:
        with self._lock:
            self.items.append(item)

    def kinds(self) -> list[Any]:
        return [i.get("e") if isinstance(i, dict) else i for i in self.items]


class AccountTestCase(TestCase):
    async def fake(self, **options: Any) -> FakeBinance:
        fake = FakeBinance(reactor, **{"event_interval": None, **options})
        await fake.start()
        self.addCleanup(fake.stop)
        return fake

    def api(self, fake: FakeBinance, key: str = API_KEY, secret: Any = SECRET) -> WebSocketAPI:
        api = WebSocketAPI(reactor, fake.endpoints, api_key=key, private_key_or_secret=secret)
        self.addCleanup(api.close)
        return api


class SpotTests(AccountTestCase):
    @asynchronous
    async def test_hmac_signature_subscription_receives_events(self) -> None:
        """userDataStream.subscribe.signature with an HMAC key delivers the account's events."""
        fake = await self.fake()
        account = fake.add_account(API_KEY, secret=SECRET)
        events = Collected()
        await self.api(fake).subscribe_user_data(events)
        account.emit("spot", account.execution_report(s="BTCUSDT"))
        account.emit("spot", account.balance_update())
        await fake.wait_for(lambda: len(events.items) == 2)
        self.assertEqual(events.kinds(), ["executionReport", "balanceUpdate"])

    @asynchronous
    async def test_rsa_and_ed25519_keys(self) -> None:
        """RSA signs subscribe.signature; Ed25519 can also log on and subscribe."""
        fake = await self.fake()
        rsa_private, rsa_public = pem_pair("rsa")
        ed_private, ed_public = pem_pair("ed25519")
        rsa_account = fake.add_account("r" * 64, rsa_public_key_pem=rsa_public)
        ed_account = fake.add_account("e" * 64, ed25519_public_key_pem=ed_public)
        rsa_events, ed_events = Collected(), Collected()
        await self.api(fake, "r" * 64, rsa_private).subscribe_user_data(rsa_events)
        await self.api(fake, "e" * 64, ed_private).subscribe_user_data(ed_events, logon=True)
        rsa_account.emit("spot", rsa_account.balance_update())
        ed_account.emit("spot", ed_account.balance_update())
        await fake.wait_for(lambda: rsa_events.items and ed_events.items)

    @asynchronous
    async def test_refusals_fail_the_subscribe_with_binance_codes(self) -> None:
        """Unknown key → -2015, wrong secret → -1022: the subscribe fails, no retry loop."""
        fake = await self.fake()
        fake.add_account(API_KEY, secret=SECRET)
        unknown = self.api(fake, key="u" * 64).subscribe_user_data(lambda e: None)
        self.assertEqual((await self.assertFailure(unknown, BinanceAPIError)).code, -2015)
        wrong = self.api(fake, secret="x" * 64).subscribe_user_data(lambda e: None)
        self.assertEqual((await self.assertFailure(wrong, BinanceAPIError)).code, -1022)
        attempts = [r for r in fake.requests() if "subscribe" in r.detail.get("method", "")]
        self.assertEqual(len(attempts), 2)

    @asynchronous
    async def test_clock_skew_is_resynced_once(self) -> None:
        """A server clock 20 s ahead: -1021, one `time` request, then the subscribe succeeds."""
        fake = await self.fake()
        fake.server_time_offset = 20_000
        account = fake.add_account(API_KEY, secret=SECRET)
        events = Collected()
        api = self.api(fake)
        await api.subscribe_user_data(events)
        self.assertGreater(api.time_offset, 15_000)
        account.emit("spot", account.balance_update())
        await fake.wait_for(lambda: events.items)

    @asynchronous
    async def test_resubscribed_after_a_drop_and_after_termination(self) -> None:
        """A dropped connection and a server-side termination both end in a new subscription."""
        fake = await self.fake()
        account = fake.add_account(API_KEY, secret=SECRET)
        events = Collected()
        await self.api(fake).subscribe_user_data(events)
        fake.drop_all()
        await fake.wait_for(lambda: account.emit("spot", account.balance_update(delta="1")) > 0)
        fake.terminate_subscriptions()
        await fake.wait_for(lambda: account.emit("spot", account.balance_update(delta="2")) > 0)
        await fake.wait_for(lambda: len(events.items) >= 2)


class MarginAndFuturesTests(AccountTestCase):
    @asynchronous
    async def test_margin_and_isolated_margin_over_listen_tokens(self) -> None:
        """A listenToken from /sapi/v1/userListenToken subscribes cross and isolated margin."""
        fake = await self.fake()
        account = fake.add_account(API_KEY, secret=SECRET)
        rest = RestClient(
            reactor, fake.endpoints.rest_url, api_key=API_KEY, signer=load_signer(SECRET)
        )
        api = self.api(fake)
        cross, isolated = Collected(), Collected()
        await subscribe_margin(api, rest, cross)
        await subscribe_margin(api, rest, isolated, symbol="BTCUSDT")
        account.emit("margin", account.balance_update())
        account.emit("isolated:BTCUSDT", account.balance_update(asset="BTC"))
        await fake.wait_for(lambda: cross.items and isolated.items)
        self.assertEqual(isolated.items[0]["a"], "BTC")

    @asynchronous
    async def test_futures_listen_key_survives_expiry_within_seconds(self) -> None:
        """Default user_timeout; the key expires: the next event still arrives within seconds."""
        fake = await self.fake()
        account = fake.add_account(API_KEY, secret=SECRET)
        keys = ListenKeys.for_endpoints(reactor, fake.endpoints, "futures", api_key=API_KEY)
        events = Collected()
        stream = ListenKeyStream(reactor, fake.endpoints, keys, events)
        self.addCleanup(stream.close)
        await stream.start()
        account.emit("futures", account.order_trade_update())
        await fake.wait_for(lambda: events.items)
        old_key = account.listen_key("futures")
        fake.expire_listen_key(old_key)
        await fake.wait_for(
            lambda: (
                account.listen_key("futures") not in (None, old_key)
                and account.emit("futures", account.order_trade_update()) > 0
            ),
            timeout=5,
        )
        await fake.wait_for(lambda: len(events.items) >= 2)
        self.assertNotIn("listenKeyExpired", events.kinds())

    @asynchronous
    async def test_removed_spot_listen_key_endpoint_is_410_and_not_retried(self) -> None:
        """POST /api/v3/userDataStream answers 410 Gone: EndpointRemovedError, one request."""
        fake = await self.fake()
        fake.add_account(API_KEY, secret=SECRET)
        rest = RestClient(reactor, fake.endpoints.rest_url, api_key=API_KEY)
        d = rest.request("POST", "/api/v3/userDataStream", security="API_KEY")
        error = await self.assertFailure(d, EndpointRemovedError)
        self.assertEqual(error.status, 410)


class LegacyAccountTests(AccountTestCase):
    @asynchronous
    async def test_legacy_user_and_margin_sockets_from_a_user_thread(self) -> None:
        """start_user_socket/start_margin_socket keep their callbacks and event dicts."""
        fake = await self.fake()
        account = fake.add_account(API_KEY, secret=SECRET)
        bm = BinanceSocketManager(
            None, api_key=API_KEY, api_secret=SECRET, endpoints=fake.endpoints
        )
        self.addCleanup(threads.deferToThread, bm.close)
        user, margin, isolated = Collected(), Collected(), Collected()

        def legacy() -> tuple:
            return (
                bm.start_user_socket(user),
                bm.start_margin_socket(margin),
                bm.start_isolated_margin_socket("btcusdt", isolated),
            )

        self.assertEqual(
            await threads.deferToThread(legacy), ("user", "margin", "isolated_margin:BTCUSDT")
        )
        await fake.wait_for(
            lambda: (
                account.emit("spot", account.balance_update()) > 0
                and account.emit("margin", account.balance_update()) > 0
                and account.emit("isolated:BTCUSDT", account.balance_update()) > 0
            )
        )
        await fake.wait_for(lambda: user.items and margin.items and isolated.items)
        self.assertEqual(user.items[0]["e"], "balanceUpdate")

    @asynchronous
    async def test_1x_futures_user_sockets(self) -> None:
        """1.x start_futures_user_socket and start_coin_futures_user_socket stream events."""
        fake = await self.fake()
        account = fake.add_account(API_KEY, secret=SECRET)
        twm = ThreadedWebsocketManager(API_KEY, SECRET, endpoints=fake.endpoints)
        self.addCleanup(threads.deferToThread, twm.stop)
        events, coin = Collected(), Collected()
        name = await threads.deferToThread(lambda: twm.start_futures_user_socket(callback=events))
        coin_name = await threads.deferToThread(lambda: twm.start_coin_futures_user_socket(coin))
        self.assertEqual((name, coin_name), ("futures_user", "coin_futures_user"))
        await fake.wait_for(
            lambda: (
                account.emit("futures", account.order_trade_update()) > 0
                and account.emit("coin_futures", account.order_trade_update()) > 0
            )
        )
        await fake.wait_for(lambda: events.items and coin.items)
        self.assertEqual(events.items[0]["e"], "ORDER_TRADE_UPDATE")

    @asynchronous
    async def test_legacy_errors_are_flat_dicts_and_missing_keys_fail_at_once(self) -> None:
        """A rejected key reaches the callback as {'e':'error',...}; no key raises at the call."""
        fake = await self.fake()
        bm = BinanceSocketManager(
            None, api_key="u" * 64, api_secret=SECRET, endpoints=fake.endpoints
        )
        self.addCleanup(threads.deferToThread, bm.close)
        received = Collected()
        await threads.deferToThread(lambda: bm.start_user_socket(received))
        await fake.wait_for(lambda: received.items)
        (error,) = received.items
        self.assertEqual(error["e"], "error")
        self.assertIn("-2015", error["m"])
        nobody = BinanceSocketManager(None, endpoints=fake.endpoints)
        with self.assertRaisesRegex(MissingCredentialsError, "api_key and api_secret"):
            nobody.start_user_socket(received)


class BinanceUsUserDataTests(AccountTestCase):
    @asynchronous
    async def test_legacy_user_socket_over_a_binance_us_listen_key(self) -> None:
        """user_data='listen_key': start_user_socket returns 'user' and events flow on /ws/<key>."""
        fake = await self.fake(us_listen_keys=True)
        account = fake.add_account(API_KEY, secret=SECRET)
        bm = BinanceSocketManager(
            None,
            api_key=API_KEY,
            api_secret=SECRET,
            endpoints=fake.endpoints,
            user_data="listen_key",
        )
        self.addCleanup(threads.deferToThread, bm.close)
        received = Collected()
        key = await threads.deferToThread(lambda: bm.start_user_socket(received))
        self.assertEqual(key, "user")
        report = account.execution_report(s="BNBUSDT", X="NEW")
        await fake.wait_for(lambda: account.emit("spot", report) > 0)
        await fake.wait_for(lambda: received.items)
        self.assertEqual(received.items[0], report)
        paths = [c.path for c in fake.connections]
        self.assertTrue(any(p.startswith("/ws/") for p in paths), paths)
        self.assertFalse(any("ws-api" in p for p in paths), paths)

    def test_the_mechanism_follows_the_venue_unless_chosen(self) -> None:
        """Binance.US defaults to listenKeys, binance.com to the WebSocket API; checked up front."""
        from binance_twisted import Endpoints

        def kind(tld: str, **options: Any) -> str:
            bm = BinanceSocketManager(None, endpoints=Endpoints.for_tld(tld), **options)
            return bm.venue.spot_user_data_kind()

        self.assertEqual((kind("us"), kind("com")), ("us_spot", "user"))
        self.assertEqual(kind("us", user_data="ws_api"), "user")
        with self.assertRaisesRegex(ValueError, "not available on binance.com: Spot listenKeys"):
            kind("com", user_data="listen_key")
        with self.assertRaisesRegex(ValueError, "user_data must be None .* 'ws_api' or 'listen"):
            BinanceSocketManager(None, user_data="rest")


class SecrecyTests(AccountTestCase):
    @asynchronous
    async def test_no_secret_reaches_the_logs(self) -> None:
        """Keys, secrets, listen keys and tokens never appear in any log event."""
        fake = await self.fake()
        account = fake.add_account(API_KEY, secret=SECRET)
        logged: list[str] = []

        def observe(event: dict) -> None:
            from twisted.logger import formatEvent

            logged.append(formatEvent(event) + repr(event.get("log_failure")))

        globalLogPublisher.addObserver(observe)
        self.addCleanup(globalLogPublisher.removeObserver, observe)
        keys = ListenKeys.for_endpoints(reactor, fake.endpoints, "futures", api_key=API_KEY)
        stream = ListenKeyStream(reactor, fake.endpoints, keys, lambda e: None)
        self.addCleanup(stream.close)
        await stream.start()
        listen_key = account.listen_key("futures")
        fake.expire_listen_key(listen_key)
        await fake.wait_for(lambda: account.listen_key("futures") not in (None, listen_key))
        wrong = self.api(fake, secret="x" * 64).subscribe_user_data(lambda e: None)
        await self.assertFailure(wrong, BinanceAPIError)
        secrets = [API_KEY, SECRET, listen_key, account.listen_key("futures")]
        leaks = [line for line in logged for s in secrets if s and s in line]
        self.assertEqual(leaks, [])
        self.assertGreater(len(logged), 0)

    @asynchronous
    async def test_no_listen_key_in_autobahns_debug_lines_either(self) -> None:
        """With autobahn's debug logging on, its handshake line hides the request (whose
        URL holds the listen key); the fake server's own lines are not ours to judge."""
        import txaio

        txaio.set_global_log_level("debug")
        self.addCleanup(txaio.set_global_log_level, "info")
        fake = await self.fake()
        account = fake.add_account(API_KEY, secret=SECRET)
        logged: list[str] = []

        def observe(event: dict) -> None:
            if "Server" not in (event.get("log_namespace") or ""):
                logged.append(formatEvent(event))

        globalLogPublisher.addObserver(observe)
        self.addCleanup(globalLogPublisher.removeObserver, observe)
        keys = ListenKeys.for_endpoints(reactor, fake.endpoints, "futures", api_key=API_KEY)
        stream = ListenKeyStream(reactor, fake.endpoints, keys, lambda e: None)
        self.addCleanup(stream.close)
        await stream.start()
        key = account.listen_key("futures")
        self.assertTrue(key)
        self.assertEqual([line for line in logged if key in line], [])
        self.assertTrue(any("not shown: its URL may hold a listen key" in line for line in logged))

    @asynchronous
    async def test_a_bad_key_file_fails_at_the_call(self) -> None:
        """A missing PEM file raises in the caller's thread, before any connection is made."""
        fake = await self.fake()
        bm = BinanceSocketManager(
            None, api_key=API_KEY, api_secret="/no/such/key.pem", endpoints=fake.endpoints
        )
        self.addCleanup(threads.deferToThread, bm.close)
        with self.assertRaisesRegex(ValueError, "key file"):
            bm.start_user_socket(lambda message: None)
        with self.assertRaisesRegex(ValueError, "key file"):
            bm.ws_get_account()
        self.assertEqual(fake.connections, [])
