"""Listen keys and listen tokens: the REST half of account streams (binance-platform.md §3).

:class:`ListenKeys` is the listen-key lifecycle (start, keepalive, close) of one product that
still has listen keys (§3.6), and :func:`create_listen_token` the margin listenToken (§3.5).
A listen key is a credential: exception texts name the request as ``"METHOD /path"`` only.
Everything here runs on the reactor thread.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs
from twisted.internet.defer import Deferred

from binance_twisted import venues
from binance_twisted._core.tls import TrustRoot
from binance_twisted.endpoints import Endpoints
from binance_twisted.errors import BinanceAPIError, MissingCredentialsError
from binance_twisted.rest import RestClient

__all__ = ["LISTEN_KEY_PRODUCTS", "ListenKeyProduct", "ListenKeys", "create_listen_token"]


@attrs.frozen
class ListenKeyProduct:
    """A product that still has REST listen keys (binance-platform.md §3.6)."""

    name: str
    path: str
    endpoint_field: str
    """The :class:`~binance_twisted.endpoints.Endpoints` field holding the REST base URL."""


LISTEN_KEY_PRODUCTS: Mapping[str, ListenKeyProduct] = MappingProxyType(
    {
        product.name: product
        for product in (
            ListenKeyProduct("futures", "/fapi/v1/listenKey", "futures_rest_url"),
            ListenKeyProduct("coin_futures", "/dapi/v1/listenKey", "coin_futures_rest_url"),
            ListenKeyProduct("portfolio_margin", "/papi/v1/listenKey", "portfolio_margin_rest_url"),
            ListenKeyProduct("margin_risk", "/sapi/v1/margin/listen-key", "rest_url"),
            ListenKeyProduct("us_spot", "/api/v3/userDataStream", "rest_url"),
        )
    }
)


def _listen_key_product(product: str) -> ListenKeyProduct:
    try:
        return LISTEN_KEY_PRODUCTS[product]
    except (KeyError, TypeError):
        raise ValueError(
            f"product must be one of {', '.join(map(repr, LISTEN_KEY_PRODUCTS))}, not {product!r}"
        ) from None


class ListenKeys:
    """The listen-key lifecycle of one product: start → key, keepalive(key), close(key).

    Keep a key alive with a PUT every 30 minutes. A keepalive answered with
    :class:`~binance_twisted.errors.BinanceAPIError` code ``-1125`` ("This listenKey does not
    exist.") means the key is gone: start a new one.
    """

    def __init__(self, rest: RestClient, product: str) -> None:
        self._product = _listen_key_product(product)
        self._rest = rest

    @classmethod
    def for_endpoints(
        cls,
        reactor: Any,
        endpoints: Endpoints,
        product: str,
        *,
        api_key: str,
        trust_root: TrustRoot = None,
        http: Any = None,
    ) -> ListenKeys:
        """Listen keys of ``product`` on the REST host ``endpoints`` gives for it."""
        spec = _listen_key_product(product)
        if spec.name == "us_spot" and venues.spot_user_data(endpoints.name) != "listen_key":
            raise ValueError(
                f"product 'us_spot' is only for Binance.US, not {endpoints.name!r}: Spot "
                "listenKeys were removed on binance.com on 2026-02-20 (410 Gone); subscribe "
                "to Spot user data over the WebSocket API instead "
                "(userDataStream.subscribe.signature)"
            )
        base = getattr(endpoints, spec.endpoint_field)
        if base is None:
            raise ValueError(
                f"{endpoints.name!r} has no REST host for product {spec.name!r} "
                f"(Endpoints.{spec.endpoint_field} is None)"
            )
        if not api_key:
            raise MissingCredentialsError(f"{spec.name} listen keys need an API key (api_key)")
        rest = RestClient(reactor, base, api_key=api_key, trust_root=trust_root, http=http)
        return cls(rest, spec.name)

    def __repr__(self) -> str:
        return f"<ListenKeys {self._product.name} {self._product.path} via {self._rest!r}>"

    @property
    def product(self) -> ListenKeyProduct:
        """Which product's listen keys these are."""
        return self._product

    @property
    def rest(self) -> RestClient:
        """The client the calls go through."""
        return self._rest

    def start(self) -> Deferred[str]:
        """Create (or, if one is active, extend and return) the account's listen key."""
        path = self._product.path

        def listen_key(result: Any) -> str:
            key = result.get("listenKey") if isinstance(result, dict) else None
            if not isinstance(key, str) or not key:
                raise BinanceAPIError(
                    200, None, "the answer has no listenKey", None, f"POST {path}"
                )
            return key

        return self._rest.request("POST", path, security="API_KEY").addCallback(listen_key)

    def keepalive(self, key: str) -> Deferred[None]:
        """Extend ``key`` by 60 minutes (Binance answers ``-1125`` if it is gone)."""
        return self._call("PUT", key)

    def close(self, key: str) -> Deferred[None]:
        """Invalidate ``key``; its stream ends."""
        return self._call("DELETE", key)

    def _call(self, method: str, key: str) -> Deferred[None]:
        if not isinstance(key, str) or not key:
            raise ValueError(
                "key must be the non-empty listen key string from start(), "
                f"not a {type(key).__name__}"
            )
        d = self._rest.request(method, self._product.path, [("listenKey", key)], security="API_KEY")
        return d.addCallback(lambda _: None)


_LISTEN_TOKEN_PATH = "/sapi/v1/userListenToken"
_MAX_VALIDITY_MS = 24 * 60 * 60 * 1000
_SYMBOL = re.compile(r"[A-Za-z0-9]+")


def create_listen_token(
    rest: RestClient, *, symbol: str | None = None, validity_ms: int | None = None
) -> Deferred[tuple[str, int]]:
    """Create a margin listenToken; fires with ``(token, expirationTime ms)``.

    Cross margin without ``symbol``; isolated margin for ``symbol``. ``validity_ms`` defaults
    (on Binance's side) to, and is at most, 24 h. There is no keepalive: before expiry, create
    a new token and subscribe with it again (binance-platform.md §3.5).
    """
    params: list[tuple[str, Any]] = []
    if symbol is not None:
        if not isinstance(symbol, str) or not _SYMBOL.fullmatch(symbol):
            raise ValueError(f"symbol must be a symbol such as 'BNBUSDT', not {symbol!r}")
        params += [("isIsolated", "true"), ("symbol", symbol.upper())]
    if validity_ms is not None:
        if (
            isinstance(validity_ms, bool)
            or not isinstance(validity_ms, int)
            or not 0 < validity_ms <= _MAX_VALIDITY_MS
        ):
            raise ValueError(
                f"validity_ms must be None or an int in (0, {_MAX_VALIDITY_MS}] (24 h), "
                f"not {validity_ms!r}"
            )
        params.append(("validity", validity_ms))
    d = rest.request("POST", _LISTEN_TOKEN_PATH, params, security="SIGNED")

    def token(result: Any) -> tuple[str, int]:
        value = result.get("token") if isinstance(result, dict) else None
        expires = result.get("expirationTime") if isinstance(result, dict) else None
        if not isinstance(value, str) or not value:
            raise BinanceAPIError(
                200, None, "the answer has no token", None, f"POST {_LISTEN_TOKEN_PATH}"
            )
        if isinstance(expires, bool) or not isinstance(expires, int):
            raise BinanceAPIError(
                200,
                None,
                "the answer has no integer expirationTime",
                None,
                f"POST {_LISTEN_TOKEN_PATH}",
            )
        return value, expires

    return d.addCallback(token)
