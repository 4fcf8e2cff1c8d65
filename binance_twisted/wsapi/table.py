"""The python-binance 1.x ``ws_*`` methods as data: one :class:`WsApiMethod` row each.

:data:`METHODS` maps each method name to a row: the WebSocket API method it sends, whether
it is signed, which market's connection it belongs to (``"spot"``: the Spot WS API,
``"futures"``: the USD-M futures one at ``ws-fapi``), its required and optional parameters,
any "one of these is needed" groups, and the parameters a shortcut fixes or defaults
(``ws_order_limit_buy`` sends ``type=LIMIT``, ``side=BUY``, ``timeInForce=GTC`` unless told
otherwise). :mod:`binance_twisted.wsapi.methods` turns every row into a method of
:class:`~binance_twisted.wsapi.WebSocketAPI`, and :mod:`binance_twisted.legacy.blocking` into
a blocking one of the legacy managers; nothing is written out one by one.

:meth:`WsApiMethod.build` checks the keyword arguments of a call before anything is sent:
unknown parameters and missing required ones raise a ``ValueError`` that names the method,
the offending parameter(s) and the allowed ones; ``None`` values are dropped; ``True``/``False``
go as ``"true"``/``"false"`` (USD-M futures documents its flags as strings; Spot accepts
either), ``Decimal`` as plain decimal text (``Decimal("1E-8")`` as ``"0.00000001"``) and an
``Enum`` member as its value; anything else goes as given.

Names and WS API methods follow python-binance 1.x (``binance/client.py``, ``ws_*``);
``ws_get_all_order_lists``, ``ws_session_*`` and the ``ws_cancel_order_list``,
``ws_get_order_list`` and ``ws_get_open_order_lists`` aliases are additions of this package.
Parameter lists follow Binance's Spot ``web-socket-api.md`` and the USD-M futures WebSocket
API reference. Unlike python-binance, ``ws_create_order`` does not invent a
``newClientOrderId`` (Binance generates one when it is left out).
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import keyword
from collections.abc import Iterable, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any

__all__ = ["MARKETS", "METHODS", "WsApiMethod", "check_market", "check_table"]

#: The markets a WebSocket API connection can serve.
MARKETS = ("spot", "futures")

_RECV_WINDOW = "recvWindow"
#: how each market is named in messages
MARKET_NAMES = {"spot": "Spot", "futures": "USD-M futures"}


def check_market(market: object) -> str:
    """Return ``market`` if it is one of :data:`MARKETS`, else raise ``ValueError``."""
    if market not in MARKETS:
        raise ValueError(f"market must be one of {', '.join(map(repr, MARKETS))}, not {market!r}")
    return market


@dataclasses.dataclass(frozen=True)
class WsApiMethod:
    """One row of the table: a python-binance ``ws_*`` name and what it sends."""

    name: str
    #: The WebSocket API method, e.g. ``"depth"`` or ``"v2/account.position"``.
    method: str
    #: ``"spot"`` or ``"futures"``: the connection the method is valid on.
    market: str
    signed: bool
    required: tuple[str, ...]
    #: Includes ``recvWindow`` on signed rows, the members of :attr:`one_of` and the names
    #: with a :attr:`defaults` value.
    optional: tuple[str, ...]
    #: Groups of optional parameters of which at least one must be given.
    one_of: tuple[tuple[str, ...], ...] = ()
    #: Parameters the method always sends with these values; they cannot be passed.
    fixed: Mapping[str, str] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    #: Values sent for these optional parameters when they are not given (or given as None).
    defaults: Mapping[str, str] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    summary: str = ""

    def parameters(self) -> list[inspect.Parameter]:
        """The keyword-only parameters of the generated methods: required, then optional."""
        kw = inspect.Parameter.KEYWORD_ONLY
        params = [inspect.Parameter(name, kw) for name in self.required]
        defaults = self.defaults
        params += [inspect.Parameter(n, kw, default=defaults.get(n)) for n in self.optional]
        return params

    @property
    def allowed(self) -> tuple[str, ...]:
        """Every parameter the method accepts: the required ones, then the optional ones."""
        return self.required + self.optional

    def build(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Check ``given`` keyword arguments and return the params to send.

        Raises ``ValueError`` for unknown parameters, a missing required parameter or an
        unmet "one of" group. ``None`` values count as not given.
        """
        allowed = self.allowed
        unknown = [name for name in given if name not in allowed]
        if unknown:
            raise ValueError(
                f"{self.name}() got unknown {_names('parameter', unknown)}; {self._hint()}"
            )
        present = {name: value for name, value in given.items() if value is not None}
        missing = [name for name in self.required if name not in present]
        if missing:
            raise ValueError(
                f"{self.name}() missing required {_names('parameter', missing)}; {self._hint()}"
            )
        for group in self.one_of:
            if not any(name in present for name in group):
                raise ValueError(f"{self.name}() needs one of {_quoted(group)}; {self._hint()}")
        params: dict[str, Any] = {}
        for name in allowed:
            if name in present:
                params[name] = _convert(self.name, name, present[name])
            elif name in self.defaults:
                params[name] = self.defaults[name]
        params.update(self.fixed)
        return params

    def signature(self, returns: Any = inspect.Signature.empty) -> inspect.Signature:
        """The signature a generated method shows to ``help()`` and ``inspect``."""
        this = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
        return inspect.Signature([this, *self.parameters()], return_annotation=returns)

    def _hint(self) -> str:
        return f"allowed: {', '.join(self.allowed) or '(none)'}"


