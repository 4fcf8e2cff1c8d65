"""FakeBinance's order books: futures diff depth with ``pu``, and the order-book faults.

Over real sockets on 127.0.0.1 with the recording client of ``tests.test_fake``, ticks
driven by ``fake.tick()`` (``event_interval=None``). The local-book procedures of
binance-platform.md §5 are written out here, so the tests show what a synchroniser meets.
"""

from __future__ import annotations

import itertools
from typing import Any

import treq
from twisted.internet import reactor
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.client import Agent, HTTPConnectionPool

from binance_twisted._json import loads
from binance_twisted.testing._market import E8, Market
from binance_twisted.testing._names import StreamSpec, recognise
from tests.test_fake import Client, FakeTestCase, apply_diff, asynchronous, kinds

Book = dict[str, dict[str, str]]
FUTURES_KEYS = ["e", "E", "T", "s", "U", "u", "pu", "b", "a"]
SPOT_KEYS = ["e", "E", "s", "U", "u", "b", "a"]


class Gap(Exception):
    """The events do not continue the local book: resynchronise."""


def local_book(snapshot: dict[str, Any]) -> Book:
    return {"bids": dict(snapshot["bids"]), "asks": dict(snapshot["asks"])}


def spot_sync(snapshot: dict[str, Any], events: list[dict[str, Any]]) -> tuple[int, Book]:
    """§5.1: drop u <= lastUpdateId, then each U must be at most the book id + 1."""
    book, book_id = local_book(snapshot), snapshot["lastUpdateId"]
    for event in events:
        if event["u"] <= book_id:
            continue
        if event["U"] > book_id + 1:
            raise Gap(event)
        apply_diff(book, event)
        book_id = event["u"]
    return book_id, book


def futures_sync(snapshot: dict[str, Any], events: list[dict[str, Any]]) -> tuple[int, Book]:
    """§5.2: drop u < lastUpdateId; the first has U <= lastUpdateId <= u; then pu == prev u."""
    book, last = local_book(snapshot), snapshot["lastUpdateId"]
    previous = None
    for event in events:
        if event["u"] < last:
            continue
        if previous is None:
            if not event["U"] <= last <= event["u"]:
                raise Gap(event)
        elif event["pu"] != previous:
            raise Gap(event)
        apply_diff(book, event)
        previous = event["u"]
    return (last if previous is None else previous), book


def naive(snapshot: dict[str, Any], events: list[dict[str, Any]]) -> Book:
    """Apply every event after the snapshot, checking nothing."""
    book = local_book(snapshot)
    for event in events:
        if event["u"] > snapshot["lastUpdateId"]:
            apply_diff(book, event)
    return book


