"""DepthSynchroniser against FakeBinance: the local book equals the true book, faults included."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from twisted.internet import defer, reactor, task
from twisted.trial.unittest import TestCase

from binance_twisted import StreamClient
from binance_twisted.depth.synchroniser import DepthSynchroniser
from binance_twisted.errors import ClientClosedError
from binance_twisted.rest import RestClient
from binance_twisted.testing import FakeBinance
from tests.support import asynchronous, wait_until
from tests.test_book import _streams


async def pump(fake: FakeBinance, condition: Any, timeout: float = 5.0) -> None:
    """Advance the fake market a tick every 20 ms until ``condition()`` holds."""
    waited = 0.0
    while not condition():
        if waited > timeout:
            raise AssertionError("condition not reached while ticking the market")
        fake.tick()
        await task.deferLater(reactor, 0.02, lambda: None)
        waited += 0.02


def true_levels(side: dict[str, str]) -> dict[Decimal, Decimal]:
    return {Decimal(p): Decimal(q) for p, q in side.items() if Decimal(q) != 0}


class SynchroniserTestCase(TestCase):
    async def synchronised(
        self, market: str = "spot", before: Any = None
    ) -> tuple[FakeBinance, DepthSynchroniser, list[tuple[str, dict]]]:
        fake = FakeBinance(reactor, event_interval=None)
        await fake.start()
        self.addCleanup(fake.stop)
        endpoints = fake.endpoints
        if market == "spot":
            client = StreamClient(reactor, endpoints)
            rest = RestClient(reactor, endpoints.rest_url)
        else:
            client = StreamClient(
                reactor, endpoints, stream_url=endpoints.futures_public_url, validate=None
            )
            rest = RestClient(reactor, endpoints.futures_rest_url)
        self.addCleanup(client.close)
        states: list[tuple[str, dict]] = []
        sync = DepthSynchroniser(
            reactor,
            client,
            rest,
            "BTCUSDT",
            market=market,
            on_state=lambda s, d: states.append((s, d)),
        )
        self.addCleanup(sync.stop)
        if before is not None:
            before(fake)
        started = sync.start()
        await pump(fake, lambda: started.called)
        return fake, sync, states

    async def assert_matches_truth(self, fake: FakeBinance, sync: DepthSynchroniser) -> None:
        await pump(fake, lambda: sync.state == "synced")
        await pump(fake, lambda: sync.book.update_id == fake.book("btcusdt")[0], timeout=2)
        _, bids, asks = fake.book("btcusdt")
        self.assertEqual(dict(sync.book.bids()), true_levels(bids))
        self.assertEqual(dict(sync.book.asks()), true_levels(asks))
        self.assertFalse(sync.book.is_crossed())


class SpotTests(SynchroniserTestCase):
    @asynchronous
    async def test_book_follows_the_true_book(self) -> None:
        """Buffered stream + snapshot + live events: equal to the exchange's book."""
        fake, sync, states = await self.synchronised()
        self.assertEqual(states[0][0], "syncing")
        for _ in range(10):
            fake.tick()
        await self.assert_matches_truth(fake, sync)

    @asynchronous
    async def test_a_sequence_gap_is_detected_and_repaired(self) -> None:
        """An injected gap: the book is dropped, resynced, and equal to the truth again."""
        fake, sync, states = await self.synchronised()
        fake.inject_depth_gap("btcusdt")
        await pump(fake, lambda: sync.gaps == 1)
        await self.assert_matches_truth(fake, sync)
        self.assertIn("resyncing", [s for s, _ in states])

    @asynchronous
    async def test_a_stale_snapshot_never_corrupts_the_book(self) -> None:
        """A snapshot from behind the stream is not trusted: the book ends equal to the truth."""

        def stale(fake: FakeBinance) -> None:
            for _ in range(3):
                fake.tick()
            fake.stale_snapshots("btcusdt", behind=3)

        fake, sync, _ = await self.synchronised(before=stale)
        await self.assert_matches_truth(fake, sync)

    @asynchronous
    async def test_duplicates_and_swaps_do_not_corrupt_the_book(self) -> None:
        """Repeated and swapped events end in the true book (resyncing if needed)."""
        fake, sync, _ = await self.synchronised()
        fake.duplicate_depth_events("btcusdt", count=3)
        fake.reorder_depth_events("btcusdt")
        for _ in range(8):
            fake.tick()
        await self.assert_matches_truth(fake, sync)


