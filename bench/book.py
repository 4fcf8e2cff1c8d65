"""The order-book update path: applying depth diffs and reading the best levels, in one process.

    python bench/book.py            # 20,000 events (legacy: 1,000), 5 rounds, ~90 s
    python bench/book.py --quick    # 4,000 events (legacy: 300), 3 rounds, ~15 s

What one ``<symbol>@depth@100ms`` diff costs once it is decoded: 20 changed levels per side
(4 removals with ``"0.00000000"``, 4 new prices, 12 changed quantities, mostly near the top of
the book; prices spelled like Spot's ``"98000.01000000"``), applied to a book of 5,000 levels
per side (the Spot snapshot limit), followed by a best-5 read of both sides, the usual thing a
strategy callback does.

Variants, interleaved round by round over the same pre-generated events:

- ``OrderBook`` (``binance_twisted.depth.book``): integer tick keys, quantities as sent, a
  sorted band of the best levels; ``apply_levels`` then ``bids(5)`` and ``asks(5)`` (Decimal
  levels); and the same without the read;
- "order-book (C, float keys)": cryptofeed's C ``order-book`` package (``pip install
  order-book``; skipped with a note when missing), used as its users do: ``float()`` of each
  price and quantity, ``del`` on a zero, and ``index(i)`` for the best five; and the same
  without the read. Floats are not exact, which is why it is a yardstick and not an option;
- "legacy DepthCache": python-binance 0.7.11's ``DepthCache`` re-implemented minimally here
  (string price keys, float quantities, exact-string zero check, and ``get_bids()`` /
  ``get_asks()`` building ``[[float(price), qty], ...]`` for the whole side and sorting it on
  every read); and the same without the read;
- "DepthSynchroniser" (``binance_twisted.depthcache``): the full per-event path a user of the
  library gets. Each event is the dict Binance sends (``e``, ``E``, ``s``, contiguous ``U``/``u``,
  ``b``, ``a``) handed to the synchroniser's stream callback; it goes through the Spot
  sequencer, ``apply_levels`` and ``on_update(book)``, which reads the best five of both sides.
  No sockets: a ``task.Clock`` as reactor, a stub stream client that records the callback and a
  stub REST client whose already-fired Deferred carries the snapshot, so ``start()`` syncs at
  once;
- "legacy facade": the same synchroniser as ``binance_twisted.legacy_depthcache.DepthCacheManager``
  wires it (``book_lock`` = the ``DepthCache``'s lock, the cache sharing the synchroniser's
  book), with ``on_update`` calling ``get_bids(5)`` and ``get_asks(5)`` (float levels, as a 0.x
  callback reads them).

Times are ``process_time`` over the whole loop, divided by the number of events; the table
shows the median over rounds (and the best). Snapshot loading (5,000 levels per side) is timed
once per round as well. Before timing, every variant must hold the same best five levels after
the same events; each synchroniser run must end ``synced`` with no sequence gap, so a
resyncing book cannot be measured by mistake.
"""

from __future__ import annotations

import argparse
import gc
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from operator import itemgetter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from twisted.internet import defer, task

from binance_twisted.depth.book import OrderBook
from binance_twisted.depth.synchroniser import DepthSynchroniser
from binance_twisted.legacy.depthcache import DepthCache

try:
    from order_book import OrderBook as CBook
except ImportError:  # optional: the comparison is skipped
    CBook = None

Levels = list[list[str]]
Event = tuple[Levels, Levels, int]  # (bids, asks, u)

SNAPSHOT_ID = 71_234_567_890  # the snapshot's lastUpdateId; the first event's U is one more
EVENT_TIME_MS = 1_795_305_600_000  # 2026-11-22 00:00 UTC; events are 100 ms apart

TICK_CENTS_MID = 9_800_000  # mid price 98,000.00 in cents
BAND_FACTOR = 1.3  # levels occupy about 1 / 1.3 of the ticks in their band; the rest are empty


def _price(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}000000"


def _qty(rng: random.Random) -> str:
    return f"{rng.expovariate(5) + 0.00001:.8f}"


