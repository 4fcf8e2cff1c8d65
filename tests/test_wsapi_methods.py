"""The generated python-binance ``ws_*`` methods of WebSocketAPI (binance_twisted.wsapi.methods).

Most tests replace ``request`` on a real (never connected) WebSocketAPI with a recorder; one
class drives the wire through ``tests.support.Harness`` on a MemoryReactorClock.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import hmac
import inspect
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from twisted.internet import defer
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from binance_twisted.endpoints import Endpoints
from binance_twisted.errors import BinanceAPIError
from binance_twisted.signing import ws_api_payload
from binance_twisted.wsapi.connection import WebSocketAPI
from binance_twisted.wsapi.methods import WsApiMethods
from binance_twisted.wsapi.table import METHODS, WsApiMethod, check_market, check_table
from tests.support import Harness, requests
from tests.vectors import API_KEY as KEY, SECRET

URL = "ws://127.0.0.1:9/ws-api/v3"

# name: (WS API method, signed, market), written out independently of the table.
EXPECTED: dict[str, tuple[str, bool, str]] = {
    "ws_ping": ("ping", False, "spot"),
    "ws_get_time": ("time", False, "spot"),
    "ws_get_exchange_info": ("exchangeInfo", False, "spot"),
    "ws_get_order_book": ("depth", False, "spot"),
    "ws_get_recent_trades": ("trades.recent", False, "spot"),
    "ws_get_historical_trades": ("trades.historical", False, "spot"),
    "ws_get_aggregate_trades": ("trades.aggregate", False, "spot"),
    "ws_get_klines": ("klines", False, "spot"),
    "ws_get_uiKlines": ("uiKlines", False, "spot"),
    "ws_get_avg_price": ("avgPrice", False, "spot"),
    "ws_get_ticker": ("ticker.24hr", False, "spot"),
    "ws_get_trading_day_ticker": ("ticker.tradingDay", False, "spot"),
    "ws_get_symbol_ticker": ("ticker.price", False, "spot"),
    "ws_get_symbol_ticker_window": ("ticker", False, "spot"),
    "ws_get_orderbook_ticker": ("ticker.book", False, "spot"),
    "ws_session_logon": ("session.logon", True, "spot"),
    "ws_session_status": ("session.status", False, "spot"),
    "ws_session_logout": ("session.logout", False, "spot"),
    "ws_get_account": ("account.status", True, "spot"),
    "ws_get_account_rate_limits_orders": ("account.rateLimits.orders", True, "spot"),
    "ws_get_order": ("order.status", True, "spot"),
    "ws_get_open_orders": ("openOrders.status", True, "spot"),
    "ws_get_all_orders": ("allOrders", True, "spot"),
    "ws_get_my_trades": ("myTrades", True, "spot"),
    "ws_get_prevented_matches": ("myPreventedMatches", True, "spot"),
    "ws_get_allocations": ("myAllocations", True, "spot"),
    "ws_get_commission_rates": ("account.commission", True, "spot"),
    "ws_create_order": ("order.place", True, "spot"),
    "ws_create_test_order": ("order.test", True, "spot"),
    "ws_order_limit": ("order.place", True, "spot"),
    "ws_order_limit_buy": ("order.place", True, "spot"),
    "ws_order_limit_sell": ("order.place", True, "spot"),
    "ws_order_market": ("order.place", True, "spot"),
    "ws_order_market_buy": ("order.place", True, "spot"),
    "ws_order_market_sell": ("order.place", True, "spot"),
    "ws_cancel_order": ("order.cancel", True, "spot"),
    "ws_cancel_and_replace_order": ("order.cancelReplace", True, "spot"),
    "ws_cancel_all_open_orders": ("openOrders.cancelAll", True, "spot"),
    "ws_create_oco_order": ("orderList.place.oco", True, "spot"),
    "ws_create_oto_order": ("orderList.place.oto", True, "spot"),
    "ws_create_otoco_order": ("orderList.place.otoco", True, "spot"),
    "ws_get_oco_order": ("orderList.status", True, "spot"),
    "ws_get_order_list": ("orderList.status", True, "spot"),
    "ws_cancel_oco_order": ("orderList.cancel", True, "spot"),
    "ws_cancel_order_list": ("orderList.cancel", True, "spot"),
    "ws_get_oco_open_orders": ("openOrderLists.status", True, "spot"),
    "ws_get_open_order_lists": ("openOrderLists.status", True, "spot"),
    "ws_get_all_order_lists": ("allOrderLists", True, "spot"),
    "ws_create_sor_order": ("sor.order.place", True, "spot"),
    "ws_create_test_sor_order": ("sor.order.test", True, "spot"),
    "ws_futures_get_order_book": ("depth", False, "futures"),
    "ws_futures_get_all_tickers": ("ticker.price", False, "futures"),
    "ws_futures_get_order_book_ticker": ("ticker.book", False, "futures"),
    "ws_futures_create_order": ("order.place", True, "futures"),
    "ws_futures_edit_order": ("order.modify", True, "futures"),
    "ws_futures_cancel_order": ("order.cancel", True, "futures"),
    "ws_futures_create_algo_order": ("algoOrder.place", True, "futures"),
    "ws_futures_cancel_algo_order": ("algoOrder.cancel", True, "futures"),
    "ws_futures_get_order": ("order.status", True, "futures"),
    "ws_futures_v2_account_position": ("v2/account.position", True, "futures"),
    "ws_futures_account_position": ("account.position", True, "futures"),
    "ws_futures_v2_account_balance": ("v2/account.balance", True, "futures"),
    "ws_futures_account_balance": ("account.balance", True, "futures"),
    "ws_futures_v2_account_status": ("v2/account.status", True, "futures"),
    "ws_futures_account_status": ("account.status", True, "futures"),
}

# Rows that need one of several parameters (the group, as Binance documents it).
ONE_OF: dict[str, tuple[str, ...]] = {
    "ws_get_trading_day_ticker": ("symbol", "symbols"),
    "ws_get_symbol_ticker_window": ("symbol", "symbols"),
    "ws_get_order": ("orderId", "origClientOrderId"),
    "ws_cancel_order": ("orderId", "origClientOrderId"),
    "ws_cancel_and_replace_order": ("cancelOrderId", "cancelOrigClientOrderId"),
    "ws_order_market": ("quantity", "quoteOrderQty"),
    "ws_order_market_buy": ("quantity", "quoteOrderQty"),
    "ws_order_market_sell": ("quantity", "quoteOrderQty"),
    "ws_get_oco_order": ("origClientOrderId", "orderListId"),
    "ws_get_order_list": ("origClientOrderId", "orderListId"),
    "ws_cancel_oco_order": ("orderListId", "listClientOrderId"),
    "ws_cancel_order_list": ("orderListId", "listClientOrderId"),
    "ws_futures_edit_order": ("orderId", "origClientOrderId"),
    "ws_futures_cancel_order": ("orderId", "origClientOrderId"),
    "ws_futures_get_order": ("orderId", "origClientOrderId"),
    "ws_futures_cancel_algo_order": ("algoId", "clientAlgoId"),
}


class Recorder:
    """Stands in for ``WebSocketAPI.request``: records each call, returns a fresh Deferred."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any] | None, bool]] = []
        self.returned: list[defer.Deferred] = []

    def __call__(
        self, method: str, params: dict[str, Any] | None = None, *, signed: bool = False
    ) -> defer.Deferred:
        self.calls.append((method, params, signed))
        d: defer.Deferred = defer.Deferred()
        self.returned.append(d)
        return d