class ReconnectTests(SynchroniserTestCase):
    @asynchronous
    async def test_a_dropped_connection_ends_synced_and_equal_to_the_truth(self) -> None:
        """Every TCP connection aborted: stale, reconnected, settled, and exact again."""
        fake, sync, states = await self.synchronised()
        fake.drop_all()
        await pump(fake, lambda: "resyncing" in [state for state, _ in states])
        await self.assert_matches_truth(fake, sync)

    @asynchronous
    async def test_a_quiet_symbol_is_settled_after_a_reconnect(self) -> None:
        """No diff event after the reconnect: the snapshot taken on reconnecting settles it."""
        fake, sync, states = await self.synchronised()
        fake.drop_all()
        await wait_until(lambda: states[-1][0] == "synced" and len(states) > 3, timeout=5)
        self.assertEqual(states[-1][1].get("refreshed"), 0)
        self.assertEqual(sync.gaps, 0)


class FuturesTests(SynchroniserTestCase):
    @asynchronous
    async def test_futures_book_follows_pu_continuity(self) -> None:
        """Futures events chain by pu (U jumps); the book still equals the truth, gaps repaired."""
        fake, sync, _ = await self.synchronised("futures")
        for _ in range(5):
            fake.tick()
        await self.assert_matches_truth(fake, sync)
        self.assertEqual(sync.gaps, 0)  # a snapshot between two events needs no resync
        fake.inject_depth_gap("btcusdt")
        await pump(fake, lambda: sync.gaps == 1)
        await self.assert_matches_truth(fake, sync)


class _StubClient:
    def subscribe(self, names: Any, on_message: Any, *args: Any, **kwargs: Any) -> Any:
        self.on_message = on_message
        subscription = type("Sub", (), {"unsubscribe": lambda self: defer.succeed(None)})()
        return defer.succeed(subscription)


class _StubRest:
    def __init__(self) -> None:
        self.calls: list[defer.Deferred] = []

    def request(self, *args: Any, **kwargs: Any) -> defer.Deferred:
        d: defer.Deferred = defer.Deferred()
        self.calls.append(d)
        return d


class SnapshotRuleTests(TestCase):
    def test_snapshot_older_than_the_first_event_is_refetched(self) -> None:
        """Spot: lastUpdateId < first buffered U → not applied; fetched again, then synced."""
        clock = task.Clock()
        client, rest = _StubClient(), _StubRest()
        sync = DepthSynchroniser(clock, client, rest, "BTCUSDT")  # type: ignore[arg-type]
        started = sync.start()
        client.on_message("btcusdt@depth@100ms", {"U": 101, "u": 105, "b": [], "a": []})
        rest.calls[0].callback({"lastUpdateId": 90, "bids": [], "asks": []})
        self.assertIsNone(sync.book.update_id)
        self.assertEqual(len(rest.calls), 1)  # not applied-then-gapped: refetched after a pause
        clock.advance(0.5)
        rest.calls[1].callback({"lastUpdateId": 103, "bids": [["1", "1"]], "asks": [["2", "1"]]})
        self.assertIs(self.successResultOf(started), sync)
        self.assertEqual((sync.state, sync.book.update_id, sync.gaps), ("synced", 105, 0))


