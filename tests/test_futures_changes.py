"""Binance's USD-M changes since July 2026 (binance-platform.md §0), end to end against
FakeBinance: ``order.modify``'s ``modifyId``, ``algoOrder.place``/``algoOrder.cancel`` with
a trailing stop's ``callbackRate`` up to 20, and user-data events that gained fields
(``ACCOUNT_UPDATE.a.S``, ``ALGO_UPDATE.o.ia``) or come twice (two ``NEW`` for a trailing
stop): nothing rejects, strips or de-duplicates them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from twisted.internet import defer, reactor
from twisted.trial.unittest import TestCase

from binance_twisted.accounts import ListenKeys, ListenKeyStream
from binance_twisted.errors import BinanceAPIError
from binance_twisted.testing import FakeBinance
from binance_twisted.wsapi import WebSocketAPI
from tests.support import asynchronous, wait_until
from tests.test_accounts import API_KEY, SECRET, Collected


def trailing_stop(api: WebSocketAPI, callback_rate: str) -> Any:
    return api.ws_futures_create_algo_order(
        algoType="CONDITIONAL",
        symbol="BTCUSDT",
        side="SELL",
        type="TRAILING_STOP_MARKET",
        quantity="0.01",
        callbackRate=callback_rate,
    )


class FuturesChangesTests(TestCase):
    async def setup(self) -> tuple[FakeBinance, WebSocketAPI, Collected]:
        fake = FakeBinance(reactor, event_interval=None)
        await fake.start()
        self.addCleanup(fake.stop)
        # after the clients closed, before the fake stops: their sessions end with a close
        # handshake, whose timers must be gone when the test ends
        self.addCleanup(lambda: defer.ensureDeferred(wait_until(lambda: not fake.connections)))
        self.account = fake.add_account(API_KEY, secret=SECRET)
        api = WebSocketAPI.futures(
            reactor, fake.endpoints, api_key=API_KEY, private_key_or_secret=SECRET
        )
        self.addCleanup(api.close)
        keys = ListenKeys.for_endpoints(reactor, fake.endpoints, "futures", api_key=API_KEY)
        events = Collected()
        stream = ListenKeyStream(reactor, fake.endpoints, keys, events)
        self.addCleanup(stream.close)
        await stream.start()
        return fake, api, events

    @asynchronous
    async def test_a_trailing_stop_at_20_percent_and_its_two_new_events(self) -> None:
        fake, api, events = await self.setup()
        placed = await trailing_stop(api, callback_rate="20")
        self.assertEqual((placed["algoStatus"], placed["callbackRate"]), ("NEW", "20"))
        await fake.wait_for(lambda: len(events.items) == 2)
        updates = [(e["e"], e["o"]["X"], e["o"]["ia"]) for e in events.items]
        self.assertEqual(updates, [("ALGO_UPDATE", "NEW", False), ("ALGO_UPDATE", "NEW", True)])
        with self.assertRaises(BinanceAPIError) as refused:  # Binance's limit, not ours
            await trailing_stop(api, callback_rate="20.5")
        self.assertEqual(refused.exception.code, -4136)
        cancelled = await api.ws_futures_cancel_algo_order(algoId=placed["algoId"])
        self.assertEqual(cancelled["algoId"], placed["algoId"])
        await fake.wait_for(lambda: len(events.items) == 3)
        self.assertEqual(events.items[-1]["o"]["X"], "CANCELED")

    @asynchronous
    async def test_modify_id_is_sent_and_echoed(self) -> None:
        fake, api, _ = await self.setup()
        fake.tick()
        _, bids, _ = fake.book("btcusdt")
        price = min(Decimal(p) for p in bids)
        order = await api.ws_futures_create_order(
            symbol="BTCUSDT",
            side="BUY",
            type="LIMIT",
            timeInForce="GTC",
            quantity="0.01",
            price=str(price),
        )
        modified = await api.ws_futures_edit_order(
            symbol="BTCUSDT",
            orderId=order["orderId"],
            side="BUY",
            quantity="0.01",
            price=str(price - 1),
            modifyId=7,
        )
        self.assertEqual(modified["modifyId"], 7)

    @asynchronous
    async def test_new_event_fields_arrive_untouched(self) -> None:
        """``ACCOUNT_UPDATE.a.S`` (a funding fee's symbol) reaches the callback as sent."""
        fake, _, events = await self.setup()
        update = self.account.account_update(reason="FUNDING_FEE")
        update["a"]["S"] = "BTCUSDT"
        self.account.emit("futures", update)
        await fake.wait_for(lambda: events.items)
        self.assertEqual(events.items[0]["a"]["S"], "BTCUSDT")
        self.assertEqual(events.items[0]["a"]["m"], "FUNDING_FEE")
