"""The fake's REST endpoints, on the same port as the streams.

``GET /api/v3/depth`` is the order-book snapshot of binance-platform.md §6, taken from the
same true book the diff streams are generated from, so the documented sync procedure (§5.1)
works against the fake exactly as against Binance; ``GET /fapi/v1/depth`` is the USD-M
futures one (limit default 500, max 1000, plus ``E`` and ``T``) for §5.2. Both serve the
stale snapshots queued by :meth:`FakeBinance.stale_snapshots`. Around them: the clock
(``/api/v3/time``, ``/fapi/v1/time`` with :attr:`FakeBinance.server_time_offset`), listen
keys per product (§3.6), the margin listen token (§3.5), and the endpoints Binance removed,
which answer HTTP 410 with nginx's HTML page (§3.1, §7.1). Errors use Binance's JSON shape
``{"code": …, "msg": …}``.

Security as on Binance: USER_STREAM endpoints need the ``X-MBX-APIKEY`` header; SIGNED
ones also ``timestamp`` and a ``signature`` over the raw query string plus the raw body
(checked by :mod:`binance_twisted.testing._auth`, not by the client library's code).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import parse_qsl

import attrs
from twisted.web.resource import Resource
from twisted.web.server import Request

from binance_twisted._json import dumps
from binance_twisted.testing._auth import check_timestamp, redact_params, rest_payload
from binance_twisted.testing._errors import ApiError, fault_error, invalid_signature, mandatory
from binance_twisted.testing._market import Levels
from binance_twisted.testing._userdata import FakeAccount, UserData

__all__ = ["GONE_BODY", "MarketView", "RestAPI"]

_DEFAULT_LIMIT = 100
_MAX_LIMIT = 5000
_FUTURES_DEFAULT_LIMIT = 500
_FUTURES_MAX_LIMIT = 1000
_DAY_MS = 86_400_000
#: What Binance's nginx answers for a removed endpoint.
GONE_BODY = (
    b"<html>\r\n<head><title>410 Gone</title></head>\r\n<body>\r\n"
    b"<center><h1>410 Gone</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
_REMOVED = (b"/sapi/v1/userDataStream", b"/sapi/v1/userDataStream/isolated")
_SPOT_LISTEN_KEY = b"/api/v3/userDataStream"

Response = tuple[int, Any]


class MarketView(Protocol):
    """What the REST side reads from the fake."""

    userdata: UserData
    us_listen_keys: bool

    def snapshot(self, symbol: str, limit: int) -> tuple[int, Levels, Levels] | None:
        """``(lastUpdateId, bids, asks)`` of a known symbol (lowercase), else ``None``."""

    def server_ms(self) -> int:
        """The server clock, skew included."""

    def record(self, kind: str, connection: Any, detail: dict[str, Any]) -> None:
        """Append to the fake's log."""

    def take_rest_fault(self) -> Any:
        """The :class:`~._state.RestFault` to answer this request with, if any."""


@attrs.frozen
class Call:
    """One authenticated REST request, as a handler sees it."""

    params: dict[str, str]
    account: FakeAccount | None


@attrs.frozen
class Endpoint:
    """A route: its security (NONE, USER_STREAM, SIGNED), the product it needs, its handler."""

    security: str
    product: str | None
    handler: Callable[[Call], Response]


