"""Base URLs of every Binance venue and environment, in one frozen value.

Nothing else in the package hard-codes a Binance host: connections, REST calls and the
legacy facade all read an :class:`Endpoints`. Tests point a whole client at
:class:`~binance_twisted.testing.FakeBinance` by passing ``fake.endpoints``, and users
override single fields with :meth:`Endpoints.replace`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import attrs

__all__ = ["RETIRED_OPTIONS_STREAM_URLS", "Endpoints", "combined_stream_url"]

_TLDS = ("com", "us")

#: python-binance 0.7.11's vanilla options stream hosts (production, testnet); Binance shut
#: them down, and the legacy managers keep them only as the ``VSTREAM_*`` attributes' values
RETIRED_OPTIONS_STREAM_URLS = ("wss://vstream.binance.com/", "wss://testnetws.binanceops.com/")


def _base(url: str) -> str:
    return url.rstrip("/")


def combined_stream_url(base: str, streams: Iterable[str]) -> str:
    """``<base>/stream?streams=a/b`` (just ``<base>/stream`` for none).

    Payloads on it arrive as ``{"stream": ..., "data": ...}``. Names are percent-encoded
    where the query string needs it (``+`` in ``@+08:00`` klines would read as a space).
    """
    joined = "/".join(quote(s, safe="@!_:.-~") for s in streams)
    return f"{_base(base)}/stream?streams={joined}" if joined else f"{_base(base)}/stream"


@attrs.frozen
class Endpoints:
    """Where one Binance environment lives.

    ``stream_url`` is the Spot market-stream base (``/ws/…`` and ``/stream?…`` are
    appended), ``ws_api_url`` the full Spot WebSocket API URL, ``rest_url`` the Spot REST
    base. Futures fields are ``None`` where the environment has no futures (Binance.US,
    demo mode). The USD-M stream host is split by Binance since 2026 into ``/public``
    (book data), ``/market`` (everything else public) and ``/private`` (user data); those
    three URLs derive from ``futures_stream_url``.
    """

    name: str
    stream_url: str
    ws_api_url: str | None
    rest_url: str
    futures_stream_url: str | None = None
    futures_ws_api_url: str | None = None
    futures_rest_url: str | None = None
    coin_futures_stream_url: str | None = None
    coin_futures_rest_url: str | None = None
    portfolio_margin_rest_url: str | None = None
    portfolio_margin_stream_url: str | None = None
    margin_risk_stream_url: str | None = None

    @property
    def futures_public_url(self) -> str | None:
        """USD-M high-frequency book streams (``@depth*``, ``@bookTicker``, ``!bookTicker``)."""
        return self._futures_route("public")

    @property
    def futures_market_url(self) -> str | None:
        """USD-M public streams other than book data (trades, klines, mark price, tickers)."""
        return self._futures_route("market")

    @property
    def futures_private_url(self) -> str | None:
        """USD-M user data (``/private/ws?listenKey=…``)."""
        return self._futures_route("private")

    def _futures_route(self, route: str) -> str | None:
        if self.futures_stream_url is None:
            return None
        return f"{_base(self.futures_stream_url)}/{route}"

    def replace(self, **changes: Any) -> Endpoints:
        """A copy with some fields changed, e.g. ``replace(stream_url="ws://127.0.0.1:9000")``."""
        return attrs.evolve(self, **changes)

    @classmethod
    def for_tld(cls, tld: str = "com") -> Endpoints:
        """Production endpoints for ``binance.com`` (``tld="com"``) or ``binance.us``."""
        if tld == "com":
            return cls(
                name="binance.com",
                stream_url="wss://stream.binance.com:9443",
                ws_api_url="wss://ws-api.binance.com:443/ws-api/v3",
                rest_url="https://api.binance.com",
                futures_stream_url="wss://fstream.binance.com",
                futures_ws_api_url="wss://ws-fapi.binance.com/ws-fapi/v1",
                futures_rest_url="https://fapi.binance.com",
                coin_futures_stream_url="wss://dstream.binance.com",
                coin_futures_rest_url="https://dapi.binance.com",
                portfolio_margin_rest_url="https://papi.binance.com",
                portfolio_margin_stream_url="wss://fstream.binance.com/pm",
                margin_risk_stream_url="wss://margin-stream.binance.com",
            )
        if tld == "us":
            return cls(
                name="binance.us",
                stream_url="wss://stream.binance.us:9443",
                ws_api_url="wss://ws-api.binance.us:443/ws-api/v3",
                rest_url="https://api.binance.us",
            )
        raise ValueError(f"tld must be one of {', '.join(map(repr, _TLDS))}, not {tld!r}")

    @classmethod
    def production(cls) -> Endpoints:
        """Same as ``for_tld("com")``."""
        return cls.for_tld("com")

    @classmethod
    def testnet(cls) -> Endpoints:
        """The Spot testnet (``*.testnet.binance.vision``) and the futures testnet."""
        return cls(
            name="testnet",
            stream_url="wss://stream.testnet.binance.vision",
            ws_api_url="wss://ws-api.testnet.binance.vision/ws-api/v3",
            rest_url="https://testnet.binance.vision",
            futures_stream_url="wss://fstream.binancefuture.com",
            futures_ws_api_url="wss://testnet.binancefuture.com/ws-fapi/v1",
            futures_rest_url="https://testnet.binancefuture.com",
            coin_futures_stream_url="wss://dstream.binancefuture.com",
            coin_futures_rest_url="https://testnet.binancefuture.com",
        )

    @classmethod
    def demo(cls) -> Endpoints:
        """Spot demo mode (``demo-*.binance.com``); it has no futures endpoints."""
        return cls(
            name="demo",
            stream_url="wss://demo-stream.binance.com:9443",
            ws_api_url="wss://demo-ws-api.binance.com/ws-api/v3",
            rest_url="https://demo-api.binance.com",
        )

    @classmethod
    def market_data_only(cls) -> Endpoints:
        """Public market data without an account (``data-stream`` / ``data-api.binance.vision``).

        User data is not served there, so ``ws_api_url`` is ``None``.
        """
        return cls(
            name="market-data-only",
            stream_url="wss://data-stream.binance.vision:443",
            ws_api_url=None,
            rest_url="https://data-api.binance.vision",
        )
