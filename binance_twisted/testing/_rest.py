"""The few REST endpoints a stream client needs, on the same port as the streams.

``GET /api/v3/depth`` is the order-book snapshot of binance-platform.md §6, taken from the
same true book the diff streams are generated from, so the documented sync procedure (§5.1)
works against the fake exactly as against Binance. Errors use Binance's JSON shape
``{"code": …, "msg": …}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from twisted.web.resource import Resource
from twisted.web.server import Request

from binance_twisted._json import dumps
from binance_twisted.testing._market import Levels

__all__ = ["MarketView", "RestAPI"]

_DEFAULT_LIMIT = 100
_MAX_LIMIT = 5000

Response = tuple[int, Any]


class MarketView(Protocol):
    """What the REST side reads from the fake."""

    def snapshot(self, symbol: str, limit: int) -> tuple[int, Levels, Levels] | None:
        """``(lastUpdateId, bids, asks)`` of a known symbol (lowercase), else ``None``."""

    def now_ms(self) -> int:
        """The server clock."""


class _Problem(Exception):
    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.response: Response = (status, {"code": code, "msg": msg})


class RestAPI(Resource):
    """``/api/v3/ping``, ``/api/v3/time`` and ``/api/v3/depth``; JSON 404 for anything else."""

    isLeaf = True

    def __init__(self, market: MarketView) -> None:
        super().__init__()
        self._market = market
        self._routes: dict[bytes, Callable[[Request], Response]] = {
            b"/api/v3/ping": lambda request: (200, {}),
            b"/api/v3/time": lambda request: (200, {"serverTime": market.now_ms()}),
            b"/api/v3/depth": self._depth,
        }

    def render(self, request: Request) -> bytes:
        route = self._routes.get(request.path)
        try:
            if route is None:
                raise _Problem(404, -1, f"Unknown path {request.path.decode('latin-1')}")
            if request.method != b"GET":
                raise _Problem(405, -1, "Method not allowed")
            status, body = route(request)
        except _Problem as problem:
            status, body = problem.response
        request.setResponseCode(status)
        request.setHeader(b"content-type", b"application/json;charset=UTF-8")
        return dumps(body)

    def _depth(self, request: Request) -> Response:
        symbol = _argument(request, b"symbol")
        if not symbol:
            msg = "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."
            raise _Problem(400, -1102, msg)
        limit = _argument(request, b"limit") or str(_DEFAULT_LIMIT)
        if not limit.isascii() or not limit.isdigit():
            msg = "Illegal characters found in parameter 'limit'; legal range is '^[0-9]{1,20}$'."
            raise _Problem(400, -1100, msg)
        snapshot = self._market.snapshot(symbol.lower(), max(1, min(int(limit), _MAX_LIMIT)))
        if snapshot is None:
            raise _Problem(400, -1121, "Invalid symbol.")
        last_update_id, bids, asks = snapshot
        return 200, {"lastUpdateId": last_update_id, "bids": bids, "asks": asks}


def _argument(request: Request, name: bytes) -> str:
    values = (request.args or {}).get(name) or [b""]
    return values[0].decode("utf-8", "replace")