def recording_api(market: str = "spot") -> tuple[WebSocketAPI, Recorder]:
    api = WebSocketAPI(
        MemoryReactorClock(), url=URL, api_key=KEY, private_key_or_secret=SECRET, market=market
    )
    recorder = Recorder()
    api.request = recorder  # type: ignore[method-assign]
    return api, recorder


def api_for(row: WsApiMethod) -> tuple[WebSocketAPI, Recorder]:
    return recording_api(row.market)


def minimal_kwargs(row: WsApiMethod) -> dict[str, Any]:
    """Every required parameter, and the first member of each "one of" group."""
    kwargs: dict[str, Any] = {name: f"r-{name}" for name in row.required}
    for group in row.one_of:
        kwargs[group[0]] = f"g-{group[0]}"
    return kwargs


def sent_params(params: dict[str, Any] | None) -> dict[str, Any]:
    return dict(params or {})


class TableTests(SynchronousTestCase):
    def test_table_has_the_python_binance_names_and_ws_methods(self) -> None:
        """Every expected name is a row with the right WS API method, signed flag and market."""
        self.assertEqual(sorted(METHODS), sorted(EXPECTED))
        for name, row in METHODS.items():
            self.assertEqual((row.method, row.signed, row.market), EXPECTED[name], name)
            self.assertEqual(row.name, name)

    def test_one_of_groups_are_the_documented_ones(self) -> None:
        """Exactly the rows Binance documents as "one of …" carry that group."""
        groups = {name: row.one_of for name, row in METHODS.items() if row.one_of}
        self.assertEqual(groups, {name: (group,) for name, group in ONE_OF.items()})

    def test_recv_window_is_accepted_by_signed_methods_only(self) -> None:
        """recvWindow is allowed on every signed method and refused by the unsigned ones."""
        for row in METHODS.values():
            api, recorder = api_for(row)
            kwargs = {**minimal_kwargs(row), "recvWindow": 5000}
            method = getattr(api, row.name)
            if row.signed:
                method(**kwargs)
                self.assertEqual(sent_params(recorder.calls[-1][1])["recvWindow"], 5000, row.name)
            else:
                self.assertRaises(ValueError, method, **kwargs)
                self.assertEqual(recorder.calls, [], row.name)

    def test_methods_table_is_read_only(self) -> None:
        """METHODS, its rows and their fixed/default mappings cannot be changed."""
        row = METHODS["ws_order_limit_buy"]
        with self.assertRaises(TypeError):
            METHODS["ws_ping"] = row  # type: ignore[index]
        with self.assertRaises(TypeError):
            del METHODS["ws_ping"]  # type: ignore[attr-defined]
        with self.assertRaises(dataclasses.FrozenInstanceError):
            row.method = "order.test"  # type: ignore[misc]
        with self.assertRaises(TypeError):
            row.fixed["side"] = "SELL"  # type: ignore[index]
        with self.assertRaises(TypeError):
            row.defaults["timeInForce"] = "IOC"  # type: ignore[index]
        self.assertIsInstance(row.required, tuple)
        self.assertIsInstance(row.optional, tuple)

    def test_check_table_rejects_inconsistent_rows(self) -> None:
        """Duplicates, loose one-of members, unsigned-only rows and bad markets are refused."""
        ok = METHODS["ws_get_order"]
        bad_rows = [
            [ok, ok],
            [dataclasses.replace(ok, one_of=(("nope",),))],
            [dataclasses.replace(ok, optional=("orderId", "origClientOrderId"))],
            [dataclasses.replace(ok, market="margin")],
            [dataclasses.replace(ok, name="get_order")],
            [dataclasses.replace(ok, required=("symbol", "symbol"))],
            [dataclasses.replace(ok, defaults=MappingProxyType({"limit": "5"}))],
        ]
        for rows in bad_rows:
            self.assertRaises(ValueError, check_table, rows)
        self.assertEqual(list(check_table([ok])), ["ws_get_order"])


