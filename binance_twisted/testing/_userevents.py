"""Realistic user-data events with small defaults, any field overridable (pure).

Field names follow binance-platform.md §3.4 (Spot/margin) and Binance's USD-M futures
``ORDER_TRADE_UPDATE`` / ``ACCOUNT_UPDATE`` payloads. Each builder takes the server clock in
ms for ``E`` and the other times; keyword arguments named like Binance's one- or two-letter
fields replace the defaults (``S="SELL"``, ``X="FILLED"``), so a test states only what it
cares about. :class:`~binance_twisted.testing.FakeAccount` wraps them with the fake's clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "account_update",
    "balance_update",
    "execution_report",
    "order_trade_update",
    "outbound_account_position",
]

Event = dict[str, Any]
_ZERO = "0.00000000"


def execution_report(now: int, **fields: Any) -> Event:
    """A Spot/margin ``executionReport``: by default a new 1 BTC limit buy at 25000."""
    return {
        "e": "executionReport",
        "E": now,
        "s": "BTCUSDT",
        "c": "fakeClientOrder1",
        "S": "BUY",
        "o": "LIMIT",
        "f": "GTC",
        "q": "1.00000000",
        "p": "25000.00000000",
        "P": _ZERO,
        "F": _ZERO,
        "g": -1,
        "C": "",
        "x": "NEW",
        "X": "NEW",
        "r": "NONE",
        "i": 1,
        "l": _ZERO,
        "z": _ZERO,
        "L": _ZERO,
        "n": "0",
        "N": None,
        "T": now,
        "t": -1,
        "I": 1,
        "w": True,
        "m": False,
        "M": False,
        "O": now,
        "Z": _ZERO,
        "Y": _ZERO,
        "Q": _ZERO,
        "W": now,
        "V": "EXPIRE_MAKER",
        **fields,
    }


def outbound_account_position(
    now: int, balances: Mapping[str, tuple[str, str]] | None = None, **fields: Any
) -> Event:
    """``outboundAccountPosition``; ``balances`` maps asset to ``(free, locked)``."""
    if balances is None:
        balances = {"USDT": ("1000.00000000", _ZERO)}
    changed = [{"a": asset, "f": free, "l": locked} for asset, (free, locked) in balances.items()]
    return {"e": "outboundAccountPosition", "E": now, "u": now, "B": changed, **fields}


def balance_update(
    now: int, asset: str = "USDT", delta: str = "100.00000000", **fields: Any
) -> Event:
    """``balanceUpdate``: a deposit, withdrawal or transfer of ``delta``."""
    return {"e": "balanceUpdate", "E": now, "a": asset, "d": delta, "T": now, **fields}


def order_trade_update(now: int, **order: Any) -> Event:
    """A USD-M ``ORDER_TRADE_UPDATE``; keywords replace fields of the inner ``o`` object."""
    return {
        "e": "ORDER_TRADE_UPDATE",
        "E": now,
        "T": now,
        "o": {
            "s": "BTCUSDT",
            "c": "fakeClientOrder1",
            "S": "BUY",
            "o": "LIMIT",
            "f": "GTC",
            "q": "0.001",
            "p": "25000",
            "ap": "0",
            "sp": "0",
            "x": "NEW",
            "X": "NEW",
            "i": 1,
            "l": "0",
            "z": "0",
            "L": "0",
            "N": "USDT",
            "n": "0",
            "T": now,
            "t": 0,
            "b": "0",
            "a": "0",
            "m": False,
            "R": False,
            "wt": "CONTRACT_PRICE",
            "ot": "LIMIT",
            "ps": "BOTH",
            "cp": False,
            "rp": "0",
            "pP": False,
            "si": 0,
            "ss": 0,
            "V": "EXPIRE_MAKER",
            "pm": "NONE",
            "gtd": 0,
            **order,
        },
    }


def account_update(
    now: int,
    reason: str = "ORDER",
    balances: Mapping[str, str] | None = None,
    positions: Sequence[Mapping[str, Any]] = (),
    **fields: Any,
) -> Event:
    """A USD-M ``ACCOUNT_UPDATE``; ``balances`` maps asset to wallet balance.

    ``positions`` are full position objects (``s``, ``pa``, ``ep``, ``up``, ``mt``, ``ps``…).
    """
    if balances is None:
        balances = {"USDT": "1000.00000000"}
    wallets = [{"a": a, "wb": wb, "cw": wb, "bc": "0"} for a, wb in balances.items()]
    body = {"m": reason, "B": wallets, "P": [dict(p) for p in positions]}
    return {"e": "ACCOUNT_UPDATE", "E": now, "T": now, "a": body, **fields}
