"""The ``ws_*`` methods of :class:`~binance_twisted.wsapi.WebSocketAPI`, made from the table.

Every :data:`~binance_twisted.wsapi.table.METHODS` row becomes one method of
:class:`WsApiMethods`. A generated method takes keyword arguments only and, before anything
is sent, refuses a method of the other market (a futures method on a Spot connection, or the
other way round) with ``ValueError`` (open the futures connection with
:meth:`WsApiMethods.futures`) and checks its parameters (:meth:`WsApiMethod.build`).

It then returns ``self.request(method, params, signed=...)``: a Deferred firing with the
reply's ``result`` or failing with :class:`~binance_twisted.errors.BinanceAPIError`
(:class:`~binance_twisted.errors.RateLimitedError` for 429/418). Signed requests get
``apiKey``, ``timestamp`` and ``signature`` from the connection; ``recvWindow`` is accepted
by every signed method. Type checkers see the methods through
:mod:`binance_twisted.wsapi.declarations`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet import defer

from binance_twisted.endpoints import Endpoints
from binance_twisted.wsapi.declarations import WsApiDeclarations
from binance_twisted.wsapi.table import MARKET_NAMES, METHODS, WsApiMethod

__all__ = ["WsApiMethods"]


class WsApiMethods(WsApiDeclarations):
    """Mixin of :class:`~binance_twisted.wsapi.WebSocketAPI`: one method per :data:`METHODS` row.

    The host provides ``request(method, params, signed=...)`` and a ``market`` attribute.
    Type checkers see the methods through :mod:`binance_twisted.wsapi.declarations`.
    """

    #: ``"spot"`` or ``"futures"``; :class:`~binance_twisted.wsapi.WebSocketAPI` sets it.
    market: str = "spot"

    @classmethod
    def futures(cls, reactor: Any, endpoints: Endpoints | None = None, **kwargs: Any) -> Any:
        """A connection to the USD-M futures WebSocket API (``futures_ws_api_url``).

        Takes the same keyword arguments as the constructor, except ``url`` and ``market``.
        """
        endpoints = endpoints if endpoints is not None else Endpoints.for_tld("com")
        url = endpoints.futures_ws_api_url
        if url is None:
            raise ValueError(f"{endpoints.name} has no USD-M futures WebSocket API")
        kwargs.setdefault("name", "ws-fapi")
        return cls(reactor, endpoints, url=url, market="futures", **kwargs)  # type: ignore[call-arg]


def _call(api: Any, row: WsApiMethod, given: dict[str, Any]) -> defer.Deferred:
    market = getattr(api, "market", "spot")
    if market != row.market:
        other = "WebSocketAPI.futures(...)" if row.market == "futures" else "a Spot WebSocketAPI"
        raise ValueError(
            f"{row.name}() is a {MARKET_NAMES[row.market]} method and this connection is for "
            f"{MARKET_NAMES.get(market, market)}; use {other}"
        )
    params = row.build(given)
    return api.request(row.method, params or None, signed=row.signed)


def _docstring(row: WsApiMethod) -> str:
    kind = "signed" if row.signed else "unsigned"
    lines = [
        f"{row.summary or row.method} {MARKET_NAMES[row.market]} WebSocket API ``{row.method}`` "
        f"({kind}).",
        "",
        f"Required: {', '.join(row.required) or '(none)'}",
        f"Optional: {', '.join(row.optional) or '(none)'}",
    ]
    lines += [f"One of: {', '.join(group)} (at least one)" for group in row.one_of]
    if row.fixed:
        lines.append("Sends: " + ", ".join(f"{k}={v}" for k, v in row.fixed.items()))
    if row.defaults:
        lines.append("Defaults: " + ", ".join(f"{k}={v}" for k, v in row.defaults.items()))
    lines += [
        "",
        "Keyword arguments only; None values are left out. Fires with the reply's ``result``;",
        "fails with BinanceAPIError (RateLimitedError for 429/418).",
    ]
    return "\n".join(lines)


def _make(row: WsApiMethod) -> Callable[..., defer.Deferred]:
    def method(self: Any, **kwargs: Any) -> defer.Deferred:
        return _call(self, row, kwargs)

    method.__name__ = row.name
    method.__qualname__ = f"{WsApiMethods.__name__}.{row.name}"
    method.__doc__ = _docstring(row)
    method.__signature__ = row.signature("Deferred")  # type: ignore[attr-defined]
    return method


for _method_row in METHODS.values():
    setattr(WsApiMethods, _method_row.name, _make(_method_row))
del _method_row