class StubTests(SynchronousTestCase):
    def test_the_shipped_stub_declares_every_method_as_the_table_says(self) -> None:
        """wsapi/declarations.pyi (installed, with py.typed) equals its rendering."""
        import runpy
        from pathlib import Path

        import binance_twisted

        script = Path(__file__).resolve().parent.parent / "scripts" / "render_ws_stubs.py"
        render = runpy.run_path(str(script))["render"]
        package = Path(binance_twisted.__file__).parent
        self.assertTrue((package / "py.typed").exists(), "py.typed is not installed")
        stub = (package / "wsapi" / "declarations.pyi").read_text()
        self.assertEqual(stub, render(), "regenerate it: python scripts/render_ws_stubs.py")
        for name in METHODS:
            self.assertIn(f"def {name}(", stub)


class RequestTests(SynchronousTestCase):
    def test_every_row_sends_its_method_params_and_signed_flag(self) -> None:
        """Required and optional params go through unchanged; the request's Deferred returns."""
        for name, row in METHODS.items():
            api, recorder = api_for(row)
            kwargs: dict[str, Any] = {param: f"r-{param}" for param in row.required}
            kwargs.update({param: f"o-{param}" for param in row.optional})
            result = getattr(api, name)(**kwargs)
            ws_method, signed, _market = EXPECTED[name]
            self.assertEqual(len(recorder.calls), 1, name)
            method, params, sent_signed = recorder.calls[0]
            self.assertEqual((method, sent_signed), (ws_method, signed), name)
            self.assertEqual(sent_params(params), {**kwargs, **row.fixed}, name)
            self.assertIs(result, recorder.returned[0], name)

    def test_every_row_drops_none_values(self) -> None:
        """Optional params given as None are not sent (defaults and fixed params still are)."""
        for name, row in METHODS.items():
            api, recorder = api_for(row)
            kwargs = minimal_kwargs(row)
            nones = {param: None for param in row.optional if param not in kwargs}
            getattr(api, name)(**kwargs, **nones)
            expected = {**kwargs, **row.defaults, **row.fixed}
            self.assertEqual(sent_params(recorder.calls[0][1]), expected, name)
            self.assertFalse(any(v is None for v in expected.values()), name)

    def test_methods_without_params_send_none(self) -> None:
        """ws_ping() and ws_session_logout() send no params object at all."""
        api, recorder = recording_api()
        api.ws_ping()
        api.ws_session_logout()
        self.assertEqual(recorder.calls, [("ping", None, False), ("session.logout", None, False)])

    def test_every_missing_required_parameter_is_named(self) -> None:
        """Leaving out (or passing None for) a required param raises before sending."""
        for name, row in METHODS.items():
            for param in row.required:
                api, recorder = api_for(row)
                kwargs = minimal_kwargs(row)
                for value in (None, "absent"):
                    if value is None:
                        kwargs[param] = None
                    else:
                        del kwargs[param]
                    with self.assertRaises(ValueError) as caught:
                        getattr(api, name)(**kwargs)
                    message = str(caught.exception)
                    self.assertIn(f"{name}() missing required parameter '{param}'", message)
                    self.assertIn("allowed: " + ", ".join(row.allowed), message)
                self.assertEqual(recorder.calls, [], name)

    def test_missing_parameters_are_all_listed(self) -> None:
        """Several missing params are named together, in table order."""
        api, recorder = recording_api()
        with self.assertRaises(ValueError) as caught:
            api.ws_get_klines(limit=5)
        self.assertEqual(
            str(caught.exception),
            "ws_get_klines() missing required parameters 'symbol', 'interval'; "
            "allowed: symbol, interval, startTime, endTime, timeZone, limit",
        )
        self.assertEqual(recorder.calls, [])

    def test_order_book_error_message_is_exact(self) -> None:
        """The message format the brief gives for ws_get_order_book()."""
        api, _ = recording_api()
        with self.assertRaises(ValueError) as caught:
            api.ws_get_order_book()
        self.assertEqual(
            str(caught.exception),
            "ws_get_order_book() missing required parameter 'symbol'; "
            "allowed: symbol, limit, symbolStatus",
        )

    def test_one_of_groups_need_a_member(self) -> None:
        """A row with a "one of" group refuses a call that gives none of its members."""
        for name, group in ONE_OF.items():
            row = METHODS[name]
            api, recorder = api_for(row)
            kwargs = {param: f"r-{param}" for param in row.required}
            with self.assertRaises(ValueError) as caught:
                getattr(api, name)(**kwargs)
            quoted = ", ".join(f"'{p}'" for p in group)
            self.assertIn(f"{name}() needs one of {quoted}", str(caught.exception))
            for member in group:
                getattr(api, name)(**kwargs, **{member: 7})
                self.assertEqual(sent_params(recorder.calls[-1][1])[member], 7, name)

    def test_unknown_parameters_are_refused_with_the_allowed_list(self) -> None:
        """An unknown param raises naming it and every allowed param; nothing is sent."""
        for name, row in METHODS.items():
            api, recorder = api_for(row)
            with self.assertRaises(ValueError) as caught:
                getattr(api, name)(**minimal_kwargs(row), bogus=1, alsoBogus=None)
            message = str(caught.exception)
            self.assertIn(f"{name}() got unknown parameters 'bogus', 'alsoBogus'", message)
            self.assertTrue(message.endswith("allowed: " + (", ".join(row.allowed) or "(none)")))
            self.assertEqual(recorder.calls, [], name)

    def test_positional_arguments_are_refused(self) -> None:
        """Generated methods take keyword arguments only."""
        api, recorder = recording_api()
        self.assertRaises(TypeError, api.ws_get_order_book, "BTCUSDT")
        self.assertEqual(recorder.calls, [])


