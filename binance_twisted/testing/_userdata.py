"""Accounts, listen keys, listen tokens and the routing of user-data events.

One :class:`UserData` per fake holds the accounts a test added, the live listen keys (with
their expiry timers), the issued listen tokens, and which stream connections listen to which
key. WebSocket API subscriptions live on their connections
(:mod:`binance_twisted.testing._wsapi`); :meth:`UserData.emit` reaches both.

Products (binance-platform.md §3):

==========================  =================================  =========================
product                     delivered to                       permission needed
==========================  =================================  =========================
``spot``                    WS API ``subscribe.signature`` and  ``SPOT``
                            ``subscribe`` (after logon); and
                            Binance.US listen keys
``margin``                  WS API ``subscribe.listenToken``    ``MARGIN``
``isolated:<SYMBOL>``       WS API ``subscribe.listenToken``    ``MARGIN``
``futures``                 ``/private/ws|stream?listenKey=``   ``FUTURES``
``coin_futures``            ``/ws/<key>``                       ``FUTURES``
``portfolio_margin``        ``/pm/ws/<key>``                    ``FUTURES``
``margin_risk``             ``/ws/<key>``, ``/stream?streams=`` ``MARGIN``
==========================  =================================  =========================
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

import attrs
from twisted.internet.interfaces import IDelayedCall, IReactorTime

from binance_twisted.testing import _futures, _futures_matching, _userevents
from binance_twisted.testing._auth import Credential, make_credential, redact
from binance_twisted.testing._errors import ApiError
from binance_twisted.testing._exchange import Exchange
from binance_twisted.testing._market import E8, decimal
from binance_twisted.testing._subscriptions import Subscriptions
from binance_twisted.testing._trading import Event, SpotAccount
from binance_twisted.testing._trading_reports import status_report

__all__ = [
    "LISTEN_KEY_PRODUCTS",
    "FakeAccount",
    "ListenKey",
    "ListenToken",
    "UserData",
    "normalise_product",
]

#: Listen-key products and the permission each needs.
LISTEN_KEY_PRODUCTS = {
    "futures": "FUTURES",
    "coin_futures": "FUTURES",
    "portfolio_margin": "FUTURES",
    "margin_risk": "MARGIN",
    "spot": "SPOT",
}
_PRODUCTS = frozenset({"spot", "margin", *LISTEN_KEY_PRODUCTS})
#: Which listen-key products a stream URL prefix serves (a key of another product is refused).
PREFIX_PRODUCTS: dict[str | None, tuple[str, ...]] = {
    "private": ("futures",),
    "pm": ("portfolio_margin",),
    None: ("coin_futures", "margin_risk", "spot"),
}
_KEY_ALPHABET = string.ascii_letters + string.digits
LISTEN_KEY_LENGTH = 60
_TOKEN_LENGTH = 64
_INVALID_LISTEN_KEY = (400, -1125, "This listenKey does not exist.")


def normalise_product(product: str) -> str:
    """``product`` checked, with an isolated symbol upper-cased (``isolated:BTCUSDT``).

    Raises:
        ValueError: not one of the products in the module docstring.
    """
    if product.startswith("isolated:"):
        symbol = product.partition(":")[2]
        if not symbol.isalnum():
            raise ValueError(f"isolated margin needs a symbol: 'isolated:BTCUSDT', not {product!r}")
        return "isolated:" + symbol.upper()
    if product not in _PRODUCTS:
        known = ", ".join(sorted(_PRODUCTS | {"isolated:<SYMBOL>"}))
        raise ValueError(f"unknown product {product!r}: one of {known}")
    return product


def permission_of(product: str) -> str:
    """The account permission a product needs."""
    if product == "margin" or product.startswith("isolated:"):
        return "MARGIN"
    return LISTEN_KEY_PRODUCTS[product]


class ListenerConnection(Protocol):
    """What a stream connection offers to listen-key delivery."""

    combined: bool
    events: frozenset[str] | None

    def close(self, code: int = 1000, reason: str = "") -> None: ...


class UserEventSink(Protocol):
    """What a WebSocket API connection offers to event delivery."""

    def deliver_user_event(self, account: FakeAccount, product: str, event: Any) -> int: ...


@attrs.define(eq=False)
class ListenKey:
    """A live listen key: whose, for which product, and its expiry timer."""

    key: str
    account: FakeAccount
    product: str
    call: IDelayedCall | None = None


@attrs.frozen
class ListenToken:
    """An issued margin listen token."""

    token: str
    account: FakeAccount
    product: str
    expiration_ms: int


class FakeAccount:
    """One API key of the fake: its credential, permissions, and the events it receives.

    Made by :meth:`FakeBinance.add_account`. :meth:`emit` sends an event to every live
    subscription or listen-key connection of this account for one product; the builders
    (:meth:`execution_report` …) make realistic events stamped with the fake's clock.
    :attr:`spot` and :attr:`futures` hold what the WebSocket API's trading methods change;
    :meth:`set_balance`, :meth:`fill_order` and friends let a test seed and drive them.
    """

    def __init__(
        self,
        userdata: UserData,
        api_key: str,
        credential: Credential,
        permissions: Iterable[str],
    ) -> None:
        self._userdata = userdata
        #: The API key (``X-MBX-APIKEY``, the WebSocket API's ``apiKey``).
        self.api_key = api_key
        #: ``"HMAC"``, ``"RSA"`` or ``"Ed25519"``.
        self.key_type = credential.key_type
        #: What the key may do: ``SPOT``, ``MARGIN``, ``FUTURES``.
        self.permissions = frozenset(permissions)
        self.credential = credential
        #: Spot balances, orders, order lists and trades (10 BTC and 100000 USDT to start).
        self.spot = SpotAccount()
        #: USD-M futures wallet (100000 USDT to start), positions and orders.
        self.futures = _futures.FuturesAccount()

    def __repr__(self) -> str:
        return f"<FakeAccount {redact(self.api_key)} {self.key_type}>"

    def emit(self, product: str, event: Mapping[str, Any]) -> int:
        """Send ``event`` to this account's live ``product`` channels; returns how many got it.

        ``E`` is set to the server time if the event has none. The shape is the channel's:
        ``{"subscriptionId": N, "event": …}`` on the WebSocket API, the bare event on a
        ``/ws`` listen-key connection, ``{"stream": <listenKey>, "data": …}`` on ``/stream``.
        """
        product = normalise_product(product)
        if "E" not in event:
            event = {**event, "E": self._userdata.server_ms()}
        return self._userdata.emit(self, product, dict(event))

    def listen_key(self, product: str) -> str | None:
        """The account's live listen key for ``product``, if it has one."""
        record = self._userdata.active.get((self.api_key, normalise_product(product)))
        return record.key if record else None

    # -- balances and orders ------------------------------------------------------------

    def set_balance(self, asset: str, free: str = "0", locked: str = "0") -> None:
        """Set a Spot balance, e.g. ``account.set_balance("BTC", free="1")``.

        Amounts are decimal strings with at most eight decimals. No event is sent.
        """
        self.spot.set(asset.upper(), _units(free), _units(locked))

    def balance(self, asset: str) -> tuple[str, str]:
        """``(free, locked)`` of a Spot asset, as ``account.status`` renders them."""
        free, locked = self.spot.balances.get(asset.upper(), [0, 0])
        return decimal(free), decimal(locked)

    def set_futures_balance(self, asset: str, balance: str) -> None:
        """Set the USD-M futures wallet balance of ``asset`` (``"USDT"``…)."""
        self.futures.wallet[asset.upper()] = _units(balance)

    def open_orders(self, symbol: str | None = None) -> list[dict[str, Any]]:
        """The open Spot orders (``order.status`` reports), oldest first."""
        return [
            status_report(o)
            for o in self.spot.orders.values()
            if o.open and (symbol is None or o.symbol == symbol.upper())
        ]

    def fill_order(
        self, symbol: str, order_id: int, qty: str | None = None, price: str | None = None
    ) -> int:
        """Fill a resting Spot order (all of it, or ``qty``) as the maker, at its price.

        The account's balances move, the trade gets the next trade id of the symbol (and is
        published with the next tick), and ``executionReport``/``outboundAccountPosition``
        (and, for an order list, what follows from it) go to the live subscriptions.
        Returns how many channels got events.

        Raises:
            KeyError: no such order. ValueError: the order is not working on the book.
        """
        order = self.spot.orders[(symbol.upper(), order_id)]
        amount = order.remaining if qty is None else _units(qty)
        at = order.price if price is None else _units(price)
        events = self._exchange().fill_resting(
            self.spot, order, amount, at, self._userdata.server_ms()
        )
        return self.deliver(events)

    def fill_futures_order(
        self, symbol: str, order_id: int, qty: str | None = None, price: str | None = None
    ) -> int:
        """Fill a resting USD-M futures order as the maker (like :meth:`fill_order`)."""
        order = self.futures.orders[(symbol.upper(), order_id)]
        amount = order.orig_qty - order.executed if qty is None else _units(qty)
        at = order.price if price is None else _units(price)
        exchange = self._exchange()
        market = exchange.symbol_market(order.symbol)
        events = _futures_matching.fill_resting(
            self.futures, order, market, amount, at, self._userdata.server_ms()
        )
        return self.deliver(events)

    def deliver(self, events: Iterable[Event]) -> int:
        """Emit ``(product, event)`` pairs in order; how many channels got them."""
        return sum(self.emit(product, event) for product, event in events)

    def _exchange(self) -> Exchange:
        exchange = self._userdata.exchange
        if exchange is None:
            raise RuntimeError("this account's fake has no exchange")
        return exchange

    # -- builders -------------------------------------------------------------------------

    def execution_report(self, **fields: Any) -> dict[str, Any]:
        """A Spot/margin ``executionReport`` (a new limit buy unless ``fields`` say otherwise)."""
        return _userevents.execution_report(self._userdata.server_ms(), **fields)

    def outbound_account_position(
        self, balances: Mapping[str, tuple[str, str]] | None = None, **fields: Any
    ) -> dict[str, Any]:
        """``outboundAccountPosition``; ``balances`` maps asset to ``(free, locked)``."""
        return _userevents.outbound_account_position(self._userdata.server_ms(), balances, **fields)

    def balance_update(
        self, asset: str = "USDT", delta: str = "100.00000000", **fields: Any
    ) -> dict[str, Any]:
        """``balanceUpdate`` of ``delta`` in ``asset``."""
        return _userevents.balance_update(self._userdata.server_ms(), asset, delta, **fields)

    def order_trade_update(self, **order: Any) -> dict[str, Any]:
        """USD-M ``ORDER_TRADE_UPDATE``; keywords replace fields of the inner ``o`` object."""
        return _userevents.order_trade_update(self._userdata.server_ms(), **order)

    def account_update(
        self,
        reason: str = "ORDER",
        balances: Mapping[str, str] | None = None,
        positions: Sequence[Mapping[str, Any]] = (),
        **fields: Any,
    ) -> dict[str, Any]:
        """USD-M ``ACCOUNT_UPDATE``; ``balances`` maps asset to wallet balance."""
        return _userevents.account_update(
            self._userdata.server_ms(), reason, balances, positions, **fields
        )