def _names(noun: str, names: list[str]) -> str:
    return f"{noun}{'s' if len(names) > 1 else ''} {_quoted(names)}"


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)


def _convert(method: str, name: str, value: Any) -> Any:
    """The value as sent: bools and Decimals as Binance's text, enum members as their value."""
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{method}() parameter '{name}' must be a finite number, not {value}")
        return format(value, "f")
    return value


# -- the table ---------------------------------------------------------------------------------


def _split(names: str) -> tuple[str, ...]:
    return tuple(names.split())


def _row(
    name: str,
    method: str,
    required: str = "",
    optional: str = "",
    *,
    signed: bool = False,
    market: str = "spot",
    one_of: Iterable[str] = (),
    fixed: Mapping[str, str] | None = None,
    defaults: Mapping[str, str] | None = None,
    summary: str = "",
) -> WsApiMethod:
    opt = _split(optional)
    if signed and _RECV_WINDOW not in opt:
        opt += (_RECV_WINDOW,)
    return WsApiMethod(
        name=name,
        method=method,
        market=market,
        signed=signed,
        required=_split(required),
        optional=opt,
        one_of=tuple(_split(group) for group in one_of),
        fixed=MappingProxyType(dict(fixed or {})),
        defaults=MappingProxyType(dict(defaults or {})),
        summary=summary,
    )


_PEG = "pegPriceType pegOffsetValue pegOffsetType"
_ORDER = (
    "timeInForce price quantity quoteOrderQty newClientOrderId newOrderRespType stopPrice "
    f"trailingDelta icebergQty strategyId strategyType selfTradePreventionMode {_PEG}"
)
_LIMIT = (
    "timeInForce newClientOrderId newOrderRespType icebergQty strategyId strategyType "
    f"selfTradePreventionMode {_PEG}"
)
_MARKET = (
    "quantity quoteOrderQty newClientOrderId newOrderRespType strategyId strategyType "
    "selfTradePreventionMode"
)
_QTY = ("quantity quoteOrderQty",)
_BY_ORDER_ID = ("orderId origClientOrderId",)
_SYMBOL_OR_SYMBOLS = ("symbol symbols",)
_GTC = {"timeInForce": "GTC"}


def _leg(prefix: str, names: str) -> str:
    """``aboveType aboveClientOrderId …`` from ``Type ClientOrderId …``."""
    return " ".join(prefix + name for name in names.split())


