"""Per-venue facts (binance_twisted.venues) and the defaults that follow from them."""

from __future__ import annotations

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from binance_twisted import ConnectionPolicy, Endpoints, StreamClient, venues
from binance_twisted.accounts import ListenKeys, ListenKeyStream
from binance_twisted.events import EventKind
from binance_twisted.rest import RestClient
from tests.support import Harness


class ProfileTests(SynchronousTestCase):
    def test_futures_sessions_wait_out_the_three_minute_ping(self) -> None:
        """Spot pings every 20 s (60 s limit); USD-M/COIN-M every 3 min (400 s limit)."""
        self.assertEqual(venues.profile("spot").stall_timeout, 60.0)
        self.assertEqual(venues.profile("usdm").stall_timeout, 400.0)
        self.assertEqual(venues.profile("coinm").stall_timeout, 400.0)
        self.assertGreater(venues.profile("usdm").stall_timeout, 2 * 180)

    def test_binance_us_gets_the_quiet_limit_while_its_ping_is_unverified(self) -> None:
        """Binance.US last documented a 3-minute ping: its Spot sessions get 400 s too."""
        self.assertEqual(venues.profile("spot", "binance.us").stall_timeout, 400.0)
        self.assertEqual(venues.profile("spot", "testnet").stall_timeout, 60.0)

    def test_unknown_markets_name_the_allowed_ones(self) -> None:
        """A bad market fails before any I/O and lists the markets."""
        error = self.assertRaises(ValueError, venues.profile, "options")
        self.assertIn("'spot', 'usdm', 'coinm'", str(error))

    def test_futures_routes(self) -> None:
        """Book data goes to /public, everything else to /market (2026 USD-M split)."""
        for stream, route in [
            ("btcusdt@depth", "public"),
            ("btcusdt@depth5@100ms", "public"),
            ("btcusdt@bookTicker", "public"),
            ("!bookTicker", "public"),
            ("btcusdt@aggTrade", "market"),
            ("btcusdt@markPrice@1s", "market"),
            ("!markPrice@arr", "market"),
            ("btcusdt@kline_1m", "market"),
        ]:
            self.assertEqual(venues.futures_route(stream), route, stream)

    def test_spot_user_data_mechanism_per_venue(self) -> None:
        """binance.com and friends use the WebSocket API; Binance.US a listenKey."""
        self.assertEqual(venues.spot_user_data("binance.com"), "ws_api")
        self.assertEqual(venues.spot_user_data("binance.us"), "listen_key")
        self.assertIn("testnet", venues.SPOT_LISTEN_KEYS_REMOVED)


class NativeDefaultsTests(SynchronousTestCase):
    """Native clients take their silence limit from the venue profile, not from Spot's."""

    def test_a_futures_stream_client_waits_400_s_by_default(self) -> None:
        """StreamClient(market="usdm") with the default policy, or a policy that leaves it."""
        clock = Clock()
        for policy in (None, ConnectionPolicy(max_retries=3)):
            client = StreamClient(clock, Endpoints.for_tld("com"), market="usdm", policy=policy)
            connection = client._place({}, client._base_for("btcusdt@aggTrade"))
            self.assertEqual(connection.stall_timeout, 400.0)
            self.assertEqual(connection.base_url, "wss://fstream.binance.com/market")
        spot = StreamClient(clock, Endpoints.for_tld("com"))
        self.assertEqual(spot._place({}, spot.stream_url).stall_timeout, 60.0)

    def test_a_quiet_futures_session_survives_minutes_of_silence(self) -> None:
        """Futures pings come every 3 min: 5 silent minutes are fine, 7 are a stall."""
        harness = Harness(ConnectionPolicy(rotate_after=None), market="usdm")
        harness.route("btcusdt@aggTrade")
        harness.connection.add_streams(["btcusdt@aggTrade"])
        harness.open()
        harness.clock.advance(300)
        self.assertNotIn(EventKind.STALLED, harness.kinds())
        harness.clock.advance(120)
        self.assertIn(EventKind.STALLED, harness.kinds())

    def test_an_explicit_stall_timeout_wins(self) -> None:
        """The policy's own number (or None: never) overrides the venue's."""
        clock = Clock()
        for stall in (90.0, None):
            client = StreamClient(
                clock, market="usdm", policy=ConnectionPolicy(stall_timeout=stall)
            )
            self.assertEqual(client._place({}, client.stream_url).stall_timeout, stall)

    def test_a_futures_listen_key_stream_waits_400_s(self) -> None:
        """A quiet futures account is not redialled every minute (it was, with 60 s)."""
        clock = Clock()
        rest = RestClient(clock, "https://fapi.binance.com", api_key="k" * 64)
        stream = ListenKeyStream(
            clock, Endpoints.for_tld("com"), ListenKeys(rest, "futures"), lambda e: None
        )
        self.assertEqual(stream.stall_timeout, 400.0)

    def test_stall_timeout_rejects_what_is_not_a_limit(self) -> None:
        """0, negative, NaN and other strings name the allowed values."""
        for bad in (0, -1, float("nan"), "auto"):
            error = self.assertRaises(ValueError, ConnectionPolicy, stall_timeout=bad)
            self.assertIn("'venue', None", str(error))


class PlaintextTests(SynchronousTestCase):
    """Unencrypted URLs only to this machine, unless the caller opts in by name."""

    def test_ws_and_http_to_another_host_are_refused(self) -> None:
        """ws:// and http:// to a remote host fail at construction, naming the way out."""
        clock = Clock()
        endpoints = Endpoints.for_tld("com").replace(stream_url="ws://stream.example.org")
        with self.assertRaisesRegex(ValueError, "unencrypted.*allow_plaintext=True"):
            StreamClient(clock, endpoints)._place({}, "ws://stream.example.org")
        with self.assertRaisesRegex(ValueError, "base_url http://api.example.org"):
            RestClient(clock, "http://api.example.org")

    def test_loopback_and_the_explicit_opt_in_are_allowed(self) -> None:
        """127.0.0.1 (a local fake) needs nothing; another host needs allow_plaintext."""
        clock = Clock()
        RestClient(clock, "http://127.0.0.1:9000")
        RestClient(clock, "http://api.example.org", allow_plaintext=True)
        policy = ConnectionPolicy(allow_plaintext=True)
        client = StreamClient(clock, market="spot", stream_url="ws://example.org", policy=policy)
        self.assertEqual(client._place({}, client.stream_url).base_url, "ws://example.org")