class ShortcutTests(SynchronousTestCase):
    def test_limit_shortcuts_add_type_side_and_default_time_in_force(self) -> None:
        """ws_order_limit* send type=LIMIT, their side, and timeInForce=GTC unless given."""
        api, recorder = recording_api()
        base = {"symbol": "BTCUSDT", "quantity": "1", "price": "2"}
        api.ws_order_limit(side="SELL", **base)
        api.ws_order_limit_buy(**base)
        api.ws_order_limit_sell(timeInForce="IOC", **base)
        limit = {**base, "type": "LIMIT"}
        self.assertEqual(
            [params for _, params, _ in recorder.calls],
            [
                {**limit, "side": "SELL", "timeInForce": "GTC"},
                {**limit, "side": "BUY", "timeInForce": "GTC"},
                {**limit, "side": "SELL", "timeInForce": "IOC"},
            ],
        )
        self.assertEqual({(m, s) for m, _, s in recorder.calls}, {("order.place", True)})

    def test_market_shortcuts_add_type_and_side(self) -> None:
        """ws_order_market* send type=MARKET (and their side), no timeInForce."""
        api, recorder = recording_api()
        api.ws_order_market(symbol="BTCUSDT", side="BUY", quantity="1")
        api.ws_order_market_buy(symbol="BTCUSDT", quoteOrderQty="10")
        api.ws_order_market_sell(symbol="BTCUSDT", quantity="1")
        self.assertEqual(
            [params for _, params, _ in recorder.calls],
            [
                {"symbol": "BTCUSDT", "side": "BUY", "quantity": "1", "type": "MARKET"},
                {"symbol": "BTCUSDT", "side": "BUY", "quoteOrderQty": "10", "type": "MARKET"},
                {"symbol": "BTCUSDT", "side": "SELL", "quantity": "1", "type": "MARKET"},
            ],
        )

    def test_fixed_params_cannot_be_overridden(self) -> None:
        """Passing a shortcut's fixed type or side is an unknown-parameter error."""
        api, recorder = recording_api()
        base = {"symbol": "BTCUSDT", "quantity": "1", "price": "2"}
        self.assertRaises(ValueError, api.ws_order_limit_buy, side="SELL", **base)
        self.assertRaises(ValueError, api.ws_order_limit, side="BUY", type="MARKET", **base)
        self.assertRaises(ValueError, api.ws_order_market_sell, symbol="X", type="LIMIT")
        self.assertEqual(recorder.calls, [])