_LEG = (
    "ClientOrderId IcebergQty TimeInForce StrategyId StrategyType "
    "PegPriceType PegOffsetType PegOffsetValue"
)
_STOP_LEG = f"{_LEG} Price StopPrice TrailingDelta"
_OCO = f"listClientOrderId {_leg('above', _STOP_LEG)} {_leg('below', _STOP_LEG)}"
_WORKING = _leg("working", _LEG)
_OTO = f"listClientOrderId {_WORKING} {_leg('pending', _STOP_LEG)}"
_OTOCO = (
    f"listClientOrderId {_WORKING} {_leg('pendingAbove', _STOP_LEG)} pendingBelowType "
    f"{_leg('pendingBelow', _STOP_LEG)}"
)
_LIST_COMMON = "newOrderRespType selfTradePreventionMode"
_SOR = (
    "timeInForce price newClientOrderId newOrderRespType icebergQty strategyId strategyType "
    "selfTradePreventionMode"
)
_FUTURES_ORDER = (
    "positionSide timeInForce quantity reduceOnly price newClientOrderId stopPrice "
    "closePosition activationPrice callbackRate workingType priceProtect newOrderRespType "
    "priceMatch selfTradePreventionMode goodTillDate"
)
#: Binance's pages call the trailing stop's activation price both ways: either is passed on
_FUTURES_ALGO_ORDER = (
    "positionSide timeInForce quantity price triggerPrice workingType priceMatch "
    "closePosition priceProtect reduceOnly activatePrice activationPrice callbackRate "
    "clientAlgoId selfTradePreventionMode goodTillDate newOrderRespType"
)
_TICKER_LIST = "symbol symbols"