class MarketTests(SynchronousTestCase):
    def test_futures_ids_jump_and_chain_by_pu(self) -> None:
        """Futures U jumps past pu + 1 while pu is always the previous u."""
        market = Market(seed=3).get("btcusdt")
        diffs = [market.step(now).diff for now in range(50)]
        for before, after in itertools.pairwise(diffs):
            self.assertEqual(after.previous_update_id, before.final_update_id)
            self.assertLessEqual(after.futures_first_update_id, after.final_update_id)
        jumps = [d.futures_first_update_id - d.previous_update_id for d in diffs]
        self.assertGreater(max(jumps), 1)

    def test_both_procedures_work_with_fills_between_steps(self) -> None:
        """A snapshot taken after fills between steps syncs by the Spot and futures rules."""
        market = Market(seed=5).get("ethusdt")
        market.step(0)
        market.fill(True, market.match(True, qty=20 * E8 // 1000), 1)
        last_update_id, bids, asks = market.depth(5000)
        snapshot = {"lastUpdateId": last_update_id, "bids": bids, "asks": asks}
        events, futures_events = [], []
        for now in range(2, 12):
            diff = market.step(now).diff
            event = {"U": diff.first_update_id, "u": diff.final_update_id}
            event |= {"pu": diff.previous_update_id, "b": diff.bids, "a": diff.asks}
            events.append(event)
            futures_events.append({**event, "U": diff.futures_first_update_id})
        truth = market.book()
        for sync, stream in [(spot_sync, events), (futures_sync, futures_events)]:
            book_id, book = sync(snapshot, stream)
            self.assertEqual((book_id, book["bids"], book["asks"]), truth, sync.__name__)

    def test_past_depth_rebuilds_earlier_books(self) -> None:
        """past_depth(k) is the book as it stood k steps ago, its id included."""
        market = Market(seed=9).get("btcusdt")
        books = [market.book()]
        for now in range(8):
            market.step(now, hidden=2 if now == 3 else 0)
            books.append(market.book())
        for k in range(10):
            update_id, bids, asks = market.past_depth(k, 5000)
            self.assertEqual((update_id, dict(bids), dict(asks)), books[max(0, 8 - k)], k)

    def test_depth_500ms_is_futures_only(self) -> None:
        """<symbol>@depth@500ms is a diff-depth stream on futures routes, silent on Spot."""
        self.assertEqual(
            recognise("btcusdt@depth@500ms", futures=True), StreamSpec("depth", "btcusdt")
        )
        self.assertIsNone(recognise("btcusdt@depth@500ms"))
        self.assertIsNone(recognise("BTCUSDT@depth@500ms", futures=True))


class BookTestCase(FakeTestCase):
    async def get(self, path: str) -> tuple[int, Any]:
        pool = HTTPConnectionPool(reactor)
        self.addCleanup(pool.closeCachedConnections)
        response = await treq.client.HTTPClient(Agent(reactor, pool=pool)).get(
            self.fake.endpoints.rest_url + path
        )
        return response.code, loads(await response.content())

    async def snapshot(self, futures: bool = False, symbol: str = "BTCUSDT") -> dict[str, Any]:
        path = "/fapi/v1/depth" if futures else "/api/v3/depth"
        status, body = await self.get(f"{path}?symbol={symbol}&limit=1000")
        self.assertEqual(status, 200, body)
        return body

    async def clients(self, stream: str = "btcusdt@depth") -> tuple[Client, Client]:
        """A Spot and a futures (``/public``) raw connection to one stream."""
        return await self.open(f"/ws/{stream}"), await self.open(f"/public/ws/{stream}")

    async def tick(self, count: int, *clients: Client, expect: int | None = None) -> None:
        """Tick ``count`` times and wait until each client has ``expect`` more messages."""
        wanted = [len(c.messages) + (count if expect is None else expect) for c in clients]
        self.fake.tick(count)
        await self.fake.wait_for(
            lambda: all(len(c.messages) >= n for c, n in zip(clients, wanted, strict=True))
        )

    def assert_is_truth(self, book: Book, symbol: str = "btcusdt") -> None:
        _, bids, asks = self.fake.book(symbol)
        self.assertEqual((book["bids"], book["asks"]), (bids, asks))


class FuturesDepthTests(BookTestCase):
    @asynchronous
    async def test_futures_events_carry_pu_and_chain(self) -> None:
        """@depth, @depth@100ms and @depth@500ms on /public carry T and pu; pu is the previous u."""
        fake = await self.start()
        names = ["btcusdt@depth", "btcusdt@depth@100ms", "btcusdt@depth@500ms"]
        futures = await self.open("/public/stream?streams=" + "/".join(names))
        spot = await self.open("/stream?streams=" + "/".join(names))
        fake.tick(10)
        await fake.wait_for(lambda: len(futures.messages) >= 30 and len(spot.messages) >= 20)
        await self.settle(futures)
        await self.settle(spot)
        self.assertEqual((len(futures.messages), len(spot.messages)), (30, 20))
        by_stream: dict[str, list[Any]] = {}
        for message in futures.json():
            by_stream.setdefault(message["stream"], []).append(message["data"])
        self.assertEqual(sorted(by_stream), sorted(names))
        events = by_stream["btcusdt@depth"]
        self.assertEqual(by_stream["btcusdt@depth@100ms"], events)
        self.assertEqual(by_stream["btcusdt@depth@500ms"], events)
        for event in events:
            self.assertEqual(list(event), FUTURES_KEYS)
            self.assertEqual((event["e"], event["s"]), ("depthUpdate", "BTCUSDT"))
            self.assertLessEqual(event["pu"], event["U"] - 1)
        for before, after in itertools.pairwise(events):
            self.assertEqual(after["pu"], before["u"])
        self.assertTrue(any(e["U"] > e["pu"] + 1 for e in events), events)
        spot_events = [m["data"] for m in spot.json()]
        self.assertEqual({m["stream"] for m in spot.json()}, set(names[:2]))
        self.assertEqual([list(e) for e in spot_events], [SPOT_KEYS] * 20)
        self.assertEqual([e["u"] for e in spot_events[::2]], [e["u"] for e in events])

    @asynchronous
    async def test_futures_snapshot_then_events_reproduce_the_book(self) -> None:
        """/fapi/v1/depth plus the events after it, by the pu rules, equals fake.book()."""
        fake = await self.start()
        client = await self.open("/public/ws/btcusdt@depth@100ms")
        await self.tick(3, client)
        snapshot = await self.snapshot(futures=True)
        self.assertEqual(list(snapshot), ["lastUpdateId", "E", "T", "bids", "asks"])
        self.assertEqual(snapshot["lastUpdateId"], client.json()[-1]["u"])
        await self.tick(20, client)
        book_id, book = futures_sync(snapshot, client.json())
        self.assertEqual(book_id, fake.book("btcusdt")[0])
        self.assertGreater(book_id, snapshot["lastUpdateId"])
        self.assert_is_truth(book)

    @asynchronous
    async def test_futures_snapshot_limit(self) -> None:
        """limit trims each side, a huge one is capped rather than refused; a bad symbol -1121."""
        await self.start()
        status, body = await self.get("/fapi/v1/depth?symbol=ETHUSDT&limit=5")
        self.assertEqual((status, len(body["bids"]), len(body["asks"])), (200, 5, 5))
        status, body = await self.get("/fapi/v1/depth?symbol=ETHUSDT&limit=100000")
        self.assertEqual(status, 200)
        status, body = await self.get("/fapi/v1/depth?symbol=NOPE")
        self.assertEqual((status, body["code"]), (400, -1121))


class BookFaultTests(BookTestCase):
    @asynchronous
    async def test_gap_skips_ids_on_the_wire(self) -> None:
        """After inject_depth_gap the next event has U > prev u + 1 (Spot), pu != prev u."""
        fake = await self.start()
        spot, futures = await self.clients()
        await self.tick(2, spot, futures)
        fake.inject_depth_gap("BTCUSDT")
        await self.tick(2, spot, futures)
        s, f = spot.json(), futures.json()
        self.assertEqual([b["U"] - a["u"] for a, b in itertools.pairwise(s)], [1, 3, 1])
        self.assertEqual([b["pu"] == a["u"] for a, b in itertools.pairwise(f)], [True, False, True])
        self.assertEqual(f[2]["pu"], s[2]["U"] - 1)
        self.assertEqual([e["u"] for e in s], [e["u"] for e in f])
        self.assertEqual(
            [(e.detail["fault"], e.detail["symbol"]) for e in kinds(fake, "book-fault")],
            [("gap", "BTCUSDT")],
        )
        applied = kinds(fake, "book-fault-applied")[0].detail
        self.assertEqual(
            applied,
            {"fault": "gap", "symbol": "BTCUSDT", "skipped": 2, "U": s[2]["U"], "u": s[2]["u"]},
        )

    @asynchronous
    async def test_naive_client_diverges_across_a_gap(self) -> None:
        """Applying events across a gap gives a wrong book; resyncing gives the true one."""
        fake = await self.start()
        spot, futures = await self.clients()
        await self.tick(2, spot, futures)
        spot_snapshot, futures_snapshot = await self.snapshot(), await self.snapshot(True)
        fake.inject_depth_gap("btcusdt", count=2)
        await self.tick(3, spot, futures)
        for snapshot, client, sync in [
            (spot_snapshot, spot, spot_sync),
            (futures_snapshot, futures, futures_sync),
        ]:
            book = naive(snapshot, client.json())
            _, bids, asks = fake.book("btcusdt")
            self.assertNotEqual((book["bids"], book["asks"]), (bids, asks), sync.__name__)
            self.assertRaises(Gap, sync, snapshot, client.json())
        fresh_spot, fresh_futures = await self.snapshot(), await self.snapshot(True)
        await self.tick(3, spot, futures)
        self.assert_is_truth(spot_sync(fresh_spot, spot.json())[1])
        self.assert_is_truth(futures_sync(fresh_futures, futures.json())[1])

    @asynchronous
    async def test_stale_snapshot_is_older_than_sent_events(self) -> None:
        """stale_snapshots serves an older book (id < the first U sent), then current ones."""
        fake = await self.start()
        spot, futures = await self.clients()
        fake.tick()
        await fake.wait_for(lambda: spot.messages and futures.messages)
        first_book = fake.book("btcusdt")
        await self.tick(4, spot, futures)
        fake.stale_snapshots("BTCUSDT", count=2, behind=4)
        stale = await self.snapshot()
        stale_futures = await self.snapshot(futures=True)
        fresh = await self.snapshot(futures=True)
        for old in (stale, stale_futures):
            self.assertLess(old["lastUpdateId"], spot.json()[1]["U"])
            self.assertEqual(
                (old["lastUpdateId"], dict(old["bids"]), dict(old["asks"])), first_book
            )
        self.assertEqual(fresh["lastUpdateId"], fake.book("btcusdt")[0])
        # a client that began buffering after the first event cannot start from it
        self.assertRaises(Gap, futures_sync, stale_futures, futures.json()[1:])
        self.assertEqual(spot_sync(fresh, spot.json())[0], fresh["lastUpdateId"])
        applied = [e.detail for e in kinds(fake, "book-fault-applied")]
        self.assertEqual([d["fault"] for d in applied], ["stale", "stale"])
        self.assertEqual(applied[0]["lastUpdateId"], first_book[0])
        self.assertEqual(applied[0]["current"], fresh["lastUpdateId"])
        self.assertEqual(kinds(fake, "book-fault")[0].detail["behind"], 4)

    @asynchronous
    async def test_duplicate_events(self) -> None:
        """duplicate_depth_events sends the next events twice, Spot and futures alike."""
        fake = await self.start()
        spot, futures = await self.clients()
        await self.tick(1, spot, futures)
        fake.duplicate_depth_events("btcusdt", count=2)
        await self.tick(3, spot, futures, expect=5)
        for client in (spot, futures):
            events = client.json()
            self.assertEqual(len(events), 6)
            self.assertEqual(events[1], events[2])
            self.assertEqual(events[3], events[4])
            self.assertNotEqual(events[4], events[5])
        self.assertEqual(
            [e.detail["fault"] for e in kinds(fake, "book-fault-applied")], ["duplicate"] * 4
        )

    @asynchronous
    async def test_reordered_events(self) -> None:
        """reorder_depth_events sends the next two events swapped, ids unchanged."""
        fake = await self.start()
        spot, futures = await self.clients()
        await self.tick(1, spot, futures)
        fake.reorder_depth_events("btcusdt")
        fake.tick()
        await self.tick(2, spot, futures, expect=3)
        s, f = spot.json(), futures.json()
        self.assertEqual([e["u"] for e in s], [e["u"] for e in f])
        ids = [e["u"] for e in s]
        self.assertTrue(ids[0] < ids[2] < ids[1] < ids[3], ids)
        self.assertEqual(s[2]["U"], s[0]["u"] + 1)
        self.assertEqual(f[2]["pu"], f[0]["u"])
        self.assertEqual(f[1]["pu"], f[2]["u"])
        self.assertEqual(f[3]["pu"], f[1]["u"])
        self.assertEqual(len(kinds(fake, "book-fault-applied")), 4)

    @asynchronous
    async def test_fault_arguments(self) -> None:
        """A malformed symbol or behind < 1 is a ValueError; count <= 0 queues nothing."""
        fake = await self.start()
        self.assertRaises(ValueError, fake.inject_depth_gap, "btc/usdt")
        self.assertRaises(ValueError, fake.stale_snapshots, "btcusdt", behind=0)
        fake.duplicate_depth_events("btcusdt", count=0)
        self.assertEqual(kinds(fake, "book-fault"), [])