def make_stream(
    depth: int, count: int, changes: int, seed: int = 5
) -> tuple[Levels, Levels, list[Event]]:
    """A snapshot of ``depth`` levels per side and ``count`` diffs consistent with it.

    Per side and event: ``changes`` levels, of which a fifth are removals and a fifth new
    prices (so the book keeps ``depth`` levels), the rest new quantities; offsets from the
    touch are drawn mostly near the top (exponential, mean 400 ticks).
    """
    rng = random.Random(seed)
    band = int(depth * BAND_FACTOR)
    # Each side: the set of tick offsets from the touch (0 = best) that hold a level.
    present = {side: set(rng.sample(range(band), depth)) for side in "ba"}

    def price_of(side: str, offset: int) -> str:
        return _price(TICK_CENTS_MID - 1 - offset if side == "b" else TICK_CENTS_MID + 1 + offset)

    snapshot = {
        side: [[price_of(side, o), _qty(rng)] for o in sorted(present[side])] for side in "ba"
    }
    events: list[Event] = []
    update_id = SNAPSHOT_ID
    removals = inserts = changes // 5
    for _ in range(count):
        sides: dict[str, Levels] = {}
        for side in "ba":
            held = present[side]
            removed: list[int] = []
            added: list[int] = []
            updated: list[int] = []
            while len(removed) + len(added) + len(updated) < changes:
                offset = min(int(rng.expovariate(1 / 400)), band - 1)
                if offset in removed or offset in added or offset in updated:
                    continue
                if offset not in held:
                    if len(added) < inserts:
                        added.append(offset)
                elif len(removed) < removals and rng.random() < 0.3:
                    removed.append(offset)
                elif len(updated) < changes - removals - inserts:
                    updated.append(offset)
            held.difference_update(removed)
            held.update(added)
            rows = [[price_of(side, o), _qty(rng)] for o in added + updated]
            rows += [[price_of(side, o), "0.00000000"] for o in removed]
            rng.shuffle(rows)
            sides[side] = rows
        update_id += 40 + rng.randrange(17)
        events.append((sides["b"], sides["a"], update_id))
    return snapshot["b"], snapshot["a"], events


def as_messages(events: list[Event], symbol: str = "BTCUSDT") -> list[dict[str, Any]]:
    """The events as Binance sends them (decoded): ``U`` = the previous ``u`` + 1, contiguous."""
    messages = []
    first = SNAPSHOT_ID + 1
    for index, (b, a, u) in enumerate(events):
        messages.append(
            {
                "e": "depthUpdate",
                "E": EVENT_TIME_MS + 100 * index,
                "s": symbol,
                "U": first,
                "u": u,
                "b": b,
                "a": a,
            }
        )
        first = u + 1
    return messages


class LegacyDepthCache:
    """python-binance 0.7.11 ``binance.depthcache.DepthCache``, minimally, for comparison."""

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self._bids: dict[str, float] = {}
        self._asks: dict[str, float] = {}

    def add_bid(self, bid: list[str]) -> None:
        self._bids[bid[0]] = float(bid[1])
        if bid[1] == "0.00000000":
            del self._bids[bid[0]]

    def add_ask(self, ask: list[str]) -> None:
        self._asks[ask[0]] = float(ask[1])
        if ask[1] == "0.00000000":
            del self._asks[ask[0]]

    def get_bids(self) -> list[list[float]]:
        return self.sort_depth(self._bids, reverse=True)

    def get_asks(self) -> list[list[float]]:
        return self.sort_depth(self._asks, reverse=False)

    @staticmethod
    def sort_depth(vals: dict[str, float], reverse: bool = False) -> list[list[float]]:
        lst = [[float(price), quantity] for price, quantity in vals.items()]
        return sorted(lst, key=itemgetter(0), reverse=reverse)


class StubSubscription:
    """What ``StreamClient.subscribe`` fires with; the synchroniser only ever unsubscribes."""

    def unsubscribe(self) -> defer.Deferred:
        return defer.succeed(None)


class StubStreamClient:
    """Records the synchroniser's message callback instead of opening a socket."""

    def __init__(self) -> None:
        self.on_message: Callable[[str, dict], Any] | None = None

    def subscribe(
        self,
        names: list[str],
        on_message: Callable[[str, dict], Any],
        on_event: Any = None,
        **kw: Any,
    ) -> defer.Deferred:
        self.on_message = on_message
        return defer.succeed(StubSubscription())


class StubRestClient:
    """Serves the benchmark's snapshot at once, as a fired Deferred."""

    def __init__(self, snap: tuple[Levels, Levels]) -> None:
        self.snap = snap

    def request(self, method: str, path: str, params: Any) -> defer.Deferred:
        return defer.succeed(
            {"lastUpdateId": SNAPSHOT_ID, "bids": self.snap[0], "asks": self.snap[1]}
        )


# -- the timed loops: each returns (seconds for the events, the last best-5 read) -------------