_TABLE = (
    # -- Spot: general and market data (unsigned) --
    _row("ws_ping", "ping", summary="Test connectivity."),
    _row("ws_get_time", "time", summary="Server time."),
    _row(
        "ws_get_exchange_info",
        "exchangeInfo",
        optional="symbol symbols permissions showPermissionSets symbolStatus",
        summary="Exchange rules, rate limits and symbol information.",
    ),
    _row("ws_get_order_book", "depth", "symbol", "limit symbolStatus", summary="Order book."),
    _row("ws_get_recent_trades", "trades.recent", "symbol", "limit", summary="Recent trades."),
    _row(
        "ws_get_historical_trades",
        "trades.historical",
        "symbol",
        "fromId limit",
        summary="Older trades.",
    ),
    _row(
        "ws_get_aggregate_trades",
        "trades.aggregate",
        "symbol",
        "fromId startTime endTime limit",
        summary="Aggregate trades.",
    ),
    _row(
        "ws_get_klines",
        "klines",
        "symbol interval",
        "startTime endTime timeZone limit",
        summary="Klines (candlesticks).",
    ),
    _row(
        "ws_get_uiKlines",
        "uiKlines",
        "symbol interval",
        "startTime endTime timeZone limit",
        summary="Klines optimised for charts.",
    ),
    _row("ws_get_avg_price", "avgPrice", "symbol", summary="Current average price."),
    _row(
        "ws_get_ticker",
        "ticker.24hr",
        optional=f"{_TICKER_LIST} type symbolStatus",
        summary="24 h rolling-window ticker.",
    ),
    _row(
        "ws_get_trading_day_ticker",
        "ticker.tradingDay",
        optional=f"{_TICKER_LIST} timeZone type symbolStatus",
        one_of=_SYMBOL_OR_SYMBOLS,
        summary="Trading-day ticker.",
    ),
    _row(
        "ws_get_symbol_ticker",
        "ticker.price",
        optional=f"{_TICKER_LIST} symbolStatus",
        summary="Latest price.",
    ),
    _row(
        "ws_get_symbol_ticker_window",
        "ticker",
        optional=f"{_TICKER_LIST} type windowSize symbolStatus",
        one_of=_SYMBOL_OR_SYMBOLS,
        summary="Rolling-window ticker with a custom window.",
    ),
    _row(
        "ws_get_orderbook_ticker",
        "ticker.book",
        optional=f"{_TICKER_LIST} symbolStatus",
        summary="Best bid/ask.",
    ),
    # -- Spot: session authentication --
    _row(
        "ws_session_logon",
        "session.logon",
        signed=True,
        summary="Authenticate the connection (Binance documents Ed25519 keys only).",
    ),
    _row("ws_session_status", "session.status", summary="Session status."),
    _row("ws_session_logout", "session.logout", summary="Forget the session's API key."),
    # -- Spot: account (signed) --
    _row(
        "ws_get_account",
        "account.status",
        optional="omitZeroBalances",
        signed=True,
        summary="Account information.",
    ),
    _row(
        "ws_get_account_rate_limits_orders",
        "account.rateLimits.orders",
        signed=True,
        summary="Unfilled order count.",
    ),
    _row(
        "ws_get_order",
        "order.status",
        "symbol",
        "orderId origClientOrderId",
        signed=True,
        one_of=_BY_ORDER_ID,
        summary="Query an order.",
    ),
    _row(
        "ws_get_open_orders",
        "openOrders.status",
        optional="symbol",
        signed=True,
        summary="Open orders (one symbol, or all).",
    ),
    _row(
        "ws_get_all_orders",
        "allOrders",
        "symbol",
        "orderId startTime endTime limit",
        signed=True,
        summary="Order history.",
    ),
    _row(
        "ws_get_my_trades",
        "myTrades",
        "symbol",
        "orderId startTime endTime fromId limit",
        signed=True,
        summary="Trade history.",
    ),
    _row(
        "ws_get_prevented_matches",
        "myPreventedMatches",
        "symbol",
        "preventedMatchId orderId fromPreventedMatchId limit",
        signed=True,
        summary="Orders expired by self-trade prevention.",
    ),
    _row(
        "ws_get_allocations",
        "myAllocations",
        "symbol",
        "startTime endTime fromAllocationId limit orderId",
        signed=True,
        summary="SOR allocations.",
    ),
    _row(
        "ws_get_commission_rates",
        "account.commission",
        "symbol",
        signed=True,
        summary="Commission rates.",
    ),
    # -- Spot: orders (signed) --
    _row(
        "ws_create_order",
        "order.place",
        "symbol side type",
        _ORDER,
        signed=True,
        summary="Place an order.",
    ),
    _row(
        "ws_create_test_order",
        "order.test",
        "symbol side type",
        f"{_ORDER} computeCommissionRates",
        signed=True,
        summary="Validate an order without placing it.",
    ),
    _row(
        "ws_order_limit",
        "order.place",
        "symbol side quantity price",
        _LIMIT,
        signed=True,
        fixed={"type": "LIMIT"},
        defaults=_GTC,
        summary="Place a LIMIT order.",
    ),
    _row(
        "ws_order_limit_buy",
        "order.place",
        "symbol quantity price",
        _LIMIT,
        signed=True,
        fixed={"type": "LIMIT", "side": "BUY"},
        defaults=_GTC,
        summary="Place a LIMIT BUY order.",
    ),
    _row(
        "ws_order_limit_sell",
        "order.place",
        "symbol quantity price",
        _LIMIT,
        signed=True,
        fixed={"type": "LIMIT", "side": "SELL"},
        defaults=_GTC,
        summary="Place a LIMIT SELL order.",
    ),
    _row(
        "ws_order_market",
        "order.place",
        "symbol side",
        _MARKET,
        signed=True,
        one_of=_QTY,
        fixed={"type": "MARKET"},
        summary="Place a MARKET order (quantity or quoteOrderQty).",
    ),
    _row(
        "ws_order_market_buy",
        "order.place",
        "symbol",
        _MARKET,
        signed=True,
        one_of=_QTY,
        fixed={"type": "MARKET", "side": "BUY"},
        summary="Place a MARKET BUY order (quantity or quoteOrderQty).",
    ),
    _row(
        "ws_order_market_sell",
        "order.place",
        "symbol",
        _MARKET,
        signed=True,
        one_of=_QTY,
        fixed={"type": "MARKET", "side": "SELL"},
        summary="Place a MARKET SELL order (quantity or quoteOrderQty).",
    ),
    _row(
        "ws_cancel_order",
        "order.cancel",
        "symbol",
        "orderId origClientOrderId newClientOrderId cancelRestrictions",
        signed=True,
        one_of=_BY_ORDER_ID,
        summary="Cancel an order.",
    ),
    _row(
        "ws_cancel_and_replace_order",
        "order.cancelReplace",
        "symbol cancelReplaceMode side type",
        "cancelOrderId cancelOrigClientOrderId cancelNewClientOrderId "
        f"{_ORDER} cancelRestrictions orderRateLimitExceededMode",
        signed=True,
        one_of=("cancelOrderId cancelOrigClientOrderId",),
        summary="Cancel an order and place a new one.",
    ),
    _row(
        "ws_cancel_all_open_orders",
        "openOrders.cancelAll",
        "symbol",
        signed=True,
        summary="Cancel all open orders on a symbol.",
    ),
    # -- Spot: order lists and SOR (signed) --
    _row(
        "ws_create_oco_order",
        "orderList.place.oco",
        "symbol side quantity aboveType belowType",
        f"{_OCO} {_LIST_COMMON}",
        signed=True,
        summary="Place an OCO order list.",
    ),
    _row(
        "ws_create_oto_order",
        "orderList.place.oto",
        "symbol workingType workingSide workingPrice workingQuantity pendingType pendingSide "
        "pendingQuantity",
        f"{_OTO} {_LIST_COMMON}",
        signed=True,
        summary="Place an OTO order list.",
    ),
    _row(
        "ws_create_otoco_order",
        "orderList.place.otoco",
        "symbol workingType workingSide workingPrice workingQuantity pendingSide "
        "pendingQuantity pendingAboveType",
        f"{_OTOCO} {_LIST_COMMON}",
        signed=True,
        summary="Place an OTOCO order list.",
    ),
    *(
        _row(
            name,
            "orderList.status",
            optional="origClientOrderId orderListId",
            signed=True,
            one_of=("origClientOrderId orderListId",),
            summary="Query an order list.",
        )
        for name in ("ws_get_oco_order", "ws_get_order_list")
    ),
    *(
        _row(
            name,
            "orderList.cancel",
            "symbol",
            "orderListId listClientOrderId newClientOrderId",
            signed=True,
            one_of=("orderListId listClientOrderId",),
            summary="Cancel an order list.",
        )
        for name in ("ws_cancel_oco_order", "ws_cancel_order_list")
    ),
    *(
        _row(name, "openOrderLists.status", signed=True, summary="Open order lists.")
        for name in ("ws_get_oco_open_orders", "ws_get_open_order_lists")
    ),
    _row(
        "ws_get_all_order_lists",
        "allOrderLists",
        optional="fromId startTime endTime limit",
        signed=True,
        summary="Order list history.",
    ),
    _row(
        "ws_create_sor_order",
        "sor.order.place",
        "symbol side type quantity",
        _SOR,
        signed=True,
        summary="Place an order with smart order routing.",
    ),
    _row(
        "ws_create_test_sor_order",
        "sor.order.test",
        "symbol side type quantity",
        f"{_SOR} computeCommissionRates",
        signed=True,
        summary="Validate an SOR order without placing it.",
    ),
    # -- USD-M futures (ws-fapi) --
    _row(
        "ws_futures_get_order_book",
        "depth",
        "symbol",
        "limit",
        market="futures",
        summary="Order book.",
    ),
    _row(
        "ws_futures_get_all_tickers",
        "ticker.price",
        optional="symbol",
        market="futures",
        summary="Latest price of one symbol, or of all.",
    ),
    _row(
        "ws_futures_get_order_book_ticker",
        "ticker.book",
        optional="symbol",
        market="futures",
        summary="Best bid/ask of one symbol, or of all.",
    ),
    _row(
        "ws_futures_create_order",
        "order.place",
        "symbol side type",
        _FUTURES_ORDER,
        signed=True,
        market="futures",
        summary="Place an order.",
    ),
    _row(
        "ws_futures_edit_order",
        "order.modify",
        "symbol side quantity price",
        "orderId origClientOrderId priceMatch modifyId",
        signed=True,
        market="futures",
        one_of=_BY_ORDER_ID,
        summary="Modify a LIMIT order (``modifyId``, since 2026-07, is echoed in the result).",
    ),
    _row(
        "ws_futures_create_algo_order",
        "algoOrder.place",
        "algoType symbol side type",
        _FUTURES_ALGO_ORDER,
        signed=True,
        market="futures",
        summary="Place a conditional (algo) order: STOP, TAKE_PROFIT, TRAILING_STOP_MARKET….",
    ),
    _row(
        "ws_futures_cancel_algo_order",
        "algoOrder.cancel",
        optional="algoId clientAlgoId",
        signed=True,
        market="futures",
        one_of=("algoId clientAlgoId",),
        summary="Cancel an algo order.",
    ),
    _row(
        "ws_futures_cancel_order",
        "order.cancel",
        "symbol",
        "orderId origClientOrderId",
        signed=True,
        market="futures",
        one_of=_BY_ORDER_ID,
        summary="Cancel an order.",
    ),
    _row(
        "ws_futures_get_order",
        "order.status",
        "symbol",
        "orderId origClientOrderId",
        signed=True,
        market="futures",
        one_of=_BY_ORDER_ID,
        summary="Query an order.",
    ),
    _row(
        "ws_futures_v2_account_position",
        "v2/account.position",
        optional="symbol",
        signed=True,
        market="futures",
        summary="Positions (only symbols with a position or open orders).",
    ),
    _row(
        "ws_futures_account_position",
        "account.position",
        optional="symbol",
        signed=True,
        market="futures",
        summary="Positions.",
    ),
    _row(
        "ws_futures_v2_account_balance",
        "v2/account.balance",
        signed=True,
        market="futures",
        summary="Balances.",
    ),
    _row(
        "ws_futures_account_balance",
        "account.balance",
        signed=True,
        market="futures",
        summary="Balances.",
    ),
    _row(
        "ws_futures_v2_account_status",
        "v2/account.status",
        signed=True,
        market="futures",
        summary="Account information.",
    ),
    _row(
        "ws_futures_account_status",
        "account.status",
        signed=True,
        market="futures",
        summary="Account information.",
    ),
)


