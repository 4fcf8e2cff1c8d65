"""Endpoints: one frozen value per Binance environment, every field overridable."""

from __future__ import annotations

import attrs
from twisted.trial.unittest import SynchronousTestCase

from binance_twisted.endpoints import Endpoints, combined_stream_url


class EndpointsTests(SynchronousTestCase):
    def test_production_urls(self) -> None:
        """binance.com streams on 9443, WS API on ws-api, REST on api.binance.com."""
        com = Endpoints.for_tld("com")
        self.assertEqual(com.stream_url, "wss://stream.binance.com:9443")
        self.assertEqual(com.ws_api_url, "wss://ws-api.binance.com:443/ws-api/v3")
        self.assertEqual(com.rest_url, "https://api.binance.com")
        self.assertEqual(com.futures_ws_api_url, "wss://ws-fapi.binance.com/ws-fapi/v1")
        self.assertEqual(Endpoints.production(), com)

    def test_futures_routes_follow_the_2026_split(self) -> None:
        """USD-M streams are split into /public, /market and /private under one host."""
        com = Endpoints.for_tld("com")
        self.assertEqual(com.futures_public_url, "wss://fstream.binance.com/public")
        self.assertEqual(com.futures_market_url, "wss://fstream.binance.com/market")
        self.assertEqual(com.futures_private_url, "wss://fstream.binance.com/private")

    def test_moving_the_futures_host_moves_every_route(self) -> None:
        """Overriding futures_stream_url redirects /public, /market and /private together."""
        local = Endpoints.for_tld("com").replace(futures_stream_url="ws://127.0.0.1:9000/")
        self.assertEqual(local.futures_market_url, "ws://127.0.0.1:9000/market")

    def test_binance_us_has_its_own_hosts_and_no_futures(self) -> None:
        """tld='us' points at binance.us and leaves the futures URLs unset."""
        us = Endpoints.for_tld("us")
        self.assertEqual(us.stream_url, "wss://stream.binance.us:9443")
        self.assertEqual(us.rest_url, "https://api.binance.us")
        self.assertIsNone(us.futures_stream_url)
        self.assertIsNone(us.futures_public_url)

    def test_testnet_demo_and_market_data_only(self) -> None:
        """Each environment has its documented stream, WS API and REST bases."""
        self.assertEqual(Endpoints.testnet().stream_url, "wss://stream.testnet.binance.vision")
        self.assertEqual(Endpoints.testnet().rest_url, "https://testnet.binance.vision")
        self.assertEqual(
            Endpoints.testnet().ws_api_url, "wss://ws-api.testnet.binance.vision/ws-api/v3"
        )
        self.assertEqual(Endpoints.demo().stream_url, "wss://demo-stream.binance.com:9443")
        self.assertIsNone(Endpoints.demo().futures_rest_url)
        data_only = Endpoints.market_data_only()
        self.assertEqual(data_only.stream_url, "wss://data-stream.binance.vision:443")
        self.assertIsNone(data_only.ws_api_url)

    def test_unknown_tld_is_refused_naming_the_choices(self) -> None:
        """An unknown tld raises ValueError listing 'com' and 'us'."""
        with self.assertRaisesRegex(ValueError, "tld must be one of 'com', 'us'"):
            Endpoints.for_tld("de")

    def test_values_are_immutable_and_replace_copies(self) -> None:
        """Fields cannot be assigned; replace() returns a changed copy."""
        com = Endpoints.for_tld("com")
        with self.assertRaises(attrs.exceptions.FrozenInstanceError):
            com.stream_url = "ws://x"  # type: ignore[misc]
        local = com.replace(stream_url="ws://127.0.0.1:1")
        self.assertEqual(local.stream_url, "ws://127.0.0.1:1")
        self.assertEqual(com.stream_url, "wss://stream.binance.com:9443")

    def test_combined_url(self) -> None:
        """/stream?streams=a/b, '+' percent-encoded, bare /stream for none, slash ignored."""
        self.assertEqual(
            combined_stream_url("wss://h:1/", ["a@trade", "b@kline_1m@+08:00"]),
            "wss://h:1/stream?streams=a@trade/b@kline_1m@%2B08:00",
        )
        self.assertEqual(combined_stream_url("wss://h:1", []), "wss://h:1/stream")
