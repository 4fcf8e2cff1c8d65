"""What a USD-M futures account reports about itself: positions, balances, account status (pure)."""

from __future__ import annotations

from typing import Any

from binance_twisted.testing._exchange import Exchange
from binance_twisted.testing._futures import LEVERAGE, MAINT_BP, FuturesAccount, fixed
from binance_twisted.testing._market import E8, decimal
from binance_twisted.testing._marketdata import split_symbol

__all__ = ["balances", "positions", "status"]


def positions(
    account: FuturesAccount, exchange: Exchange, symbol: str | None, version: int, now: int
) -> list[dict[str, Any]]:
    """``account.position`` (``version=1``) or ``v2/account.position`` entries."""
    rows = []
    for (name, side), position in sorted(account.positions.items()):
        if symbol is not None and name != symbol:
            continue
        if version == 2 and position.amount == 0:
            continue
        market = exchange.symbol_market(name)
        mark = market.mid_price
        notional = position.amount * mark // E8
        unrealized = account.unrealized((name, side), mark)
        margin = abs(notional) // LEVERAGE
        common = {
            "symbol": name,
            "positionSide": side,
            "positionAmt": fixed(position.amount, 3),
            "entryPrice": decimal(position.entry),
            "breakEvenPrice": decimal(position.entry),
            "markPrice": decimal(mark),
            "unRealizedProfit": decimal(unrealized),
            "liquidationPrice": "0",
            "isolatedMargin": "0.00000000",
            "notional": decimal(notional),
            "isolatedWallet": "0",
            "updateTime": position.update_time,
        }
        if version == 1:
            rows.append(
                {
                    **common,
                    "marginType": "cross",
                    "isAutoAddMargin": "false",
                    "leverage": str(LEVERAGE),
                    "maxNotionalValue": "1000000",
                }
            )
        else:
            rows.append(
                {
                    **common,
                    "marginAsset": split_symbol(name)[1],
                    "initialMargin": decimal(margin),
                    "maintMargin": decimal(abs(notional) * MAINT_BP // 10_000),
                    "positionInitialMargin": decimal(margin),
                    "openOrderInitialMargin": "0",
                    "adl": 0,
                    "bidNotional": "0",
                    "askNotional": "0",
                }
            )
    return rows


def balances(account: FuturesAccount, exchange: Exchange, alias: str) -> list[dict[str, Any]]:
    marks = {s: exchange.symbol_market(s).mid_price for s, _ in account.positions}
    pnl, initial, ordered = account.margins(marks)
    rows = []
    for asset, balance in sorted(account.wallet.items()):
        unrealized = pnl if asset == "USDT" else 0
        available = balance + unrealized - (initial + ordered if asset == "USDT" else 0)
        rows.append(
            {
                "accountAlias": alias,
                "asset": asset,
                "balance": decimal(balance),
                "crossWalletBalance": decimal(balance),
                "crossUnPnl": decimal(unrealized),
                "availableBalance": decimal(available),
                "maxWithdrawAmount": decimal(max(0, min(balance, available))),
                "marginAvailable": True,
                "updateTime": account.update_time,
            }
        )
    return rows


def status(account: FuturesAccount, exchange: Exchange, version: int, now: int) -> dict:
    """``account.status`` / ``v2/account.status``."""
    marks = {s: exchange.symbol_market(s).mid_price for s, _ in account.positions}
    pnl, initial, ordered = account.margins(marks)
    wallet = account.wallet.get("USDT", 0)
    available = wallet + pnl - initial - ordered
    maint = sum(
        abs(p.amount) * marks[s] // E8 * MAINT_BP // 10_000
        for (s, _), p in account.positions.items()
    )
    totals = {
        "totalInitialMargin": decimal(initial + ordered),
        "totalMaintMargin": decimal(maint),
        "totalWalletBalance": decimal(wallet),
        "totalUnrealizedProfit": decimal(pnl),
        "totalMarginBalance": decimal(wallet + pnl),
        "totalPositionInitialMargin": decimal(initial),
        "totalOpenOrderInitialMargin": decimal(ordered),
        "totalCrossWalletBalance": decimal(wallet),
        "totalCrossUnPnl": decimal(pnl),
        "availableBalance": decimal(available),
        "maxWithdrawAmount": decimal(max(0, min(wallet, available))),
    }
    assets = []
    for asset, balance in sorted(account.wallet.items()):
        unrealized = pnl if asset == "USDT" else 0
        used = initial + ordered if asset == "USDT" else 0
        entry = {
            "asset": asset,
            "walletBalance": decimal(balance),
            "unrealizedProfit": decimal(unrealized),
            "marginBalance": decimal(balance + unrealized),
            "maintMargin": decimal(maint if asset == "USDT" else 0),
            "initialMargin": decimal(used),
            "positionInitialMargin": decimal(initial if asset == "USDT" else 0),
            "openOrderInitialMargin": decimal(ordered if asset == "USDT" else 0),
            "crossWalletBalance": decimal(balance),
            "crossUnPnl": decimal(unrealized),
            "availableBalance": decimal(balance + unrealized - used),
            "maxWithdrawAmount": decimal(max(0, min(balance, balance + unrealized - used))),
            "updateTime": account.update_time,
        }
        if version == 1:
            entry["marginAvailable"] = True
        assets.append(entry)
    rows = positions(account, exchange, None, 2, now)
    if version == 2:
        position_rows = [
            {k: r[k] for k in ("symbol", "positionSide", "positionAmt")}
            | {
                "unrealizedProfit": r["unRealizedProfit"],
                "isolatedMargin": r["isolatedMargin"],
                "notional": r["notional"],
                "isolatedWallet": r["isolatedWallet"],
                "initialMargin": r["initialMargin"],
                "maintMargin": r["maintMargin"],
                "updateTime": r["updateTime"],
            }
            for r in rows
        ]
        return {**totals, "assets": assets, "positions": position_rows}
    position_rows = [
        {
            "symbol": r["symbol"],
            "initialMargin": r["initialMargin"],
            "maintMargin": r["maintMargin"],
            "unrealizedProfit": r["unRealizedProfit"],
            "positionInitialMargin": r["positionInitialMargin"],
            "openOrderInitialMargin": "0",
            "leverage": str(LEVERAGE),
            "isolated": False,
            "entryPrice": r["entryPrice"],
            "breakEvenPrice": r["breakEvenPrice"],
            "maxNotional": "1000000",
            "bidNotional": "0",
            "askNotional": "0",
            "positionSide": r["positionSide"],
            "positionAmt": r["positionAmt"],
            "updateTime": r["updateTime"],
        }
        for r in rows
    ]
    head = {
        "feeTier": 0,
        "canTrade": True,
        "canDeposit": True,
        "canWithdraw": True,
        "updateTime": 0,
        "multiAssetsMargin": False,
        "tradeGroupId": -1,
    }
    return {**head, **totals, "assets": assets, "positions": position_rows}
