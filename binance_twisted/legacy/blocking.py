"""Blocking ``ws_*`` methods for thread-based code: ``bm.ws_get_order_book(symbol="BTCUSDT")``.

The legacy managers get one method per :data:`~binance_twisted.wsapi.table.METHODS` row,
generated from the same table as the Deferred-returning ones on
:class:`~binance_twisted.wsapi.WebSocketAPI`. Each blocks the *calling* thread until Binance
answers, returns the result dict or raises what Binance answered. The reactor thread is never
blocked: calling one from a callback raises at once and names the Deferred-returning method
to use there instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from binance_twisted.wsapi.declarations import SyncWsApiDeclarations
from binance_twisted.wsapi.table import METHODS, WsApiMethod

__all__ = ["SyncWsApiMethods"]


class SyncWsApiMethods(SyncWsApiDeclarations):
    """Mixin of the legacy managers; the host implements ``_ws_call(row, params)``.

    Type checkers see the methods through :mod:`binance_twisted.wsapi.declarations`.
    """

    def _ws_call(self, row: WsApiMethod, params: dict[str, Any]) -> Any:
        raise NotImplementedError


def _make(row: WsApiMethod) -> Callable[..., Any]:
    def method(self: SyncWsApiMethods, **params: Any) -> Any:
        return self._ws_call(row, params)

    kind = "signed" if row.signed else "unsigned"
    method.__name__ = row.name
    method.__qualname__ = f"{SyncWsApiMethods.__name__}.{row.name}"
    method.__doc__ = (
        f"Blocking ``{row.method}`` ({kind}): waits for Binance's answer in the calling thread "
        "and returns the result, or raises BinanceAPIError. Not from the reactor thread.\n\n"
        f"Required: {', '.join(row.required) or '(none)'}\n"
        f"Optional: {', '.join(row.optional) or '(none)'}"
    )
    method.__signature__ = row.signature()  # type: ignore[attr-defined]
    return method


for _row in METHODS.values():
    setattr(SyncWsApiMethods, _row.name, _make(_row))