class ConversionTests(SynchronousTestCase):
    def test_bools_decimals_and_enums_are_converted(self) -> None:
        """True/False → "true"/"false", Decimal → plain text, Enum → its value."""

        class Side(enum.Enum):
            BUY = "BUY"

        api, recorder = recording_api("futures")
        api.ws_futures_create_order(
            symbol="BTCUSDT",
            side=Side.BUY,
            type="LIMIT",
            quantity=Decimal("1E-8"),
            price=Decimal("25000.10"),
            reduceOnly=True,
            closePosition=False,
        )
        params = sent_params(recorder.calls[0][1])
        self.assertEqual(params["side"], "BUY")
        self.assertEqual(params["quantity"], "0.00000001")
        self.assertEqual(params["price"], "25000.10")
        self.assertEqual((params["reduceOnly"], params["closePosition"]), ("true", "false"))

    def test_other_values_are_sent_as_given(self) -> None:
        """Ints, floats, strings and lists are not touched."""
        api, recorder = recording_api()
        symbols = ["BTCUSDT", "ETHUSDT"]
        api.ws_get_exchange_info(symbols=symbols)
        api.ws_get_klines(symbol="BTCUSDT", interval="1m", limit=5, startTime=1.5)
        first, second = (sent_params(params) for _, params, _ in recorder.calls)
        self.assertIs(first["symbols"], symbols)
        self.assertEqual(
            second, {"symbol": "BTCUSDT", "interval": "1m", "limit": 5, "startTime": 1.5}
        )

    def test_non_finite_decimals_are_refused(self) -> None:
        """Decimal NaN or Infinity raises ValueError naming the parameter."""
        api, recorder = recording_api()
        for value in (Decimal("NaN"), Decimal("Infinity")):
            with self.assertRaises(ValueError) as caught:
                api.ws_order_limit_buy(symbol="BTCUSDT", quantity=value, price="1")
            self.assertIn("'quantity'", str(caught.exception))
        self.assertEqual(recorder.calls, [])


