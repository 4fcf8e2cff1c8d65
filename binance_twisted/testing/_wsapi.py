"""The fake's WebSocket API: Spot at ``/ws-api/v3``, USD-M futures at ``/ws-fapi/v1``.

Requests ``{"id", "method", "params"}`` get ``{"id", "status", "result" | "error",
"rateLimits"}`` (binance-platform.md §4.2/§4.3); user-data events arrive as
``{"subscriptionId": N, "event": {...}}`` (§3.3). Served here on both paths: ``ping``,
``time``, ``session.logon``/``status``/``logout``, ``userDataStream.subscribe``,
``.subscribe.signature``, ``.subscribe.listenToken``, ``.unsubscribe`` and
``session.subscriptions`` (§3.2, §3.5, §4.6). The market-data, trading and account methods
of each venue are in :mod:`binance_twisted.testing._wsapi_calls`; this module authenticates
them (signature, or the ``session.logon`` key), weighs them, reports ``rateLimits`` and
delivers the user-data events their changes cause once the response is out.

Everything a connection shares with the market streams (pings, the incoming-frame limit,
lifetime, stalls, aborts, the log) comes from :class:`~._protocol.Connection`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from twisted.internet.interfaces import IDelayedCall

from binance_twisted._json import dumps, loads
from binance_twisted.testing._auth import check_timestamp, redact_params, redact_text
from binance_twisted.testing._errors import ApiError, fault_error, invalid_signature, mandatory
from binance_twisted.testing._names import BadURL
from binance_twisted.testing._params import AUTH, Reader
from binance_twisted.testing._userdata import FakeAccount
from binance_twisted.testing._wsapi_call import Call, Method
from binance_twisted.testing._wsapi_calls import FUTURES, SPOT
from binance_twisted.testing._wsapi_userdata import UserDataConnection, UserSubscription, WsApiHub

__all__ = ["PATHS", "WEIGHT_LIMIT", "WsApiConnection", "WsApiHub"]

#: The request paths served.
PATHS = ("/ws-api/v3", "/ws-fapi/v1")
#: The REQUEST_WEIGHT limit reported in ``rateLimits`` (Binance's documented example).
WEIGHT_LIMIT = 6000
#: The USD-M futures one.
FUTURES_WEIGHT_LIMIT = 2400
_VERSION_PREFIX = re.compile(r"v\d+/")
_WEIGHTS = {"ping": 1, "time": 1}
_DEFAULT_WEIGHT = 2
_FRAME_EXCERPT = 200

RequestId = Any


class WsApiConnection(UserDataConnection):
    """A client connected to ``/ws-api/v3`` (or ``/ws-fapi/v1``).

    On top of :class:`~._protocol.Connection`: ``return_rate_limits`` (the URL's
    ``returnRateLimits``), ``venue`` (``"spot"`` or ``"futures"``, from the path),
    :attr:`logged_on` (the API key of ``session.logon``, or ``None``) and
    :attr:`subscriptions` (subscription id to ``(api_key, product)``).
    """

    service = "ws-api"
    rate_limited = False
    return_rate_limits = True
    #: ``"spot"`` (``/ws-api/v3``) or ``"futures"`` (``/ws-fapi/v1``).
    venue = "spot"
    connected_since = 0
    _authorized_since: int | None = None

    # -- lifecycle ----------------------------------------------------------------------

    def accept(self) -> None:
        parts = urlsplit(self.path)
        if parts.path not in PATHS:
            raise BadURL(404, "Not Found")
        self.venue = "futures" if parts.path == "/ws-fapi/v1" else "spot"
        values = parse_qs(parts.query).get("returnRateLimits", [])
        if values:
            if values[-1].lower() not in ("true", "false"):
                raise BadURL(400, "Invalid returnRateLimits")
            self.return_rate_limits = values[-1].lower() == "true"

    def opening(self) -> None:
        self.connected_since = self.api_hub.server_ms()
        self._subs: dict[int, UserSubscription] = {}
        self._ids_used = 0
        self._pending: set[IDelayedCall] = set()

    def closing(self) -> None:
        for call in self._pending:
            if call.active():
                call.cancel()
        self._pending.clear()
        for subscription in self._subs.values():
            subscription.cancel_timer()
        self._subs.clear()

    # -- requests -----------------------------------------------------------------------

    def handle_message(self, payload: bytes, isBinary: bool) -> None:
        hub = self.api_hub
        try:
            message = loads(payload)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            self._invalid(None, None, ApiError(400, -1135, "Invalid JSON Request"), payload)
            return
        request_id = message.get("id")
        method, params = message.get("method"), message.get("params", {})
        hub.record(
            "request",
            self,
            {"id": request_id, "method": method, "params": redact_params(params)},
        )
        if not isinstance(method, str) or not method:
            self._invalid(request_id, method, mandatory("method"), payload)
            return
        if not isinstance(params, dict):
            self._invalid(request_id, method, ApiError(400, -1135, "Invalid JSON Request"), payload)
            return
        if self.venue != "futures" or method not in FUTURES:
            method = _VERSION_PREFIX.sub("", method, count=1)
        fault = hub.take_wsapi_fault(_VERSION_PREFIX.sub("", method, count=1))
        if fault is None:
            self._answer(request_id, method, params)
            return
        hub.record(
            "fault",
            self,
            {"method": method, "delay": fault.delay, "status": fault.status, "drop": fault.drop},
        )
        if fault.status is not None:
            error = fault_error(fault.status, hub.server_ms(), fault.retry_after)
            error.code = fault.code if fault.code is not None else error.code
            error.msg = fault.msg if fault.msg is not None else error.msg
            if fault.status not in (418, 429):
                error.data = None

            def act() -> None:
                self._respond(request_id, method, params, error=error)

        elif fault.drop:

            def act() -> None:
                self.abort("fault: dropped")

        else:

            def act() -> None:
                self._answer(request_id, method, params)

        if fault.delay is None:
            act()
        else:
            self._later(fault.delay, act)

    def _later(self, delay: float, action: Callable[[], None]) -> None:
        def run() -> None:
            self._pending.discard(call)
            action()

        call = self.hub.clock.callLater(delay, run)
        self._pending.add(call)

    def _answer(self, request_id: RequestId, method: str, params: dict[str, Any]) -> None:
        if self.state != self.STATE_OPEN:
            return
        spec = (FUTURES if self.venue == "futures" else SPOT).get(method)
        if spec is not None:
            self._call(request_id, method, spec, params)
            return
        handler = _METHODS.get(method)
        try:
            if handler is None:
                raise ApiError(400, -1020, "This operation is not supported.")
            result = handler(self, params)
        except ApiError as error:
            self._after = None
            self._respond(request_id, method, params, error=error)
        else:
            self._respond(request_id, method, params, result=result)
            self._run_after()

    def _run_after(self) -> None:
        queued, self._after = self._after or [], None
        for action in queued:  # what must follow the response: events, eventStreamTerminated
            action()

    def _call(self, request_id: RequestId, method: str, spec: Method, params: dict) -> None:
        """Serve a market-data, trading or account method (:mod:`._wsapi_calls`)."""
        hub = self.api_hub
        reader = Reader(params)
        call = Call(reader, hub, self.venue, hub.server_ms(), lambda: self._signed(reader))
        weight = spec.weigh(params)
        try:
            if spec.signed:
                call.auth()
            result = spec.handler(call)
            reader.finish()
        except ApiError as error:
            # a cancel-replace that half failed still changed orders (and counts one)
            orders = self._order_limits(spec, call, call.placed)
            self._respond(request_id, method, params, error=error, weight=weight, orders=orders)
        else:
            orders = self._order_limits(spec, call, call.placed)
            if spec.free_on_success:
                weight = 0
            self._respond(request_id, method, params, result=result, weight=weight, orders=orders)
        account = call.account
        if account is not None and call.events:
            events = call.events

            def deliver() -> None:
                account.deliver(events)

            self._after = [*(self._after or []), deliver]
        self._run_after()

    def _order_limits(self, spec: Method, call: Call, placed: int) -> list[dict] | None:
        """The ``ORDERS`` entries of an order method's ``rateLimits`` (counting ``placed``)."""
        account = call.account
        if not spec.orders or account is None:
            return None
        if self.venue == "futures":
            return account.futures.rate_limits(call.now, placed)
        account.spot.count_orders(call.now, placed)
        return account.spot.rate_limits(call.now)

    def _signed(self, reader: Reader) -> FakeAccount:
        """The account of a signed request: its own signature, else the logged-on key.

        After ``session.logon`` a request may leave out ``apiKey`` and ``signature`` but
        still needs ``timestamp`` (binance-platform.md §4.6).
        """
        params = reader.params
        reader.mark(*AUTH)
        if (
            self._logon is not None
            and params.get("signature") in (None, "")
            and params.get("apiKey") in (None, "")
        ):
            hub = self.api_hub
            account = hub.userdata.authorise(self._logon.api_key, self.venue)
            if params.get("timestamp") in (None, ""):
                raise mandatory("timestamp")
            check_timestamp(params, hub.server_ms())
            return account
        return self._verified(dict(params), self.venue)

    def _respond(
        self,
        request_id: RequestId,
        method: str | None,
        params: dict[str, Any],
        *,
        result: Any = None,
        error: ApiError | None = None,
        frame: str | None = None,
        weight: int | None = None,
        orders: list[dict[str, Any]] | None = None,
    ) -> None:
        hub = self.api_hub
        if weight is None:
            weight = _WEIGHTS.get(method or "", _DEFAULT_WEIGHT)
        count = hub.weigh(weight, self.venue)
        response: dict[str, Any] = {"id": request_id}
        if error is None:
            response.update(status=200, result=result)
        else:
            response.update(status=error.status, error=error.error())
            detail = {"id": request_id, "method": method, "status": error.status}
            detail.update(code=error.code, msg=error.msg)
            if frame is not None:
                detail["frame"] = frame
            hub.record("invalid", self, detail)
        wanted = params.get("returnRateLimits", self.return_rate_limits)
        if wanted is True or (isinstance(wanted, str) and wanted.lower() == "true"):
            limit = FUTURES_WEIGHT_LIMIT if self.venue == "futures" else WEIGHT_LIMIT
            response["rateLimits"] = [
                *(orders or []),
                {
                    "rateLimitType": "REQUEST_WEIGHT",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": limit,
                    "count": count,
                },
            ]
        self.send(dumps(response))

    def _invalid(self, request_id: RequestId, method: Any, error: ApiError, payload: bytes) -> None:
        excerpt = redact_text(payload[:_FRAME_EXCERPT].decode("utf-8", "replace"))
        name = method if isinstance(method, str) else None
        self._respond(request_id, name, {}, error=error, frame=excerpt)

    # -- user data --------------------------------------------------------------------------

    # -- methods --------------------------------------------------------------------------

    def _ping(self, params: dict[str, Any]) -> Any:
        Reader(params).finish()
        return {}

    def _time(self, params: dict[str, Any]) -> Any:
        Reader(params).finish()
        return {"serverTime": self.hub.server_ms()}  # type: ignore[attr-defined]

    def _status(self) -> dict[str, Any]:
        return {
            "apiKey": self.logged_on,
            "authorizedSince": self._authorized_since,
            "connectedSince": self.connected_since,
            "returnRateLimits": self.return_rate_limits,
            "serverTime": self.hub.server_ms(),  # type: ignore[attr-defined]
            "userDataStream": bool(self._subs),
        }

    def _session_logon(self, params: dict[str, Any]) -> Any:
        hub = self.api_hub
        account = self._verified(params, self.venue)
        if account.key_type not in hub.logon_key_types:
            raise invalid_signature()
        self._logon, self._authorized_since = account, hub.server_ms()
        return self._status()

    def _session_status(self, params: dict[str, Any]) -> Any:
        return self._status()

    def _session_logout(self, params: dict[str, Any]) -> Any:
        for subscription in list(self._subs.values()):
            if subscription.via == "logon":
                self._drop_after_response(subscription, "logout")
        self._logon = self._authorized_since = None
        return self._status()


_METHODS: dict[str, Callable[[WsApiConnection, dict[str, Any]], Any]] = {
    "ping": WsApiConnection._ping,
    "time": WsApiConnection._time,
    "session.logon": WsApiConnection._session_logon,
    "session.status": WsApiConnection._session_status,
    "session.logout": WsApiConnection._session_logout,
    "session.subscriptions": WsApiConnection._subscriptions,
    "userDataStream.subscribe": WsApiConnection._subscribe_logon,
    "userDataStream.subscribe.signature": WsApiConnection._subscribe_signature,
    "userDataStream.subscribe.listenToken": WsApiConnection._subscribe_token,
    "userDataStream.unsubscribe": WsApiConnection._unsubscribe,
}
