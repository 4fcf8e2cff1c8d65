"""FakeBinance's WebSocket API methods: market data, Spot trading and accounts, USD-M futures.

Over real sockets on 127.0.0.1 with the small autobahn client of ``tests.test_fake``; signed
requests are signed here with ``hmac``/``cryptography`` (``tests.test_fake_account``), never
with the library's code.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from binance_twisted.testing._errors import ApiError
from binance_twisted.testing._exchange import Exchange
from binance_twisted.testing._market import E8, Market, decimal
from binance_twisted.testing._trading import OrderRequest, SpotAccount
from tests.test_fake import Client, asynchronous
from tests.test_fake_account import (
    DOC_API_KEY,
    ED_KEY,
    RSA_KEY,
    AccountTestCase,
    now_ms,
    ws_signed,
)

UNREAD = "Not all sent parameters were read; read '{}' parameter(s) but was sent '{}'."
TICKER_FULL = [
    "symbol",
    "priceChange",
    "priceChangePercent",
    "weightedAvgPrice",
    "prevClosePrice",
    "lastPrice",
    "lastQty",
    "bidPrice",
    "bidQty",
    "askPrice",
    "askQty",
    "openPrice",
    "highPrice",
    "lowPrice",
    "volume",
    "quoteVolume",
    "openTime",
    "closeTime",
    "firstId",
    "lastId",
    "count",
]
TICKER_MINI = [
    "symbol",
    "openPrice",
    "highPrice",
    "lowPrice",
    "lastPrice",
    "volume",
    "quoteVolume",
    "openTime",
    "closeTime",
    "firstId",
    "lastId",
    "count",
]
STATUS_FIELDS = [
    "symbol",
    "orderId",
    "orderListId",
    "clientOrderId",
    "price",
    "origQty",
    "executedQty",
    "cummulativeQuoteQty",
    "status",
    "timeInForce",
    "type",
    "side",
    "stopPrice",
    "icebergQty",
    "time",
    "updateTime",
    "isWorking",
    "workingTime",
    "origQuoteOrderQty",
    "selfTradePreventionMode",
]


def D(text: str) -> Decimal:
    return Decimal(text)


def limit_buy(price: Any, qty: Any, key: str = DOC_API_KEY, **extra: Any) -> dict[str, Any]:
    """Signed params of a GTC limit buy of BTCUSDT, the order most of these tests place."""
    return ws_signed(
        key,
        symbol="BTCUSDT",
        side="BUY",
        type="LIMIT",
        timeInForce="GTC",
        price=price,
        quantity=qty,
        **extra,
    )


class Base(AccountTestCase):
    """Helpers: answers checked for success or for an error code."""

    async def ok(self, client: Client, method: str, params: dict[str, Any] | None = None) -> Any:
        """The ``result`` of a request that must succeed."""
        answer = await self.call(client, method, params)
        self.assertEqual(answer["status"], 200, answer)
        return answer["result"]

    async def fails(
        self, client: Client, method: str, params: dict[str, Any] | None = None
    ) -> tuple[int, int, str]:
        """``(status, code, msg)`` of a request that must fail."""
        answer = await self.call(client, method, params)
        self.assertNotEqual(answer["status"], 200, answer)
        return answer["status"], answer["error"]["code"], answer["error"]["msg"]

    def prices(self, client_book: dict[str, Any]) -> tuple[Decimal, Decimal, Decimal]:
        """``(best bid, best ask, tick size)`` of a depth answer."""
        bid, ask = D(client_book["bids"][0][0]), D(client_book["asks"][0][0])
        return bid, ask, D("1e-8")

    async def tick_size(self, client: Client, symbol: str = "BTCUSDT") -> Decimal:
        info = await self.ok(client, "exchangeInfo", {"symbol": symbol})
        (price_filter,) = [
            f for f in info["symbols"][0]["filters"] if f["filterType"] == "PRICE_FILTER"
        ]
        return D(price_filter["tickSize"])

    async def below_market(self, client: Client, ticks: int = 20) -> str:
        """A BTCUSDT limit price some ticks under the best bid, on the tick grid."""
        book = await self.ok(client, "depth", {"symbol": "BTCUSDT", "limit": 5})
        tick = await self.tick_size(client)
        return decimal(int((D(book["bids"][0][0]) - ticks * tick) * 10**8))

    def qty_for(self, price: str, notional: str = "100") -> str:
        """A quantity worth about ``notional`` USDT at ``price`` (0.00001 steps)."""
        qty = (D(notional) / D(price)).quantize(D("0.00001"))
        return str(max(qty, D("0.00001")))


class MarketDataTests(Base):
    @asynchronous
    async def test_exchange_info(self) -> None:
        """exchangeInfo lists the fake's symbols with filters; unknown symbols are -1121."""
        await self.start()
        client = await self.wsapi()
        info = await self.ok(client, "exchangeInfo")
        self.assertEqual([s["symbol"] for s in info["symbols"]], ["BTCUSDT", "ETHUSDT", "BNBUSDT"])
        btc = info["symbols"][0]
        self.assertEqual(
            (btc["status"], btc["baseAsset"], btc["quoteAsset"]), ("TRADING", "BTC", "USDT")
        )
        kinds = [f["filterType"] for f in btc["filters"]]
        for kind in ("PRICE_FILTER", "LOT_SIZE", "NOTIONAL"):
            self.assertIn(kind, kinds)
        self.assertIn("LIMIT", btc["orderTypes"])
        self.assertEqual(btc["permissionSets"], [["SPOT", "MARGIN"]])
        self.assertEqual(info["rateLimits"][0]["limit"], 6000)
        one = await self.ok(client, "v3/exchangeInfo", {"symbols": ["ETHUSDT"]})
        self.assertEqual([s["symbol"] for s in one["symbols"]], ["ETHUSDT"])
        self.assertEqual(
            (await self.fails(client, "exchangeInfo", {"symbol": "NOPEUSDT"}))[:2], (400, -1121)
        )
        both = await self.fails(client, "exchangeInfo", {"symbol": "BTCUSDT", "symbols": ["X"]})
        self.assertEqual(both[1], -1128)

    @asynchronous
    async def test_depth_is_the_true_book(self) -> None:
        """depth equals the fake's book with its lastUpdateId; its weight follows the limit."""
        fake = await self.start()
        client = await self.wsapi()
        fake.tick(3)
        answer = await self.call(client, "depth", {"symbol": "BTCUSDT", "limit": 5})
        last_update_id, bids, asks = fake.book("btcusdt")
        result = answer["result"]
        self.assertEqual(result["lastUpdateId"], last_update_id)
        self.assertEqual(len(result["bids"]), 5)
        self.assertEqual(dict(result["bids"]), {p: bids[p] for p, _ in result["bids"]})
        self.assertEqual(dict(result["asks"]), {p: asks[p] for p, _ in result["asks"]})
        self.assertLess(D(result["bids"][0][0]), D(result["asks"][0][0]))
        first = answer["rateLimits"][0]["count"]
        big = await self.call(client, "depth", {"symbol": "BTCUSDT", "limit": 500})
        self.assertEqual(big["rateLimits"][0]["count"], first + 25)

    @asynchronous
    async def test_trades_have_real_ids(self) -> None:
        """Recent, historical and aggregate trades come from the market with gapless ids."""
        fake = await self.start()
        client = await self.wsapi()
        await self.ok(client, "depth", {"symbol": "ETHUSDT"})  # asked about: it ticks now
        fake.tick(20)
        trades = await self.ok(client, "trades.recent", {"symbol": "ETHUSDT", "limit": 10})
        ids = [t["id"] for t in trades]
        self.assertEqual(ids, list(range(ids[0], ids[0] + 10)))
        self.assertEqual(
            sorted(trades[0]),
            sorted(["id", "price", "qty", "quoteQty", "time", "isBuyerMaker", "isBestMatch"]),
        )
        older = await self.ok(
            client, "trades.historical", {"symbol": "ETHUSDT", "fromId": ids[0], "limit": 3}
        )
        self.assertEqual([t["id"] for t in older], ids[:3])
        aggs = await self.ok(client, "trades.aggregate", {"symbol": "ETHUSDT", "limit": 5})
        self.assertEqual(sorted(aggs[0]), sorted("apqflTmM"))
        self.assertLessEqual(aggs[-1]["l"], ids[-1])
        combo = {"symbol": "ETHUSDT", "fromId": 1, "startTime": 1}
        self.assertEqual((await self.fails(client, "trades.aggregate", combo))[1], -1128)

    @asynchronous
    async def test_klines(self) -> None:
        """klines and uiKlines are arrays of 12 fields, oldest first; a bad interval is -1120."""
        fake = await self.start()
        client = await self.wsapi()
        await self.ok(client, "avgPrice", {"symbol": "BTCUSDT"})
        fake.tick(5)
        for method in ("klines", "uiKlines"):
            rows = await self.ok(
                client, method, {"symbol": "BTCUSDT", "interval": "1m", "limit": 3}
            )
            self.assertEqual([len(r) for r in rows], [12, 12, 12])
            self.assertEqual(rows[1][0] - rows[0][0], 60_000)
            self.assertEqual(rows[0][6], rows[0][0] + 59_999)
            self.assertGreaterEqual(D(rows[-1][2]), D(rows[-1][3]))
        total = sum(r[8] for r in rows)
        self.assertGreater(total, 0)
        zoned = await self.ok(
            client,
            "klines",
            {"symbol": "BTCUSDT", "interval": "1d", "timeZone": "8", "limit": 1},
        )
        self.assertEqual((zoned[0][0] + 8 * 3_600_000) % 86_400_000, 0)
        bad = await self.fails(client, "klines", {"symbol": "BTCUSDT", "interval": "7m"})
        self.assertEqual(bad[1:], (-1120, "Invalid interval."))

    @asynchronous
    async def test_tickers(self) -> None:
        """ticker.24hr/tradingDay/ticker/price/book and avgPrice have the documented fields."""
        fake = await self.start()
        client = await self.wsapi()
        full = await self.ok(client, "ticker.24hr", {"symbol": "BTCUSDT"})
        fake.tick(5)
        full = await self.ok(client, "ticker.24hr", {"symbol": "BTCUSDT"})
        self.assertEqual(list(full), TICKER_FULL)
        self.assertEqual(full["closeTime"] - full["openTime"], 86_400_000)
        mini = await self.ok(client, "ticker.24hr", {"symbols": ["BTCUSDT"], "type": "MINI"})
        self.assertEqual(list(mini[0]), TICKER_MINI)
        every = await self.ok(client, "ticker.24hr")
        self.assertEqual(len(every), 3)
        day = await self.ok(client, "ticker.tradingDay", {"symbol": "BTCUSDT"})
        self.assertEqual(day["openTime"] % 86_400_000, 0)
        self.assertNotIn("bidPrice", day)
        rolling = await self.ok(client, "ticker", {"symbol": "BTCUSDT", "windowSize": "7d"})
        self.assertEqual(rolling["openTime"] % 60_000, 0)
        needs_one = await self.fails(client, "ticker", {})
        self.assertEqual(needs_one[1], -1102)
        price = await self.ok(client, "ticker.price", {"symbol": "BTCUSDT"})
        self.assertEqual(price, {"symbol": "BTCUSDT", "price": full["lastPrice"]})
        prices = await self.ok(client, "ticker.price")
        self.assertEqual([p["symbol"] for p in prices], ["BTCUSDT", "ETHUSDT", "BNBUSDT"])
        book = await self.ok(client, "ticker.book", {"symbol": "BTCUSDT"})
        _, bids, asks = fake.book("btcusdt")
        self.assertEqual(book["bidPrice"], max(bids, key=D))
        self.assertEqual(book["askQty"], asks[min(asks, key=D)])
        average = await self.ok(client, "avgPrice", {"symbol": "BTCUSDT"})
        self.assertEqual(sorted(average), ["closeTime", "mins", "price"])
        unknown = await self.fails(client, "ticker.book", {"symbol": "ZZZUSDT"})
        self.assertEqual(unknown[1:], (-1121, "Invalid symbol."))
        bad_type = await self.fails(client, "ticker.24hr", {"symbol": "BTCUSDT", "type": "X"})
        self.assertEqual(bad_type[1], -1139)

    @asynchronous
    async def test_parameter_errors(self) -> None:
        """Missing params are -1102, unread ones -1104 with counts, junk numbers -1100."""
        await self.start()
        client = await self.wsapi()
        missing = await self.fails(client, "depth", {"limit": 5})
        self.assertEqual(
            missing,
            (
                400,
                -1102,
                "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
            ),
        )
        extra = await self.fails(client, "depth", {"symbol": "BTCUSDT", "colour": "blue"})
        self.assertEqual(extra, (400, -1104, UNREAD.format(1, 2)))
        self.assertEqual((await self.fails(client, "ping", {"x": 1}))[1], -1104)
        junk = await self.fails(client, "depth", {"symbol": "BTCUSDT", "limit": "ten"})
        self.assertEqual(junk[1], -1100)
        signed = ws_signed(DOC_API_KEY, symbol="BTCUSDT", orderId=1, extra="1")
        self.assertEqual(
            (await self.fails(client, "order.status", signed))[1:],
            (-1104, UNREAD.format(5, 6)),
        )
        self.assertEqual((await self.fails(client, "order.teleport"))[1], -1020)

    @asynchronous
    async def test_rate_limits(self) -> None:
        """REQUEST_WEIGHT grows by each method's weight; order methods add ORDERS counts."""
        await self.start()
        client = await self.wsapi()
        counts = []
        for method, params in [
            ("ping", None),
            ("exchangeInfo", {"symbol": "BTCUSDT"}),
            ("trades.recent", {"symbol": "BTCUSDT"}),
            ("ticker.price", None),
            ("account.status", ws_signed(DOC_API_KEY)),
        ]:
            answer = await self.call(client, method, params)
            counts.append(answer["rateLimits"][-1]["count"])
        steps = [b - a for a, b in itertools.pairwise(counts)]
        self.assertEqual(steps, [20, 25, 4, 20])
        price = await self.below_market(client)
        before = (await self.call(client, "ping"))["rateLimits"][-1]["count"]
        order = limit_buy(price, self.qty_for(price))
        placed = await self.call(client, "order.place", order)
        kinds = [(r["rateLimitType"], r["interval"], r["count"]) for r in placed["rateLimits"]]
        self.assertEqual(kinds[:2], [("ORDERS", "SECOND", 1), ("ORDERS", "DAY", 1)])
        self.assertEqual(kinds[2], ("REQUEST_WEIGHT", "MINUTE", before))  # free when placed
        limits = await self.ok(client, "account.rateLimits.orders", ws_signed(DOC_API_KEY))
        self.assertEqual([x["count"] for x in limits], [1, 1])
        hidden = await self.call(
            client,
            "order.status",
            ws_signed(DOC_API_KEY, symbol="BTCUSDT", orderId=1, returnRateLimits=False),
        )
        self.assertNotIn("rateLimits", hidden)