class MarketTests(SynchronousTestCase):
    def test_futures_methods_are_refused_on_a_spot_connection(self) -> None:
        """Every futures row raises on a Spot connection before sending."""
        api, recorder = recording_api("spot")
        for row in METHODS.values():
            if row.market != "futures":
                continue
            with self.assertRaises(ValueError) as caught:
                getattr(api, row.name)(**minimal_kwargs(row))
            self.assertIn(f"{row.name}() is a USD-M futures method", str(caught.exception))
            self.assertIn("WebSocketAPI.futures", str(caught.exception))
        self.assertEqual(recorder.calls, [])

    def test_spot_methods_are_refused_on_a_futures_connection(self) -> None:
        """Every Spot row raises on a futures connection before sending."""
        api, recorder = recording_api("futures")
        for row in METHODS.values():
            if row.market != "spot":
                continue
            with self.assertRaises(ValueError) as caught:
                getattr(api, row.name)(**minimal_kwargs(row))
            self.assertIn(f"{row.name}() is a Spot method", str(caught.exception))
        self.assertEqual(recorder.calls, [])

    def test_market_is_checked_before_parameters(self) -> None:
        """The wrong market is reported even when parameters are also wrong."""
        api, _ = recording_api("spot")
        with self.assertRaises(ValueError) as caught:
            api.ws_futures_get_order_book(bogus=1)
        self.assertIn("USD-M futures method", str(caught.exception))

    def test_futures_constructor_uses_the_futures_url(self) -> None:
        """WebSocketAPI.futures() connects to futures_ws_api_url with market="futures"."""
        endpoints = Endpoints.for_tld("com")
        api = WebSocketAPI.futures(MemoryReactorClock(), endpoints, api_key=KEY)
        self.assertIsInstance(api, WebSocketAPI)
        self.assertEqual(api.market, "futures")
        self.assertEqual(api.url_for_attempt(), endpoints.futures_ws_api_url)
        self.assertEqual(api.name, "ws-fapi")
        self.assertEqual(api.api_key, KEY)
        spot = WebSocketAPI(MemoryReactorClock(), endpoints)
        self.assertEqual(spot.market, "spot")

    def test_futures_constructor_needs_a_futures_ws_api(self) -> None:
        """Endpoints without a USD-M futures WS API (binance.us) are refused."""
        with self.assertRaises(ValueError) as caught:
            WebSocketAPI.futures(MemoryReactorClock(), Endpoints.for_tld("us"))
        self.assertIn("binance.us", str(caught.exception))

    def test_unknown_market_is_refused(self) -> None:
        """market must be "spot" or "futures"."""
        self.assertRaises(ValueError, WebSocketAPI, MemoryReactorClock(), url=URL, market="margin")
        self.assertRaises(ValueError, check_market, "Futures")
        self.assertEqual(check_market("futures"), "futures")