def run_book(snap: tuple[Levels, Levels], events: list[Event], read: bool) -> tuple[float, Any]:
    book = OrderBook("BTCUSDT")
    book.apply_snapshot(SNAPSHOT_ID, *snap)
    apply_levels, bids, asks = book.apply_levels, book.bids, book.asks
    top: Any = None
    start = time.process_time()
    if read:
        for b, a, u in events:
            apply_levels(b, a, u)
            top = bids(5), asks(5)
    else:
        for b, a, u in events:
            apply_levels(b, a, u)
    elapsed = time.process_time() - start
    if not read:
        top = bids(5), asks(5)
    return elapsed, [[(float(p), float(q)) for p, q in side] for side in top]


def run_c_book(snap: tuple[Levels, Levels], events: list[Event], read: bool) -> tuple[float, Any]:
    book = CBook()
    bid_side, ask_side = book.bids, book.asks
    for side, levels in ((bid_side, snap[0]), (ask_side, snap[1])):
        for price, qty in levels:
            side[float(price)] = float(qty)

    def apply(side: Any, levels: Levels) -> None:
        for price, qty in levels:
            amount = float(qty)
            if amount:
                side[float(price)] = amount
            else:
                key = float(price)
                if key in side:
                    del side[key]

    def best(side: Any) -> list[tuple[float, float]]:
        return [side.index(i) for i in range(min(5, len(side)))]

    top: Any = None
    start = time.process_time()
    for b, a, _u in events:
        apply(bid_side, b)
        apply(ask_side, a)
        if read:
            top = best(bid_side), best(ask_side)
    elapsed = time.process_time() - start
    if not read:
        top = best(bid_side), best(ask_side)
    return elapsed, [list(side) for side in top]


def run_legacy(snap: tuple[Levels, Levels], events: list[Event], read: bool) -> tuple[float, Any]:
    cache = LegacyDepthCache("BTCUSDT")
    for bid in snap[0]:
        cache.add_bid(bid)
    for ask in snap[1]:
        cache.add_ask(ask)
    add_bid, add_ask = cache.add_bid, cache.add_ask
    top: Any = None
    start = time.process_time()
    for b, a, _u in events:
        for bid in b:
            add_bid(bid)
        for ask in a:
            add_ask(ask)
        if read:
            top = cache.get_bids()[:5], cache.get_asks()[:5]
    elapsed = time.process_time() - start
    if not read:
        top = cache.get_bids()[:5], cache.get_asks()[:5]
    return elapsed, [[(p, q) for p, q in side] for side in top]


def run_sync(
    snap: tuple[Levels, Levels], messages: list[dict[str, Any]], facade: bool
) -> tuple[float, Any]:
    """The synchroniser's per-event path; ``facade``: read through the legacy ``DepthCache``."""
    client = StubStreamClient()
    # The callbacks a user writes: the native book's best five, or the 0.x cache's, as floats.
    depth_cache = DepthCache("BTCUSDT") if facade else None
    sync = DepthSynchroniser(
        task.Clock(),
        client,  # type: ignore[arg-type]
        StubRestClient(snap),  # type: ignore[arg-type]
        "BTCUSDT",
        on_update=(
            (lambda book: (depth_cache.get_bids(5), depth_cache.get_asks(5)))
            if depth_cache is not None
            else (lambda book: (book.bids(5), book.asks(5)))
        ),
        book_lock=depth_cache.lock if depth_cache is not None else None,
    )
    if depth_cache is not None:
        depth_cache.book = sync.book
    started: list[Any] = []
    sync.start().addBoth(started.append)
    if started != [sync] or sync.state != "synced" or client.on_message is None:
        raise SystemExit(f"synchroniser did not sync at start: {sync!r} {started!r}")
    on_message, stream = client.on_message, sync.stream
    start = time.process_time()
    for message in messages:
        on_message(stream, message)
    elapsed = time.process_time() - start
    if sync.state != "synced" or sync.gaps != 0 or sync.book.update_id != messages[-1]["u"]:
        raise SystemExit(
            f"synchroniser did not apply every event: state {sync.state}, {sync.gaps} gaps, "
            f"update_id {sync.book.update_id} (last u {messages[-1]['u']})"
        )
    if depth_cache is not None:
        top = depth_cache.get_bids(5), depth_cache.get_asks(5)
        return elapsed, [[(p, q) for p, q in side] for side in top]
    top = sync.book.bids(5), sync.book.asks(5)
    return elapsed, [[(float(p), float(q)) for p, q in side] for side in top]