class SpotTradingTests(Base):
    async def subscribed(self, client: Client, key: str = DOC_API_KEY) -> int:
        answer = await self.ok(client, "userDataStream.subscribe.signature", ws_signed(key))
        return int(answer["subscriptionId"])

    def reports(self, client: Client, kind: str = "executionReport") -> list[dict[str, Any]]:
        return [m["event"] for m in self.events(client) if m["event"]["e"] == kind]

    async def limit_buy(self, client: Client, **extra: Any) -> dict[str, Any]:
        price = await self.below_market(client)
        params = limit_buy(price, self.qty_for(price), key=extra.pop("key", DOC_API_KEY), **extra)
        return dict(await self.ok(client, "order.place", params))

    @asynchronous
    async def test_order_lifecycle(self) -> None:
        """place → status → openOrders → cancel, with executionReport and balance events."""
        await self.start()
        client = await self.wsapi()
        await self.subscribed(client)
        placed = await self.limit_buy(client, newClientOrderId="mine1")
        self.assertEqual((placed["status"], placed["clientOrderId"]), ("NEW", "mine1"))
        self.assertEqual(placed["fills"], [])  # LIMIT answers FULL by default
        order_id = placed["orderId"]
        query = {"symbol": "BTCUSDT", "orderId": order_id}
        status = await self.ok(client, "order.status", ws_signed(DOC_API_KEY, **query))
        self.assertEqual(list(status), STATUS_FIELDS)
        self.assertTrue(status["isWorking"])
        by_client = await self.ok(
            client,
            "order.status",
            ws_signed(DOC_API_KEY, symbol="BTCUSDT", origClientOrderId="mine1"),
        )
        self.assertEqual(by_client["orderId"], order_id)
        listed = await self.ok(client, "openOrders.status", ws_signed(DOC_API_KEY))
        self.assertEqual([o["orderId"] for o in listed], [order_id])
        locked = D(placed["price"]) * D(placed["origQty"])
        self.assertEqual(D(self.hmac.balance("USDT")[1]), locked.quantize(D("1e-8"), "ROUND_DOWN"))
        cancelled = await self.ok(client, "order.cancel", ws_signed(DOC_API_KEY, **query))
        self.assertEqual(
            (cancelled["status"], cancelled["origClientOrderId"]), ("CANCELED", "mine1")
        )
        self.assertEqual(self.hmac.balance("USDT"), ("100000.00000000", "0.00000000"))
        await self.fake.wait_for(lambda: len(self.reports(client)) == 2)
        new, gone = self.reports(client)
        self.assertEqual(
            (new["x"], new["X"], new["i"], new["c"]), ("NEW", "NEW", order_id, "mine1")
        )
        self.assertEqual((gone["x"], gone["X"], gone["C"]), ("CANCELED", "CANCELED", "mine1"))
        positions = self.reports(client, "outboundAccountPosition")
        await self.fake.wait_for(lambda: len(self.reports(client, "outboundAccountPosition")) == 2)
        positions = self.reports(client, "outboundAccountPosition")
        self.assertEqual(
            positions[-1]["B"], [{"a": "USDT", "f": "100000.00000000", "l": "0.00000000"}]
        )
        again = await self.fails(client, "order.cancel", ws_signed(DOC_API_KEY, **query))
        self.assertEqual(again[1:], (-2011, "Unknown order sent."))
        unknown = await self.fails(
            client, "order.status", ws_signed(DOC_API_KEY, symbol="BTCUSDT", orderId=1)
        )
        self.assertEqual(unknown[1:], (-2013, "Order does not exist."))
        history = await self.ok(client, "allOrders", ws_signed(DOC_API_KEY, symbol="BTCUSDT"))
        self.assertEqual([(o["orderId"], o["status"]) for o in history], [(order_id, "CANCELED")])

    @asynchronous
    async def test_market_order_fills_and_moves_balances(self) -> None:
        """A MARKET buy takes the asks, pays commission in BTC, and shows in trades and depth."""
        fake = await self.start()
        client = await self.wsapi()
        await self.subscribed(client)
        book = await self.ok(client, "depth", {"symbol": "BTCUSDT", "limit": 3})
        best_ask, ask_qty = D(book["asks"][0][0]), D(book["asks"][0][1])
        qty = min(ask_qty, D("0.5")).quantize(D("0.00001"), "ROUND_DOWN")
        if qty * best_ask < 5:
            qty = (D(6) / best_ask).quantize(D("0.00001")) + D("0.00001")
        placed = await self.ok(
            client,
            "order.place",
            ws_signed(DOC_API_KEY, symbol="BTCUSDT", side="BUY", type="MARKET", quantity=str(qty)),
        )
        self.assertEqual((placed["status"], D(placed["executedQty"])), ("FILLED", qty))
        fills = placed["fills"]
        self.assertEqual(D(fills[0]["price"]), best_ask)
        spent = sum(D(f["price"]) * D(f["qty"]) for f in fills)
        self.assertEqual(D(placed["cummulativeQuoteQty"]), spent.quantize(D("1e-8"), "ROUND_DOWN"))
        commission = sum(D(f["commission"]) for f in fills)
        self.assertEqual({f["commissionAsset"] for f in fills}, {"BTC"})
        account = await self.ok(client, "account.status", ws_signed(DOC_API_KEY))
        balances = {b["asset"]: (D(b["free"]), D(b["locked"])) for b in account["balances"]}
        self.assertEqual(balances["BTC"], (10 + qty - commission, 0))
        self.assertEqual(balances["USDT"][0], 100000 - D(placed["cummulativeQuoteQty"]))
        trades = await self.ok(client, "myTrades", ws_signed(DOC_API_KEY, symbol="BTCUSDT"))
        self.assertEqual([t["id"] for t in trades], [f["tradeId"] for f in fills])
        public = await self.ok(client, "trades.recent", {"symbol": "BTCUSDT", "limit": 5})
        self.assertEqual(public[-1]["id"], fills[-1]["tradeId"])
        after = await self.ok(client, "depth", {"symbol": "BTCUSDT", "limit": 3})
        self.assertGreater(after["lastUpdateId"], book["lastUpdateId"])
        _, _, asks = fake.book("btcusdt")
        self.assertEqual(dict(after["asks"]), {p: asks[p] for p, _ in after["asks"]})
        await self.fake.wait_for(lambda: len(self.reports(client)) == 1 + len(fills))
        kinds = [(r["x"], r["X"]) for r in self.reports(client)]
        self.assertEqual(kinds[0], ("NEW", "NEW"))
        self.assertEqual(kinds[-1], ("TRADE", "FILLED"))
        await self.fake.wait_for(lambda: self.reports(client, "outboundAccountPosition"))
        (position,) = self.reports(client, "outboundAccountPosition")
        self.assertEqual([b["a"] for b in position["B"]], ["BTC", "USDT"])
        sell = await self.ok(
            client,
            "order.place",
            ws_signed(
                DOC_API_KEY,
                symbol="BTCUSDT",
                side="SELL",
                type="MARKET",
                quoteOrderQty="10",
                newOrderRespType="RESULT",
            ),
        )
        self.assertEqual(sell["status"], "FILLED")
        self.assertNotIn("fills", sell)
        self.assertLessEqual(D(sell["cummulativeQuoteQty"]), 10)

    @asynchronous
    async def test_order_validation(self) -> None:
        """Binance's -1102/-1106/-1116/-1117/-1013/-2010 answers for bad orders."""
        await self.start()
        client = await self.wsapi()
        price = await self.below_market(client)
        qty = self.qty_for(price)

        async def code(**params: Any) -> tuple[int, str]:
            base = {
                "symbol": "BTCUSDT",
                "side": "BUY",
                "type": "LIMIT",
                "timeInForce": "GTC",
                "price": price,
                "quantity": qty,
            }
            base.update(params)
            base = {k: v for k, v in base.items() if v is not None}
            _, error_code, msg = await self.fails(
                client, "order.place", ws_signed(DOC_API_KEY, **base)
            )
            return error_code, msg

        self.assertEqual(
            await code(price=None),
            (-1102, "Mandatory parameter 'price' was not sent, was empty/null, or malformed."),
        )
        self.assertEqual((await code(timeInForce=None))[0], -1102)
        self.assertEqual(
            await code(type="MARKET", price=None),
            (-1106, "Parameter 'timeInForce' sent when not required."),
        )
        self.assertEqual(
            await code(type="MARKET", price=None, timeInForce=None, quantity=None),
            (-1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!"),
        )
        self.assertEqual(await code(side="UP"), (-1117, "Invalid side."))
        self.assertEqual(await code(type="TELEPORT"), (-1116, "Invalid orderType."))
        self.assertEqual(await code(timeInForce="NOW"), (-1115, "Invalid timeInForce."))
        self.assertEqual(await code(quantity="0.000001"), (-1013, "Filter failure: LOT_SIZE"))
        off_grid = decimal(int(D(price) * 10**8) + 1)
        self.assertEqual(await code(price=off_grid), (-1013, "Filter failure: PRICE_FILTER"))
        self.assertEqual(await code(quantity="0.00001"), (-1013, "Filter failure: NOTIONAL"))
        self.assertEqual((await code(price="1.123456789"))[0], -1111)
        self.assertEqual((await code(symbol="NOPEUSDT"))[0], -1121)
        rich = str(int(D("200000") / D(price)) + 1)
        self.assertEqual(
            await code(quantity=rich),
            (-2010, "Account has insufficient balance for requested action."),
        )
        book = await self.ok(client, "depth", {"symbol": "BTCUSDT", "limit": 1})
        crossing = book["asks"][0][0]
        self.assertEqual(
            await code(
                type="LIMIT_MAKER",
                timeInForce=None,
                price=crossing,
                quantity=self.qty_for(crossing),
            ),
            (-2010, "Order would immediately match and take."),
        )
        dup = {"newClientOrderId": "twice"}
        await self.ok(
            client,
            "order.place",
            limit_buy(price, qty, **dup),
        )
        self.assertEqual(await code(**dup), (-2010, "Duplicate order sent."))
        self.assertEqual((await self.fails(client, "order.place", {"symbol": "BTCUSDT"}))[1], -1102)

    @asynchronous
    async def test_response_types_and_order_test(self) -> None:
        """newOrderRespType ACK/RESULT/FULL shapes; order.test is {} or commission rates."""
        await self.start()
        client = await self.wsapi()
        ack = await self.limit_buy(client, newOrderRespType="ACK")
        self.assertEqual(
            sorted(ack),
            sorted(["symbol", "orderId", "orderListId", "clientOrderId", "transactTime"]),
        )
        result = await self.limit_buy(client, newOrderRespType="RESULT")
        self.assertNotIn("fills", result)
        self.assertEqual(result["workingTime"], result["transactTime"])
        price = await self.below_market(client)
        order = {
            "symbol": "BTCUSDT",
            "side": "SELL",
            "type": "STOP_LOSS_LIMIT",
            "timeInForce": "GTC",
            "price": price,
            "stopPrice": price,
            "quantity": "0.01",
        }
        stop = await self.ok(client, "order.place", ws_signed(DOC_API_KEY, **order))
        self.assertEqual(sorted(stop), sorted(ack))  # other types answer ACK by default
        self.assertEqual(
            (
                await self.ok(
                    client,
                    "order.status",
                    ws_signed(DOC_API_KEY, symbol="BTCUSDT", orderId=stop["orderId"]),
                )
            )["isWorking"],
            False,
        )
        tested = await self.ok(client, "order.test", ws_signed(DOC_API_KEY, **order))
        self.assertEqual(tested, {})
        rates = await self.ok(
            client, "order.test", ws_signed(DOC_API_KEY, computeCommissionRates=True, **order)
        )
        self.assertEqual(rates["standardCommissionForOrder"]["taker"], "0.00100000")
        opened = await self.ok(
            client, "openOrders.status", ws_signed(DOC_API_KEY, symbol="BTCUSDT")
        )
        self.assertEqual(len(opened), 3)

    @asynchronous
    async def test_session_logon_trades_without_signatures(self) -> None:
        """After an Ed25519 session.logon, orders need only a timestamp."""
        await self.start()
        client = await self.wsapi()
        await self.ok(client, "session.logon", ws_signed(ED_KEY))
        price = await self.below_market(client)
        placed = await self.ok(
            client,
            "order.place",
            {
                "symbol": "BTCUSDT",
                "side": "BUY",
                "type": "LIMIT",
                "timeInForce": "GTC",
                "price": price,
                "quantity": self.qty_for(price),
                "timestamp": now_ms(),
            },
        )
        self.assertEqual(self.ed.open_orders()[0]["orderId"], placed["orderId"])
        no_time = await self.fails(client, "account.status", {})
        self.assertEqual(no_time[1], -1102)
        other = await self.ok(client, "account.status", ws_signed(RSA_KEY))
        self.assertEqual(other["balances"][0]["locked"], "0.00000000")

    @asynchronous
    async def test_cancel_replace_and_cancel_all(self) -> None:
        """cancelReplace succeeds, half fails (409 -2021) or fails (400 -2022); cancelAll."""
        await self.start()
        client = await self.wsapi()
        first = await self.limit_buy(client)
        price = await self.below_market(client, 30)
        new = {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "price": price,
            "quantity": self.qty_for(price),
        }
        replaced = await self.ok(
            client,
            "order.cancelReplace",
            ws_signed(
                DOC_API_KEY,
                cancelReplaceMode="STOP_ON_FAILURE",
                cancelOrderId=first["orderId"],
                **new,
            ),
        )
        self.assertEqual(
            (replaced["cancelResult"], replaced["newOrderResult"]), ("SUCCESS", "SUCCESS")
        )
        self.assertEqual(replaced["cancelResponse"]["status"], "CANCELED")
        answer = await self.call(
            client,
            "order.cancelReplace",
            ws_signed(
                DOC_API_KEY,
                cancelReplaceMode="STOP_ON_FAILURE",
                cancelOrderId=first["orderId"],
                **new,
            ),
        )
        self.assertEqual((answer["status"], answer["error"]["code"]), (400, -2022))
        self.assertEqual(answer["error"]["data"]["newOrderResult"], "NOT_ATTEMPTED")
        self.assertEqual(
            answer["error"]["data"]["cancelResponse"], {"code": -2011, "msg": "Unknown order sent."}
        )
        half = await self.call(
            client,
            "order.cancelReplace",
            ws_signed(
                DOC_API_KEY,
                cancelReplaceMode="ALLOW_FAILURE",
                cancelOrderId=first["orderId"],
                **new,
            ),
        )
        self.assertEqual((half["status"], half["error"]["code"]), (409, -2021))
        self.assertEqual(half["error"]["data"]["newOrderResponse"]["status"], "NEW")
        cancelled = await self.ok(
            client, "openOrders.cancelAll", ws_signed(DOC_API_KEY, symbol="BTCUSDT")
        )
        self.assertEqual([c["status"] for c in cancelled], ["CANCELED", "CANCELED"])
        none_left = await self.fails(
            client, "openOrders.cancelAll", ws_signed(DOC_API_KEY, symbol="BTCUSDT")
        )
        self.assertEqual(none_left[1], -2011)
        self.assertEqual(self.hmac.balance("USDT"), ("100000.00000000", "0.00000000"))

    @asynchronous
    async def test_order_lists(self) -> None:
        """OCO, OTO and OTOCO place, report, cancel; a filled working order frees its legs."""
        await self.start()
        client = await self.wsapi()
        await self.subscribed(client)
        book = await self.ok(client, "depth", {"symbol": "BTCUSDT", "limit": 1})
        tick = await self.tick_size(client)
        bid, ask = D(book["bids"][0][0]), D(book["asks"][0][0])
        above = decimal(int((ask + 50 * tick) * 10**8))
        below = decimal(int((bid - 50 * tick) * 10**8))
        qty = self.qty_for(below, "50")
        oco = await self.ok(
            client,
            "orderList.place.oco",
            ws_signed(
                DOC_API_KEY,
                symbol="BTCUSDT",
                side="SELL",
                quantity=qty,
                aboveType="LIMIT_MAKER",
                abovePrice=above,
                belowType="STOP_LOSS",
                belowStopPrice=below,
            ),
        )
        self.assertEqual(
            (oco["contingencyType"], oco["listStatusType"], oco["listOrderStatus"]),
            ("OCO", "EXEC_STARTED", "EXECUTING"),
        )
        self.assertEqual(len(oco["orders"]), 2)
        self.assertEqual({r["type"] for r in oco["orderReports"]}, {"STOP_LOSS", "LIMIT_MAKER"})
        self.assertEqual(D(self.hmac.balance("BTC")[1]), D(qty))
        status = await self.ok(
            client, "orderList.status", ws_signed(DOC_API_KEY, orderListId=oco["orderListId"])
        )
        self.assertNotIn("orderReports", status)
        self.assertEqual(status["orders"], oco["orders"])
        opened = await self.ok(client, "openOrderLists.status", ws_signed(DOC_API_KEY))
        self.assertEqual([o["orderListId"] for o in opened], [oco["orderListId"]])
        cancelled = await self.ok(
            client,
            "orderList.cancel",
            ws_signed(DOC_API_KEY, symbol="BTCUSDT", orderListId=oco["orderListId"]),
        )
        self.assertEqual(cancelled["listOrderStatus"], "ALL_DONE")
        self.assertEqual({r["status"] for r in cancelled["orderReports"]}, {"CANCELED"})
        self.assertEqual(self.hmac.balance("BTC"), ("10.00000000", "0.00000000"))
        work_price = decimal(int((bid - 10 * tick) * 10**8))
        oto = await self.ok(
            client,
            "orderList.place.oto",
            ws_signed(
                DOC_API_KEY,
                symbol="BTCUSDT",
                workingType="LIMIT",
                workingSide="BUY",
                workingPrice=work_price,
                workingQuantity=qty,
                workingTimeInForce="GTC",
                pendingType="LIMIT_MAKER",
                pendingSide="SELL",
                pendingPrice=above,
                pendingQuantity=qty,
            ),
        )
        working, pending = oto["orderReports"]
        self.assertEqual((working["status"], pending["status"]), ("NEW", "PENDING_NEW"))
        self.assertEqual(pending["workingTime"], -1)
        self.hmac.fill_order("BTCUSDT", working["orderId"])
        legs = {o["orderId"]: o for o in self.hmac.open_orders("BTCUSDT")}
        self.assertEqual(legs[pending["orderId"]]["status"], "NEW")
        self.assertNotIn(working["orderId"], legs)
        otoco = await self.ok(
            client,
            "orderList.place.otoco",
            ws_signed(
                DOC_API_KEY,
                symbol="BTCUSDT",
                workingType="LIMIT_MAKER",
                workingSide="BUY",
                workingPrice=work_price,
                workingQuantity=qty,
                pendingSide="SELL",
                pendingQuantity=qty,
                pendingAboveType="LIMIT_MAKER",
                pendingAbovePrice=above,
                pendingBelowType="STOP_LOSS",
                pendingBelowStopPrice=below,
                newOrderRespType="ACK",
            ),
        )
        self.assertEqual(len(otoco["orders"]), 3)
        self.assertNotIn("orderReports", otoco)
        history = await self.ok(client, "allOrderLists", ws_signed(DOC_API_KEY))
        self.assertEqual(len(history), 3)
        missing = await self.fails(
            client, "orderList.status", ws_signed(DOC_API_KEY, orderListId=1)
        )
        self.assertEqual(missing[1], -2013)
        await self.fake.wait_for(lambda: self.reports(client, "listStatus"))
        self.assertEqual(self.reports(client, "listStatus")[0]["c"], "OCO")

    @asynchronous
    async def test_account_queries_and_helpers(self) -> None:
        """set_balance, account.commission, fill_order's partial fills and their events."""
        await self.start()
        client = await self.wsapi()
        await self.subscribed(client, RSA_KEY)
        self.rsa.set_balance("ETH", free="2.5")
        account = await self.ok(client, "account.status", ws_signed(RSA_KEY, omitZeroBalances=True))
        self.assertEqual(
            {b["asset"]: b["free"] for b in account["balances"]},
            {"BTC": "10.00000000", "ETH": "2.50000000", "USDT": "100000.00000000"},
        )
        self.assertEqual(account["commissionRates"]["maker"], "0.00100000")
        self.assertEqual(account["accountType"], "SPOT")
        commission = await self.ok(
            client, "account.commission", ws_signed(RSA_KEY, symbol="BTCUSDT")
        )
        self.assertEqual(
            sorted(commission), ["discount", "standardCommission", "symbol", "taxCommission"]
        )
        placed = await self.limit_buy(client, key=RSA_KEY)
        half = decimal(int(D(placed["origQty"]) / 2 * 10**8) // 1000 * 1000)
        self.rsa.fill_order("BTCUSDT", placed["orderId"], qty=half)
        status = await self.ok(
            client, "order.status", ws_signed(RSA_KEY, symbol="BTCUSDT", orderId=placed["orderId"])
        )
        self.assertEqual((status["status"], status["executedQty"]), ("PARTIALLY_FILLED", half))
        trades = await self.ok(
            client, "myTrades", ws_signed(RSA_KEY, symbol="BTCUSDT", orderId=placed["orderId"])
        )
        self.assertEqual([(t["isMaker"], t["qty"]) for t in trades], [(True, half)])
        await self.fake.wait_for(lambda: len(self.reports(client)) == 2)
        trade = self.reports(client)[1]
        self.assertEqual(
            (trade["x"], trade["X"], trade["l"], trade["m"]),
            ("TRADE", "PARTIALLY_FILLED", half, True),
        )
        self.assertEqual(D(self.rsa.balance("BTC")[0]), 10 + D(half) * D("0.999"))


class FuturesTests(Base):
    @asynchronous
    async def test_market_data(self) -> None:
        """depth carries E/T, tickers carry time; REQUEST_WEIGHT is out of 2400, counted apart."""
        fake = await self.start()
        client = await self.wsapi("/ws-fapi/v1")
        depth = await self.call(client, "depth", {"symbol": "BTCUSDT", "limit": 10})
        self.assertEqual(sorted(depth["result"]), ["E", "T", "asks", "bids", "lastUpdateId"])
        self.assertEqual(depth["result"]["lastUpdateId"], fake.book("btcusdt")[0])
        self.assertEqual(
            depth["rateLimits"],
            [
                {
                    "rateLimitType": "REQUEST_WEIGHT",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": 2400,
                    "count": 2,
                }
            ],
        )
        price = await self.ok(client, "ticker.price", {"symbol": "BTCUSDT"})
        self.assertEqual(sorted(price), ["price", "symbol", "time"])
        book = await self.ok(client, "ticker.book", {"symbol": "BTCUSDT"})
        self.assertEqual(
            sorted(book),
            sorted(["lastUpdateId", "symbol", "bidPrice", "bidQty", "askPrice", "askQty", "time"]),
        )
        self.assertEqual(len(await self.ok(client, "ticker.book")), 3)
        self.assertEqual((await self.fails(client, "klines", {"symbol": "BTCUSDT"}))[1], -1020)

    @asynchronous
    async def test_order_lifecycle_and_events(self) -> None:
        """LIMIT place (ACK) → status → modify → cancel, with ORDER_TRADE_UPDATE on the key."""
        await self.start()
        key = await self.listen_key(self.hmac)
        stream = await self.open(f"/private/ws?listenKey={key}")
        client = await self.wsapi("/ws-fapi/v1")
        book = await self.ok(client, "depth", {"symbol": "BTCUSDT", "limit": 5})
        price = book["bids"][-1][0]
        qty = str(max(D("0.001"), (D(100) / D(price)).quantize(D("0.001"))))
        placed = await self.call(
            client,
            "order.place",
            limit_buy(price, qty),
        )
        self.assertEqual(
            [r["rateLimitType"] for r in placed["rateLimits"]],
            ["ORDERS", "ORDERS", "REQUEST_WEIGHT"],
        )
        order = placed["result"]
        self.assertEqual(
            (order["status"], order["positionSide"], order["origType"]), ("NEW", "BOTH", "LIMIT")
        )
        self.assertEqual(D(order["price"]), D(price))
        query = {"symbol": "BTCUSDT", "orderId": order["orderId"]}
        status = await self.ok(client, "order.status", ws_signed(DOC_API_KEY, **query))
        self.assertIn("time", status)
        modified = await self.ok(
            client,
            "order.modify",
            ws_signed(DOC_API_KEY, side="BUY", quantity=qty, price=book["bids"][-2][0], **query),
        )
        self.assertEqual(D(modified["price"]), D(book["bids"][-2][0]))
        same = await self.fails(
            client,
            "order.modify",
            ws_signed(DOC_API_KEY, side="BUY", quantity=qty, price=book["bids"][-2][0], **query),
        )
        self.assertEqual(same[1], -5027)
        cancelled = await self.ok(client, "order.cancel", ws_signed(DOC_API_KEY, **query))
        self.assertEqual(cancelled["status"], "CANCELED")
        again = await self.fails(client, "order.cancel", ws_signed(DOC_API_KEY, **query))
        self.assertEqual(again[1], -2011)
        unknown = await self.fails(
            client, "order.status", ws_signed(DOC_API_KEY, symbol="BTCUSDT", orderId=5)
        )
        self.assertEqual(unknown[1], -2013)
        await self.fake.wait_for(lambda: len(stream.json()) == 3)
        self.assertEqual([e["o"]["x"] for e in stream.json()], ["NEW", "AMENDMENT", "CANCELED"])
        self.assertEqual(
            (
                await self.fails(
                    client,
                    "order.place",
                    ws_signed(
                        DOC_API_KEY, symbol="BTCUSDT", side="BUY", type="LIMIT", quantity=qty
                    ),
                )
            )[1],
            -1102,
        )

    @asynchronous
    async def test_market_order_opens_a_position(self) -> None:
        """A MARKET buy fills, opens a position and pays commission from the USDT wallet."""
        await self.start()
        client = await self.wsapi("/ws-fapi/v1")
        book = await self.ok(client, "depth", {"symbol": "BTCUSDT", "limit": 5})
        ask = D(book["asks"][0][0])
        qty = max(D("0.001"), (D(200) / ask).quantize(D("0.001")))
        filled = await self.ok(
            client,
            "v1/order.place",
            ws_signed(
                DOC_API_KEY,
                symbol="BTCUSDT",
                side="BUY",
                type="MARKET",
                quantity=str(qty),
                newOrderRespType="RESULT",
            ),
        )
        self.assertEqual((filled["status"], D(filled["executedQty"])), ("FILLED", qty))
        (position,) = await self.ok(client, "v2/account.position", ws_signed(DOC_API_KEY))
        self.assertEqual(D(position["positionAmt"]), qty)
        self.assertEqual(D(position["entryPrice"]), D(filled["avgPrice"]))
        self.assertIn("initialMargin", position)
        (old_style,) = await self.ok(
            client, "account.position", ws_signed(DOC_API_KEY, symbol="BTCUSDT")
        )
        self.assertEqual((old_style["leverage"], old_style["marginType"]), ("20", "cross"))
        (usdt,) = await self.ok(client, "v2/account.balance", ws_signed(DOC_API_KEY))
        fee = (D(filled["cumQuote"]) * D("0.0004")).quantize(D("1e-8"), "ROUND_DOWN")
        self.assertEqual(D(usdt["balance"]), 100000 - fee)
        self.assertEqual(await self.ok(client, "account.balance", ws_signed(DOC_API_KEY)), [usdt])
        status = await self.ok(client, "v2/account.status", ws_signed(DOC_API_KEY))
        self.assertEqual(D(status["totalWalletBalance"]), 100000 - fee)
        self.assertEqual(status["positions"][0]["symbol"], "BTCUSDT")
        full = await self.ok(client, "account.status", ws_signed(DOC_API_KEY))
        self.assertEqual(full["positions"][0]["leverage"], "20")
        self.assertTrue(full["canTrade"])
        self.fake.add_account("spotOnly", secret="s", permissions=("SPOT",))
        refused = await self.fails(client, "account.balance", ws_signed("spotOnly"))
        self.assertEqual(refused[:2], (401, -2015))


class StreamConsistencyTests(Base):
    @asynchronous
    async def test_fills_keep_the_streams_gapless(self) -> None:
        """Fills of the fake's orders reach the diff and trade streams with gapless ids."""
        fake = await self.start()
        stream = await self.open("/stream?streams=btcusdt@depth/btcusdt@trade")
        client = await self.wsapi()
        fake.tick()
        await fake.wait_for(lambda: stream.messages)
        book = await self.ok(client, "depth", {"symbol": "BTCUSDT", "limit": 1000})
        local = {"bids": dict(book["bids"]), "asks": dict(book["asks"])}
        ask = D(book["asks"][0][0])
        qty = max((D(100) / ask).quantize(D("0.00001")), D(book["asks"][0][1]) + D("0.00001"))
        placed = await self.ok(
            client,
            "order.place",
            ws_signed(DOC_API_KEY, symbol="BTCUSDT", side="BUY", type="MARKET", quantity=str(qty)),
        )
        seen = len(stream.messages)
        fake.tick(3)
        await fake.wait_for(lambda: len(stream.json()) >= seen + 3)
        messages = [m["data"] for m in stream.json()]
        diffs = [m for m in messages if m["e"] == "depthUpdate"]
        for before, after in itertools.pairwise(diffs):
            self.assertEqual(after["U"], before["u"] + 1)
        for diff in diffs:
            if diff["u"] <= book["lastUpdateId"]:
                continue
            for side, key in (("bids", "b"), ("asks", "a")):
                for price, amount in diff[key]:
                    if D(amount) == 0:
                        local[side].pop(price, None)
                    else:
                        local[side][price] = amount
        _, bids, asks = fake.book("btcusdt")
        self.assertEqual(local, {"bids": bids, "asks": asks})
        ids = [m["t"] for m in messages if m["e"] == "trade"]
        self.assertEqual(ids, list(range(ids[0], ids[0] + len(ids))))
        fill_ids = {f["tradeId"] for f in placed["fills"]}
        self.assertLessEqual(fill_ids, set(ids))


class ExchangeTests(SynchronousTestCase):
    """The matching rules on their own, without sockets."""

    def setUp(self) -> None:
        self.market = Market(0)
        self.symbol = self.market.get("btcusdt")
        self.exchange = Exchange(self.market, 0)
        self.account = SpotAccount()

    def request(self, **fields: Any) -> OrderRequest:
        defaults: dict[str, Any] = {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "LIMIT",
            "time_in_force": "GTC",
        }
        return OrderRequest(**{**defaults, **fields})

    def test_crossing_limit_fills_then_rests(self) -> None:
        """A GTC limit above the best ask takes what it crosses and rests the remainder."""
        ask, ask_qty = self.symbol.best_ask
        order, events = self.exchange.place(
            self.account, self.request(price=ask, quantity=ask_qty + 100_000), 1
        )
        assert order is not None
        self.assertEqual((order.status, order.executed), ("PARTIALLY_FILLED", ask_qty))
        self.assertTrue(order.is_working)
        self.assertEqual(order.locked, ask * 100_000 // E8)
        self.assertEqual([e[1].get("x") for e in events][:2], ["NEW", "TRADE"])

    def test_ioc_and_fok(self) -> None:
        """IOC expires the rest; FOK that cannot fill entirely expires with no fills."""
        ask, ask_qty = self.symbol.best_ask
        ioc, _ = self.exchange.place(
            self.account,
            self.request(price=ask, quantity=ask_qty + 100_000, time_in_force="IOC"),
            1,
        )
        assert ioc is not None
        self.assertEqual((ioc.status, ioc.executed), ("EXPIRED", ask_qty))
        ask, ask_qty = self.symbol.best_ask
        before = self.symbol.update_id
        fok, _ = self.exchange.place(
            self.account,
            self.request(price=ask, quantity=ask_qty + 100_000, time_in_force="FOK"),
            2,
        )
        assert fok is not None
        self.assertEqual((fok.status, fok.executed, self.symbol.update_id), ("EXPIRED", 0, before))

    def test_quote_quantity_market_buy(self) -> None:
        """A quoteOrderQty buy spends at most that much quote and reports what it bought."""
        order, _ = self.exchange.place(
            self.account, self.request(type="MARKET", time_in_force=None, quote_qty=50 * E8), 1
        )
        assert order is not None
        self.assertEqual(order.status, "FILLED")
        self.assertLessEqual(order.cum_quote, 50 * E8)
        self.assertEqual(order.orig_qty, order.executed)
        self.assertEqual(self.account.free("USDT"), 100_000 * E8 - order.cum_quote)

    def test_market_sell_needs_the_asset(self) -> None:
        """Selling more than the free balance is -2010 and changes nothing."""
        with self.assertRaises(ApiError) as caught:
            self.exchange.place(
                self.account,
                self.request(side="SELL", type="MARKET", time_in_force=None, quantity=11 * E8),
                1,
            )
        self.assertEqual(caught.exception.code, -2010)
        self.assertEqual(self.account.orders, {})