class RestAPI(Resource):
    """Every REST path of the fake; JSON 404 for anything else."""

    isLeaf = True

    def __init__(self, market: MarketView) -> None:
        super().__init__()
        self._market = market
        clock = self._clock
        self._routes: dict[bytes, dict[bytes, Endpoint]] = {
            b"/api/v3/ping": {b"GET": Endpoint("NONE", None, lambda call: (200, {}))},
            b"/fapi/v1/ping": {b"GET": Endpoint("NONE", None, lambda call: (200, {}))},
            b"/api/v3/time": {b"GET": Endpoint("NONE", None, clock)},
            b"/fapi/v1/time": {b"GET": Endpoint("NONE", None, clock)},
            b"/dapi/v1/time": {b"GET": Endpoint("NONE", None, clock)},
            b"/api/v3/depth": {b"GET": Endpoint("NONE", None, self._depth)},
            b"/fapi/v1/depth": {b"GET": Endpoint("NONE", None, self._futures_depth)},
            b"/fapi/v1/listenKey": self._listen_key("futures"),
            b"/dapi/v1/listenKey": self._listen_key("coin_futures"),
            b"/papi/v1/listenKey": self._listen_key("portfolio_margin"),
            b"/sapi/v1/margin/listen-key": self._listen_key("margin_risk", key_required=True),
            b"/sapi/v1/userListenToken": {
                b"POST": Endpoint("SIGNED", "margin", self._listen_token)
            },
        }
        if market.us_listen_keys:
            self._routes[_SPOT_LISTEN_KEY] = self._listen_key("spot", key_required=True)

    def render(self, request: Request) -> bytes:
        path = request.path
        query = request.uri.partition(b"?")[2]
        body = b""
        if request.content is not None:
            request.content.seek(0)
            body = request.content.read()
        params = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        params.update(parse_qsl(query.decode("utf-8", "replace"), keep_blank_values=True))
        fault = self._market.take_rest_fault()
        if fault is not None:
            error = fault_error(fault.status, self._market.server_ms(), fault.retry_after)
            if fault.retry_after is not None:
                request.setHeader(b"retry-after", str(int(fault.retry_after)).encode())
            status, payload = error.status, {"code": error.code, "msg": error.msg}
        elif self._removed(path):
            return self._finish(request, params, 410, GONE_BODY, b"text/html")
        else:
            try:
                status, payload = self._route(request, query, body, params)
            except ApiError as error:
                status, payload = error.status, {"code": error.code, "msg": error.msg}
        return self._finish(request, params, status, dumps(payload))

    def _finish(
        self,
        request: Request,
        params: dict[str, str],
        status: int,
        body: bytes,
        content_type: bytes = b"application/json;charset=UTF-8",
    ) -> bytes:
        detail = {
            "method": request.method.decode("latin-1"),
            "path": request.path.decode("latin-1"),
            "params": redact_params(params),
            "status": status,
        }
        self._market.record("http", None, detail)
        request.setResponseCode(status)
        request.setHeader(b"content-type", content_type)
        return body

    def _removed(self, path: bytes) -> bool:
        if path.startswith(b"/api/v1/") or path in _REMOVED:
            return True
        return path == _SPOT_LISTEN_KEY and not self._market.us_listen_keys

    def _route(
        self, request: Request, query: bytes, body: bytes, params: dict[str, str]
    ) -> Response:
        methods = self._routes.get(request.path)
        if methods is None:
            raise ApiError(404, -1, f"Unknown path {request.path.decode('latin-1')}")
        endpoint = methods.get(request.method)
        if endpoint is None:
            raise ApiError(405, -1, "Method not allowed")
        account = None
        if endpoint.security != "NONE":
            assert endpoint.product is not None
            header = request.getHeader(b"x-mbx-apikey") or b""
            key = (
                header.decode("utf-8", "replace") if isinstance(header, bytes) else header
            ).strip()
            if not key:
                raise ApiError(401, -2014, "API-key format invalid.")
            account = self._market.userdata.authorise(key, endpoint.product)
        if endpoint.security == "SIGNED":
            assert account is not None
            payload, signature = rest_payload(query, body)
            if not signature:
                raise mandatory("signature")
            check_timestamp(params, self._market.server_ms())
            if not account.credential.verify(payload, signature):
                raise invalid_signature()
        return endpoint.handler(Call(params, account))

    # -- endpoints ----------------------------------------------------------------------

    def _clock(self, call: Call) -> Response:
        return 200, {"serverTime": self._market.server_ms()}

    def _depth(self, call: Call) -> Response:
        last_update_id, bids, asks = self._snapshot(call, _DEFAULT_LIMIT, _MAX_LIMIT)
        return 200, {"lastUpdateId": last_update_id, "bids": bids, "asks": asks}

    def _futures_depth(self, call: Call) -> Response:
        snapshot = self._snapshot(call, _FUTURES_DEFAULT_LIMIT, _FUTURES_MAX_LIMIT)
        last_update_id, bids, asks = snapshot
        now = self._market.server_ms()
        return 200, {"lastUpdateId": last_update_id, "E": now, "T": now, "bids": bids, "asks": asks}

    def _snapshot(self, call: Call, default: int, most: int) -> tuple[int, Levels, Levels]:
        """The snapshot a depth request asks for; ``limit`` capped at ``most``."""
        symbol = call.params.get("symbol", "")
        if not symbol:
            raise mandatory("symbol")
        limit = call.params.get("limit") or str(default)
        if not limit.isascii() or not limit.isdigit():
            msg = "Illegal characters found in parameter 'limit'; legal range is '^[0-9]{1,20}$'."
            raise ApiError(400, -1100, msg)
        snapshot = self._market.snapshot(symbol.lower(), max(1, min(int(limit), most)))
        if snapshot is None:
            raise ApiError(400, -1121, "Invalid symbol.")
        return snapshot

    def _listen_key(self, product: str, key_required: bool = False) -> dict[bytes, Endpoint]:
        userdata = self._market.userdata

        def key_of(call: Call) -> str | None:
            key = call.params.get("listenKey") or None
            if key is None and key_required:
                raise mandatory("listenKey")
            return key

        def create(call: Call) -> Response:
            assert call.account is not None
            return 200, {"listenKey": userdata.open_listen_key(call.account, product)}

        def keep_alive(call: Call) -> Response:
            assert call.account is not None
            userdata.keep_alive(call.account, product, key_of(call))
            return 200, {}

        def close(call: Call) -> Response:
            assert call.account is not None
            userdata.close_listen_key(call.account, product, key_of(call))
            return 200, {}

        return {
            b"POST": Endpoint("USER_STREAM", product, create),
            b"PUT": Endpoint("USER_STREAM", product, keep_alive),
            b"DELETE": Endpoint("USER_STREAM", product, close),
        }

    def _listen_token(self, call: Call) -> Response:
        assert call.account is not None
        isolated = call.params.get("isIsolated", "false").lower()
        if isolated not in ("true", "false"):
            raise ApiError(400, -1130, "Data sent for parameter 'isIsolated' is not valid.")
        product = "margin"
        if isolated == "true":
            symbol = call.params.get("symbol", "")
            if not symbol:
                raise mandatory("symbol")
            if not symbol.isascii() or not symbol.isalnum():
                raise ApiError(400, -1121, "Invalid symbol.")
            product = "isolated:" + symbol.upper()
        validity = call.params.get("validity") or str(_DAY_MS)
        if not validity.isascii() or not validity.isdigit() or not 0 < int(validity) <= _DAY_MS:
            raise ApiError(400, -1130, "Data sent for parameter 'validity' is not valid.")
        token = self._market.userdata.issue_token(call.account, product, int(validity))
        return 200, {"token": token.token, "expirationTime": token.expiration_ms}