class SchedulerTests(TestCase):
    def test_weights_follow_binance(self) -> None:
        """Spot 5/25/50/250 and futures 2/5/10/20 by limit, as Binance charges them."""
        from binance_twisted.depth.budget import snapshot_weight

        spot = [snapshot_weight("spot", n) for n in (100, 500, 1000, 5000)]
        futures = [snapshot_weight("futures", n) for n in (50, 100, 500, 1000)]
        self.assertEqual((spot, futures), ([5, 25, 50, 250], [2, 5, 10, 20]))

    def test_snapshots_wait_for_room_in_the_budget(self) -> None:
        """With 500/min, two 250-weight snapshots go at once; the third waits 60 s."""
        from binance_twisted.depth.budget import SnapshotScheduler

        clock = task.Clock()
        scheduler = SnapshotScheduler(clock, weight_per_minute=500)
        grants = [scheduler.acquire(250) for _ in range(4)]
        self.assertEqual([d.called for d in grants], [True, True, False, False])
        self.assertEqual(len(clock.getDelayedCalls()), 1)
        clock.advance(59.9)
        self.assertFalse(grants[2].called)
        clock.advance(0.1)
        self.assertEqual([d.called for d in grants], [True, True, True, True])
        scheduler.stop()
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_budget_must_be_positive(self) -> None:
        """A zero budget is refused, naming the argument."""
        from binance_twisted.depth.budget import SnapshotScheduler

        with self.assertRaisesRegex(ValueError, "weight_per_minute"):
            SnapshotScheduler(task.Clock(), weight_per_minute=0)


class QueuedTests(TestCase):
    def test_a_snapshot_waiting_for_budget_says_so(self) -> None:
        """Two books, room for one snapshot a minute: the second is queued, then granted."""
        from binance_twisted.depth.budget import SnapshotScheduler

        clock = task.Clock()
        rest = _StubRest()
        scheduler = SnapshotScheduler(clock, weight_per_minute=5)
        first, second = (
            DepthSynchroniser(clock, _StubClient(), rest, s, limit=100, scheduler=scheduler)  # type: ignore[arg-type]
            for s in ("BTCUSDT", "ETHUSDT")
        )
        first.start()
        second.start()
        self.assertEqual((first.queued, second.queued, len(rest.calls)), (False, True, 1))
        clock.advance(60)
        self.assertEqual((second.queued, len(rest.calls)), (False, 2))