class IntrospectionTests(SynchronousTestCase):
    def test_signatures_are_keyword_only_with_the_table_params(self) -> None:
        """inspect.signature shows every allowed param keyword-only; required ones bare."""
        api, _ = recording_api()
        for name, row in METHODS.items():
            signature = inspect.signature(getattr(api, name))
            params = list(signature.parameters.values())
            self.assertEqual([p.name for p in params], list(row.allowed), name)
            self.assertEqual({p.kind for p in params} - {inspect.Parameter.KEYWORD_ONLY}, set())
            for param in params:
                if param.name in row.required:
                    self.assertIs(param.default, inspect.Parameter.empty, name)
                else:
                    self.assertEqual(param.default, row.defaults.get(param.name), name)
        limit = inspect.signature(WebSocketAPI.ws_order_limit_buy).parameters
        self.assertEqual(limit["timeInForce"].default, "GTC")
        self.assertIn("self", limit)

    def test_docstrings_name_method_signing_and_params(self) -> None:
        """Each method's docstring names its WS API method, signed or not, and its params."""
        for name, row in METHODS.items():
            method = getattr(WebSocketAPI, name)
            self.assertEqual(method.__name__, name)
            doc = method.__doc__ or ""
            self.assertIn(f"``{row.method}``", doc, name)
            self.assertIn("(signed)" if row.signed else "(unsigned)", doc, name)
            self.assertIn("Required: " + (", ".join(row.required) or "(none)"), doc, name)
            self.assertIn("Optional: " + (", ".join(row.optional) or "(none)"), doc, name)
            for key, value in row.fixed.items():
                self.assertIn(f"{key}={value}", doc, name)
        self.assertIn("USD-M futures", WebSocketAPI.ws_futures_get_order.__doc__ or "")

    def test_generated_methods_are_not_overridden(self) -> None:
        """WebSocketAPI gets every generated method from the mixin, unshadowed."""
        for name in METHODS:
            self.assertNotIn(name, vars(WebSocketAPI))
            self.assertIs(getattr(WebSocketAPI, name), vars(WsApiMethods)[name])


def api_harness(**options: Any) -> Harness:
    def make(clock: Any, on_event: Any) -> WebSocketAPI:
        return WebSocketAPI(
            clock, url=URL, api_key=KEY, private_key_or_secret=SECRET, on_event=on_event, **options
        )

    return Harness(make=make)


class WireTests(SynchronousTestCase):
    def test_unsigned_method_goes_on_the_wire_and_fires(self) -> None:
        """ws_get_order_book sends depth with its params, unsigned, and fires with result."""
        harness = api_harness()
        d = harness.connection.ws_get_order_book(symbol="BTCUSDT", limit=5, symbolStatus=None)
        proto = harness.open()
        (request,) = requests(proto, "depth")
        self.assertEqual(request["params"], {"symbol": "BTCUSDT", "limit": 5})
        harness.send(proto, {"id": request["id"], "status": 200, "result": {"lastUpdateId": 1}})
        self.assertEqual(self.successResultOf(d), {"lastUpdateId": 1})

    def test_signed_shortcut_is_signed_over_the_converted_params(self) -> None:
        """ws_order_limit_buy sends order.place with fixed params and a valid HMAC."""
        harness = api_harness()
        d = harness.connection.ws_order_limit_buy(
            symbol="BTCUSDT", quantity=Decimal("0.00100000"), price=Decimal("25000.1")
        )
        proto = harness.open()
        (request,) = requests(proto, "order.place")
        params = request["params"]
        self.assertEqual(
            {k: params[k] for k in ("symbol", "side", "type", "timeInForce", "quantity", "price")},
            {
                "symbol": "BTCUSDT",
                "side": "BUY",
                "type": "LIMIT",
                "timeInForce": "GTC",
                "quantity": "0.00100000",
                "price": "25000.1",
            },
        )
        self.assertEqual(params["apiKey"], KEY)
        expected = hmac.new(
            SECRET.encode(), ws_api_payload(params).encode(), hashlib.sha256
        ).hexdigest()
        self.assertEqual(params["signature"], expected)
        error = {"code": -2010, "msg": "Account has insufficient balance for requested action."}
        harness.send(proto, {"id": request["id"], "status": 400, "error": error})
        failure = self.failureResultOf(d, BinanceAPIError)
        self.assertEqual(failure.value.code, -2010)

    def test_bool_params_are_signed_as_sent(self) -> None:
        """ws_get_account(omitZeroBalances=True) sends "true" and signs that same text."""
        harness = api_harness()
        harness.connection.ws_get_account(omitZeroBalances=True)
        proto = harness.open()
        (request,) = requests(proto, "account.status")
        params = request["params"]
        self.assertEqual(params["omitZeroBalances"], "true")
        self.assertIn("omitZeroBalances=true", ws_api_payload(params))
        expected = hmac.new(
            SECRET.encode(), ws_api_payload(params).encode(), hashlib.sha256
        ).hexdigest()
        self.assertEqual(params["signature"], expected)