class UserData:
    """The accounts, listen keys and listen tokens of one fake."""

    def __init__(
        self,
        clock: IReactorTime,
        server_ms: Callable[[], int],
        record: Callable[[str, Any, dict[str, Any]], None],
        deliver: Callable[[str, Any, Sequence[Any]], int],
        sinks: Callable[[], Iterable[UserEventSink]],
        validity: float,
        seed: int,
    ) -> None:
        self.clock = clock
        self.server_ms = server_ms
        self._record = record
        self._deliver = deliver
        self._sinks = sinks
        self.validity = validity
        self.accounts: dict[str, FakeAccount] = {}
        self.keys: dict[str, ListenKey] = {}
        self.active: dict[tuple[str, str], ListenKey] = {}
        self.tokens: dict[str, ListenToken] = {}
        self.listeners: Subscriptions[Any] = Subscriptions()
        self._rng = random.Random(f"user data {seed}")
        #: The fake's order engine (set by the server state).
        self.exchange: Exchange | None = None

    # -- accounts -------------------------------------------------------------------------

    def add_account(
        self,
        api_key: str,
        secret: str | None,
        rsa_public_key_pem: bytes | None,
        ed25519_public_key_pem: bytes | None,
        permissions: Iterable[str],
    ) -> FakeAccount:
        if not api_key or api_key in self.accounts:
            raise ValueError(f"api_key must be new and non-empty, not {api_key!r}")
        credential = make_credential(secret, rsa_public_key_pem, ed25519_public_key_pem)
        account = FakeAccount(self, api_key, credential, permissions)
        self.accounts[api_key] = account
        return account

    def authorise(self, api_key: str | None, product: str) -> FakeAccount:
        """The account of ``api_key`` if it may use ``product``, else 401 -2015."""
        account = self.accounts.get(api_key or "")
        if account is None or permission_of(product) not in account.permissions:
            raise ApiError(401, -2015, "Invalid API-key, IP, or permissions for action.")
        return account

    # -- listen keys ----------------------------------------------------------------------

    def _random(self, length: int) -> str:
        return "".join(self._rng.choice(_KEY_ALPHABET) for _ in range(length))

    def open_listen_key(self, account: FakeAccount, product: str) -> str:
        """POST: the account's live key for ``product`` (extended), or a new one."""
        record = self.active.get((account.api_key, product))
        if record is None:
            record = ListenKey(self._random(LISTEN_KEY_LENGTH), account, product)
            self.keys[record.key] = record
            self.active[(account.api_key, product)] = record
        self._arm(record)
        return record.key

    def _find(self, account: FakeAccount, product: str, key: str | None) -> ListenKey:
        record = self.active.get((account.api_key, product))
        if record is None or (key is not None and key != record.key):
            raise ApiError(*_INVALID_LISTEN_KEY)
        return record

    def keep_alive(self, account: FakeAccount, product: str, key: str | None) -> None:
        """PUT: extend the key (``key=None``: the account's key for ``product``); else -1125."""
        self._arm(self._find(account, product, key))

    def close_listen_key(self, account: FakeAccount, product: str, key: str | None) -> None:
        """DELETE: the key is gone; its connections are closed (no event). Else -1125."""
        self._end(self._find(account, product, key), event=False)

    def expire_listen_key(self, key: str) -> int:
        """Expire a live key now: ``listenKeyExpired`` to its connections, then close them."""
        record = self.keys.get(key)
        if record is None:
            raise KeyError(f"no live listen key {redact(key)}")
        return self._end(record, event=True)

    def live_key(self, key: str) -> ListenKey | None:
        """The live listen key ``key``, if any."""
        return self.keys.get(key)

    def _arm(self, record: ListenKey) -> None:
        if record.call is not None and record.call.active():
            record.call.cancel()
        record.call = self.clock.callLater(self.validity, self._expired, record)

    def _expired(self, record: ListenKey) -> None:
        record.call = None
        self._end(record, event=True)

    def _end(self, record: ListenKey, *, event: bool) -> int:
        if record.call is not None and record.call.active():
            record.call.cancel()
        record.call = None
        del self.keys[record.key]
        del self.active[(record.account.api_key, record.product)]
        listeners = self.listeners.subscribers(record.key)
        if event:
            expired = {"e": "listenKeyExpired", "E": self.server_ms(), "listenKey": record.key}
            self._deliver(record.key, expired, listeners)
        for connection in listeners:
            self.listeners.remove(connection, [record.key])
            if not self.listeners.streams(connection):
                connection.close(1000, "listenKey expired" if event else "listenKey closed")
        kind = "listen-key-expired" if event else "listen-key-closed"
        detail = {"listenKey": redact(record.key), "product": record.product}
        self._record(kind, None, {**detail, "connections": len(listeners)})
        return len(listeners)

    # -- listen tokens --------------------------------------------------------------------

    def issue_token(self, account: FakeAccount, product: str, validity_ms: int) -> ListenToken:
        token = ListenToken(
            self._random(_TOKEN_LENGTH), account, product, self.server_ms() + validity_ms
        )
        self.tokens[token.token] = token
        return token

    def live_token(self, token: str) -> ListenToken | None:
        """The token if it was issued and has not expired."""
        found = self.tokens.get(token)
        if found is None or found.expiration_ms <= self.server_ms():
            return None
        return found

    # -- events ---------------------------------------------------------------------------

    def emit(self, account: FakeAccount, product: str, event: dict[str, Any]) -> int:
        sent = 0
        record = self.active.get((account.api_key, product))
        if record is not None:
            kind = event.get("e")
            listeners = [
                c
                for c in self.listeners.subscribers(record.key)
                if c.events is None or kind in c.events
            ]
            sent += self._deliver(record.key, event, listeners)
        for sink in self._sinks():
            sent += sink.deliver_user_event(account, product, event)
        return sent

    def stop(self) -> None:
        """Cancel every listen-key timer."""
        for record in self.keys.values():
            if record.call is not None and record.call.active():
                record.call.cancel()
            record.call = None


def _units(text: str) -> int:
    """A decimal string in units of 1e-8."""
    try:
        value = Decimal(str(text)) * E8
    except InvalidOperation:
        raise ValueError(f"not a decimal amount: {text!r}") from None
    if value != value.to_integral_value() or value < 0:
        raise ValueError(f"amounts are non-negative with at most 8 decimals, not {text!r}")
    return int(value)