def time_snapshot(snap: tuple[Levels, Levels], legacy: bool) -> float:
    start = time.process_time()
    if legacy:
        cache = LegacyDepthCache("BTCUSDT")
        for bid in snap[0]:
            cache.add_bid(bid)
        for ask in snap[1]:
            cache.add_ask(ask)
    else:
        OrderBook("BTCUSDT").apply_snapshot(1, *snap)
    return time.process_time() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="order-book update path, in one process")
    parser.add_argument("--quick", action="store_true", help="4,000 events (legacy 300), 3 rounds")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--legacy-events", type=int, default=1_000)
    parser.add_argument("--depth", type=int, default=5_000, help="snapshot levels per side")
    parser.add_argument("--changes", type=int, default=20, help="changed levels per side")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    if args.quick:
        args.events, args.legacy_events, args.rounds = 4_000, 300, 3

    bids, asks, events = make_stream(args.depth, args.events, args.changes)
    snap = (bids, asks)
    legacy_events = events[: args.legacy_events]
    removals = sum(q == "0.00000000" for b, a, _ in events for _, q in b + a)
    print(
        f"Python {platform.python_version()}, {args.depth} levels per side, {args.changes} "
        f"changes per side per event ({removals / (2 * args.changes * len(events)):.0%} "
        f"removals), {args.rounds} rounds",
        file=sys.stderr,
    )

    messages = as_messages(events)

    # Sanity, not timing: all books agree on the best five levels after the same events.
    _, mine = run_book(snap, legacy_events, read=False)
    _, theirs = run_legacy(snap, legacy_events, read=False)
    if mine != theirs:
        raise SystemExit(f"books disagree:\n{mine}\n{theirs}")
    if CBook is not None and run_c_book(snap, legacy_events, read=False)[1] != mine:
        raise SystemExit("order-book disagrees with OrderBook")
    for facade in (False, True):
        _, synced = run_sync(snap, messages[: args.legacy_events], facade)
        if synced != mine:
            raise SystemExit(f"synchroniser (facade={facade}) disagrees:\n{synced}\n{mine}")

    variants: dict[str, tuple[Callable[..., tuple[float, Any]], list[Any], bool]] = {
        "OrderBook (int ticks, sorted band): apply + best-5 read": (run_book, events, True),
        "OrderBook: apply only": (run_book, events, False),
        "legacy DepthCache (str keys, sort on read): apply + best-5 read": (
            run_legacy,
            legacy_events,
            True,
        ),
        "legacy DepthCache: apply only": (run_legacy, events, False),
        "DepthSynchroniser: sequencer + apply + on_update(best-5 read)": (
            run_sync,
            messages,
            False,
        ),
        "legacy facade: DepthCache.get_bids(5)/get_asks(5) floats": (run_sync, messages, True),
    }
    if CBook is not None:
        variants["order-book (C, float keys): apply + best-5 read"] = (run_c_book, events, True)
        variants["order-book (C, float keys): apply only"] = (run_c_book, events, False)
    else:
        print("order-book is not installed: its rows are skipped", file=sys.stderr)
    per_event: dict[str, list[float]] = {name: [] for name in variants}
    snapshots: dict[str, list[float]] = {"OrderBook": [], "legacy DepthCache": []}
    names = list(variants)
    for round_no in range(args.rounds):
        order = names[round_no % len(names) :] + names[: round_no % len(names)]
        for name in order:
            func, evs, read = variants[name]
            gc.collect()
            elapsed, _ = func(snap, evs, read)
            per_event[name].append(elapsed / len(evs) * 1e6)
        gc.collect()
        snapshots["OrderBook"].append(time_snapshot(snap, legacy=False) * 1e3)
        snapshots["legacy DepthCache"].append(time_snapshot(snap, legacy=True) * 1e3)
        print(f"round {round_no + 1}/{args.rounds} done", file=sys.stderr)

    base = statistics.median(per_event[names[0]])
    print("| variant | events | \u00b5s/event median (best) | events/s | \u00d7 OrderBook |")
    print("|---|---|---|---|---|")
    for name in names:
        values = per_event[name]
        med = statistics.median(values)
        count = len(variants[name][1])
        print(
            f"| {name} | {count:,} | {med:,.1f} ({min(values):,.1f}) | "
            f"{1e6 / med:,.0f} | {med / base:.2f} |"
        )
    c_only = "order-book (C, float keys): apply only"
    if c_only in per_event:
        mine_only = statistics.median(per_event["OrderBook: apply only"])
        theirs_read = statistics.median(
            per_event["order-book (C, float keys): apply + best-5 read"]
        )
        print()
        print(
            f"OrderBook apply only: {mine_only / statistics.median(per_event[c_only]):.2f}x "
            f"order-book's time; with the best-5 read order-book takes {theirs_read / base:.1f}x "
            "OrderBook's time"
        )
    print()
    print(f"| snapshot load, 2 \u00d7 {args.depth:,} levels | ms median (best) |")
    print("|---|---|")
    for name, values in snapshots.items():
        print(f"| {name} | {statistics.median(values):.1f} ({min(values):.1f}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