def check_table(rows: Iterable[WsApiMethod]) -> Mapping[str, WsApiMethod]:
    """Check that rows are consistent and return them as a read-only mapping by name."""
    table: dict[str, WsApiMethod] = {}
    for row in rows:
        where = f"{row.name!r}"
        if not row.name.startswith("ws_") or not row.name.isidentifier():
            raise ValueError(f"{where}: a method name must be an identifier starting with ws_")
        if row.name in table:
            raise ValueError(f"{where}: listed twice")
        check_market(row.market)
        names = row.allowed + tuple(row.fixed)
        bad = [n for n in names if not n.isidentifier() or keyword.iskeyword(n)]
        if bad or len(set(names)) != len(names):
            raise ValueError(f"{where}: parameter names must be distinct identifiers: {names}")
        loose = [n for group in row.one_of for n in group if n not in row.optional]
        loose += [n for n in row.defaults if n not in row.optional]
        if loose:
            raise ValueError(f"{where}: {loose} must be optional parameters")
        if row.signed and _RECV_WINDOW not in row.optional:
            raise ValueError(f"{where}: a signed method must accept {_RECV_WINDOW}")
        table[row.name] = row
    return MappingProxyType(table)


#: Every generated method by name (read-only). Iterate ``METHODS.values()`` for the rows.
METHODS: Mapping[str, WsApiMethod] = check_table(_TABLE)