class ManyBooksTests(TestCase):
    @asynchronous
    async def test_many_books_start_together_within_the_weight_budget(self) -> None:
        """Eight books share one scheduler: all sync, and no minute holds more than the budget."""
        from binance_twisted.depth.budget import SnapshotScheduler

        fake = FakeBinance(reactor, event_interval=None)
        await fake.start()
        self.addCleanup(fake.stop)
        client = StreamClient(reactor, fake.endpoints)
        self.addCleanup(client.close)
        rest = RestClient(reactor, fake.endpoints.rest_url)
        scheduler = SnapshotScheduler(reactor, weight_per_minute=100)
        self.addCleanup(scheduler.stop)
        symbols = [f"S{i}USDT" for i in range(8)]
        syncs = [
            DepthSynchroniser(reactor, client, rest, s, limit=100, scheduler=scheduler)
            for s in symbols
        ]
        for sync in syncs:
            self.addCleanup(sync.stop)
        started = [sync.start() for sync in syncs]
        await pump(fake, lambda: all(d.called for d in started))
        self.assertEqual([s.state for s in syncs], ["synced"] * 8, [s.error for s in syncs])
        snapshots = [e for e in fake.log if e.kind == "http" and "depth" in str(e.detail)]
        self.assertGreaterEqual(len(snapshots), 8)
        self.assertLessEqual(len(snapshots), 100 // 5)  # one minute's budget at weight 5


class _EventStubClient(_StubClient):
    def subscribe(self, names: Any, on_message: Any, *args: Any, **kwargs: Any) -> Any:
        self.on_event = args[0] if args else kwargs.get("on_event")
        return super().subscribe(names, on_message)


def diff(first: int, last: int, bids: Any = (), asks: Any = (), when: int = 0) -> dict:
    return {"U": first, "u": last, "b": list(bids), "a": list(asks), "E": when}


class LifecycleTests(TestCase):
    """The synchroniser's reactions to errors, disconnects and refreshes (Clock-driven)."""

    def synced(self, **options: Any) -> tuple[task.Clock, Any, _StubRest, DepthSynchroniser]:
        clock = task.Clock()
        client, rest = _EventStubClient(), _StubRest()
        states: list[tuple[str, dict]] = []
        sync = DepthSynchroniser(
            clock,
            client,  # type: ignore[arg-type]
            rest,  # type: ignore[arg-type]
            "BTCUSDT",
            on_state=lambda s, d: states.append((s, d)),
            **options,
        )
        self.states = states
        started = sync.start()
        rest.calls[0].callback({"lastUpdateId": 100, "bids": [["10", "1"]], "asks": [["11", "1"]]})
        self.assertIs(self.successResultOf(started), sync)
        return clock, client, rest, sync

    def test_a_refused_snapshot_stops_the_book_with_binances_error(self) -> None:
        """HTTP 400 -1121 (invalid symbol): no retry loop; stopped, error kept, start() fails."""
        from binance_twisted.errors import BinanceAPIError

        clock = task.Clock()
        client, rest = _EventStubClient(), _StubRest()
        sync = DepthSynchroniser(clock, client, rest, "NOSUCHCOIN")  # type: ignore[arg-type]
        started = sync.start()
        refused = BinanceAPIError(400, -1121, "Invalid symbol.")
        rest.calls[0].errback(refused)
        self.assertIs(self.failureResultOf(started, BinanceAPIError).value, refused)
        self.assertEqual((sync.state, sync.error), ("stopped", refused))
        clock.advance(60)
        self.assertEqual(len(rest.calls), 1)

    def test_a_rate_limited_snapshot_waits_retry_after_then_retries(self) -> None:
        """429 with Retry-After 5 s: the next snapshot request comes after 5 s, not before."""
        from binance_twisted.errors import RateLimitedError

        clock = task.Clock()
        client, rest = _EventStubClient(), _StubRest()
        sync = DepthSynchroniser(clock, client, rest, "BTCUSDT")  # type: ignore[arg-type]
        sync.start()
        rest.calls[0].errback(RateLimitedError(429, -1003, "Too much request weight", 5.0))
        clock.advance(4.9)
        self.assertEqual((len(rest.calls), sync.state), (1, "syncing"))
        clock.advance(0.1)
        self.assertEqual(len(rest.calls), 2)

    def test_a_disconnect_marks_the_book_stale_and_a_contiguous_resume_needs_no_snapshot(
        self,
    ) -> None:
        """Disconnected → resyncing (book kept); the next event follows on → synced, no REST."""
        from binance_twisted.events import ConnectionEvent, EventKind

        _clock, client, rest, sync = self.synced()
        client.on_event(ConnectionEvent(EventKind.DISCONNECTED, "spot-1", 0.0, reason="lost"))
        self.assertEqual(self.states[-1], ("resyncing", {"reason": "lost"}))
        self.assertEqual(sync.book.update_id, 100)
        client.on_message("btcusdt@depth@100ms", diff(101, 102, [["10", "2"]], when=7))
        self.assertEqual(self.states[-1], ("synced", {"lastUpdateId": 102, "resumed": True}))
        self.assertEqual((len(rest.calls), sync.event_time), (1, 7))
        self.assertEqual(sync.book.best_bid(), (Decimal("10"), Decimal("2")))

    def test_a_resume_with_missing_events_resyncs_from_a_snapshot(self) -> None:
        """Disconnected, then the ids jump: gap reported with its ids, a new snapshot fetched."""
        from binance_twisted.events import ConnectionEvent, EventKind

        _clock, client, rest, sync = self.synced()
        client.on_event(ConnectionEvent(EventKind.STALLED, "spot-1", 0.0))
        client.on_message("btcusdt@depth@100ms", diff(150, 151))
        self.assertEqual(self.states[-1][1]["U"], 150)
        self.assertEqual((sync.gaps, sync.book.update_id, len(rest.calls)), (1, None, 2))

    def test_a_reconnect_while_stale_is_settled_by_a_snapshot(self) -> None:
        """A quiet symbol sends nothing after reconnecting: a snapshot at its id says synced."""
        from binance_twisted.events import ConnectionEvent, EventKind

        _clock, client, rest, sync = self.synced()
        client.on_event(ConnectionEvent(EventKind.DISCONNECTED, "spot-1", 0.0, reason="lost"))
        client.on_event(ConnectionEvent(EventKind.RECONNECTED, "spot-1", 1.0, gap=1.0))
        self.assertEqual((len(rest.calls), sync.state), (2, "resyncing"))
        rest.calls[1].callback({"lastUpdateId": 100, "bids": [["10", "1"]], "asks": [["11", "1"]]})
        self.assertEqual(self.states[-1], ("synced", {"lastUpdateId": 100, "refreshed": 0}))
        self.assertEqual((sync.gaps, sync.corrections), (0, 0))

    def test_a_snapshot_ahead_of_the_stream_replaces_the_stale_book(self) -> None:
        """Events were missed while disconnected: the newer snapshot is adopted, and the stream
        goes on from it (older events stale, the next one applied)."""
        from binance_twisted.events import ConnectionEvent, EventKind

        _clock, client, rest, sync = self.synced()
        client.on_event(ConnectionEvent(EventKind.DISCONNECTED, "spot-1", 0.0))
        client.on_event(ConnectionEvent(EventKind.RECONNECTED, "spot-1", 1.0))
        rest.calls[1].callback({"lastUpdateId": 105, "bids": [["10", "7"]], "asks": [["12", "1"]]})
        self.assertEqual((sync.state, sync.book.update_id), ("synced", 105))
        self.assertEqual(sync.book.best_ask(), (Decimal("12"), Decimal("1")))
        client.on_message("btcusdt@depth@100ms", diff(101, 104, [["10", "99"]]))  # covered
        client.on_message("btcusdt@depth@100ms", diff(106, 107, [["10", "8"]]))
        self.assertEqual((sync.book.update_id, sync.gaps), (107, 0))
        self.assertEqual(sync.book.best_bid(), (Decimal("10"), Decimal("8")))

    def test_a_malformed_snapshot_is_retried_not_stuck(self) -> None:
        """A snapshot with a bad level: logged, fetched again after 2 s, then synced."""
        clock = task.Clock()
        client, rest = _EventStubClient(), _StubRest()
        sync = DepthSynchroniser(clock, client, rest, "BTCUSDT")  # type: ignore[arg-type]
        started = sync.start()
        rest.calls[0].callback({"lastUpdateId": 100, "bids": [["abc", "1"]], "asks": []})
        self.assertEqual((sync.state, len(rest.calls)), ("syncing", 1))
        clock.advance(2)
        rest.calls[1].callback({"lastUpdateId": 100, "bids": [["10", "1"]], "asks": []})
        self.assertIs(self.successResultOf(started), sync)

    def test_a_malformed_event_resyncs_instead_of_raising(self) -> None:
        """An event without 'b' is dropped; the book resyncs from a new snapshot."""
        _clock, client, rest, sync = self.synced()
        client.on_message("btcusdt@depth@100ms", {"U": 101, "u": 101, "a": []})
        self.assertEqual((sync.state, sync.book.update_id, len(rest.calls)), ("resyncing", None, 2))
        self.assertIn("malformed", self.states[-1][1])
        rest.calls[1].callback({"lastUpdateId": 101, "bids": [["10", "1"]], "asks": []})
        self.assertEqual(sync.state, "synced")

    def test_a_book_cleared_behind_its_back_resyncs(self) -> None:
        """The book emptied by a bad level written through the facade: the next event resyncs."""
        _clock, client, rest, sync = self.synced()
        with self.assertRaises(ValueError):
            sync.book.apply_levels([["10", "-1"]], [])
        client.on_message("btcusdt@depth@100ms", diff(101, 101))
        self.assertEqual((sync.state, len(rest.calls)), ("resyncing", 2))

    def test_a_refresh_answered_while_disconnected_does_not_declare_synced(self) -> None:
        """The refresh in flight at a drop is dropped with it; the reconnect asks again."""
        from binance_twisted.events import ConnectionEvent, EventKind

        clock, client, rest, sync = self.synced(refresh_interval=10)
        clock.advance(10)
        client.on_event(ConnectionEvent(EventKind.DISCONNECTED, "spot-1", 0.0, reason="lost"))
        rest.calls[1].callback({"lastUpdateId": 100, "bids": [["10", "1"]], "asks": []})
        self.assertEqual(sync.state, "resyncing")
        clock.advance(10)  # the periodic refresh does not run while disconnected
        self.assertEqual(len(rest.calls), 2)
        client.on_event(ConnectionEvent(EventKind.RECONNECTED, "spot-1", 1.0))
        self.assertEqual(len(rest.calls), 3)

    def test_stopping_while_queued_for_the_budget_spends_nothing(self) -> None:
        """A snapshot still waiting for budget is withdrawn by stop(): no request, no weight."""
        from binance_twisted.depth.budget import SnapshotScheduler

        clock, rest = task.Clock(), _StubRest()
        scheduler = SnapshotScheduler(clock, weight_per_minute=250)
        scheduler.acquire(250)  # another book took the whole minute
        sync = DepthSynchroniser(clock, _EventStubClient(), rest, "BTCUSDT", scheduler=scheduler)  # type: ignore[arg-type]
        started = sync.start()
        self.assertTrue(sync.queued)
        sync.stop()
        self.failureResultOf(started, ClientClosedError)
        clock.advance(61)
        self.assertEqual((len(rest.calls), list(scheduler._waiting)), (0, []))

    def test_giving_up_stops_the_book_with_the_reason(self) -> None:
        """GAVE_UP from the connection: stopped for good, the reason in ``error``."""
        from binance_twisted.errors import ConnectionGaveUpError
        from binance_twisted.events import ConnectionEvent, EventKind

        _clock, client, _rest, sync = self.synced()
        event = ConnectionEvent(EventKind.GAVE_UP, "spot-1", 0.0, reason="refused", attempt=5)
        client.on_event(event)
        self.assertEqual(sync.state, "stopped")
        self.assertIsInstance(sync.error, ConnectionGaveUpError)
        self.assertIn("refused", str(sync.error))
        self.assertEqual(sync.book.depth(), (0, 0))

    def test_refresh_swaps_in_a_rebuilt_book_and_counts_corrections(self) -> None:
        """The book stays readable during a refresh; a wrong level is corrected and counted."""
        _clock, client, rest, sync = self.synced()
        book = sync.book
        book.apply_levels([["10", "4"], ["9", "5"]], [])  # wrong, and beyond the snapshot
        sync.refresh()
        client.on_message("btcusdt@depth@100ms", diff(101, 101, asks=[["11", "3"]]))
        self.assertEqual(book.depth(), (2, 1))  # live while the snapshot is on its way
        rest.calls[1].callback({"lastUpdateId": 100, "bids": [["10", "1"]], "asks": [["11", "1"]]})
        self.assertIs(sync.book, book)
        self.assertEqual(book.bids(), [(Decimal("10"), Decimal("1"))])
        self.assertEqual(book.asks(), [(Decimal("11"), Decimal("3"))])
        self.assertEqual((sync.corrections, book.update_id), (1, 101))
        self.assertEqual(self.states[-1], ("synced", {"lastUpdateId": 101, "refreshed": 1}))

    def test_refresh_interval_schedules_refreshes_and_stop_cancels_them(self) -> None:
        """refresh_interval=60: a snapshot request every 60 s while synced; none after stop."""
        clock, _client, rest, sync = self.synced(refresh_interval=60)
        clock.advance(60)
        self.assertEqual(len(rest.calls), 2)
        rest.calls[1].callback({"lastUpdateId": 100, "bids": [["10", "1"]], "asks": [["11", "1"]]})
        self.assertEqual(sync.corrections, 0)
        clock.advance(60)
        self.assertEqual(len(rest.calls), 3)
        sync.stop()
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_bad_options_fail_before_any_io(self) -> None:
        """limit, speed and refresh_interval are checked up front, naming the allowed values."""
        client, rest = _EventStubClient(), _StubRest()
        for options, words in [
            ({"limit": 5001}, "limit must be an int from 1 to 5000 for spot"),
            ({"market": "futures", "limit": 5000}, "1 to 1000 for futures"),
            ({"speed": 250}, "speed must be one of 100, 1000"),
            ({"market": "options"}, "market must be one of spot, futures"),
            ({"refresh_interval": 0}, "refresh_interval must be None or > 0"),
        ]:
            with self.assertRaisesRegex(ValueError, words):
                DepthSynchroniser(task.Clock(), client, rest, "BTCUSDT", **options)  # type: ignore[arg-type]
        self.assertEqual(rest.calls, [])


class SynchroniserPropertyTests(TestCase):
    """The real DepthSynchroniser (not a model of it) under random faulty streams."""

    def _play(self, truth: Any, events: list, delivered: list, choices: list, market: str) -> None:
        """Deliver events with faults; answer snapshots at random ids, some too old.

        After every step the book is the true book at its id while ``synced``, and empty
        otherwise; once the stream ends, one good snapshot brings it back to ``synced``.
        """
        picks = iter(choices)
        clock = task.Clock()
        client, rest = _EventStubClient(), _StubRest()
        sync = DepthSynchroniser(clock, client, rest, "BTCUSDT", market=market)  # type: ignore[arg-type]
        sync.start()

        def check() -> None:
            book = sync.book
            if sync.state != "synced":
                self.assertEqual((book.update_id, book.depth()), (None, (0, 0)))
                return
            want = truth.at(book.update_id)
            self.assertEqual(book.bids(), sorted(want["b"].items(), reverse=True))
            self.assertEqual(book.asks(), sorted(want["a"].items()))

        def answer(snapshot_id: int) -> None:
            pending = [d for d in rest.calls if not d.called]
            if pending:
                bids, asks = truth.snapshot_lists(snapshot_id, next(picks, 0) % 3)
                pending[0].callback({"lastUpdateId": snapshot_id, "bids": bids, "asks": asks})

        newest = 0
        for index in delivered:
            newest = max(newest, index)
            client.on_message("btcusdt@depth@100ms", dict(events[index]))
            check()
            if next(picks, 0) % 2:
                high = events[newest]["u"]
                low = max(truth.base_id, high - 6)
                answer(low + next(picks, 0) % (high - low + 1))
                check()
            clock.advance(1)  # a refetch of a too-old snapshot is due after 0.5 s
        for _ in range(3):
            if sync.state == "synced":
                break
            answer(events[newest]["u"])
            clock.advance(1)
        self.assertEqual(sync.state, "synced")
        check()

    @settings(max_examples=150, deadline=None)
    @given(_streams(futures=False))
    def test_spot_synchroniser_matches_truth_or_says_unsynced(self, stream: Any) -> None:
        """Spot: synced means equal to the true book; anything else means an empty book."""
        self._play(*stream, market="spot")

    @settings(max_examples=150, deadline=None)
    @given(_streams(futures=True))
    def test_futures_synchroniser_matches_truth_or_says_unsynced(self, stream: Any) -> None:
        """Futures (pu chain): the same promise."""
        self._play(*stream, market="futures")
