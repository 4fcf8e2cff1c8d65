"""Tests for binance_twisted.book: exact price levels, best-N reads and Spot/futures sequencing."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from binance_twisted.depth import book as book_module, prices
from binance_twisted.depth.book import FuturesSequencer, OrderBook, SpotSequencer, Verdict

D = Decimal
ZERO_SPELLINGS = ["0", "0.0", "0.000", "0.00000000", "0E-8"]


def _book(bids: list[list[str]], asks: list[list[str]], update_id: int = 100) -> OrderBook:
    book = OrderBook("BTCUSDT")
    book.apply_snapshot(update_id, bids, asks)
    return book


class OrderBookLevelTests(SynchronousTestCase):
    def test_differently_spelled_prices_are_one_level(self) -> None:
        """ "0.10", "0.1" and "0.10000000" address the same level; the last quantity wins."""
        book = _book([["0.10", "1"]], [])
        book.apply_levels([["0.1", "2"], ["0.10000000", "3"]], [])
        self.assertEqual(book.depth(), (1, 0))
        self.assertEqual(book.bids(), [(D("0.1"), D("3"))])

    def test_new_level_key_is_canonical(self) -> None:
        """A new level's price is stored without trailing zeros or exponent, whatever was sent."""
        book = _book([["60000.01000000", "1"], ["60000.00000000", "1"]], [["6.1E+4", "1"]])
        self.assertEqual([str(p) for p, _ in book.bids()], ["60000.01", "60000"])
        self.assertEqual([str(p) for p, _ in book.asks()], ["61000"])

    def test_quantity_is_kept_as_sent(self) -> None:
        """The quantity Decimal keeps Binance's spelling, so str() gives the original text."""
        book = _book([["1.5", "1.50000000"]], [])
        self.assertEqual(str(book.bids()[0][1]), "1.50000000")

    def test_zero_removes_numerically(self) -> None:
        """Every spelling of zero removes the level (legacy removed only "0.00000000")."""
        for zero in ZERO_SPELLINGS:
            book = _book([["10.0", "1"], ["9.0", "2"]], [["11.0", "3"]])
            book.apply_levels([["10.00", zero]], [["11", zero]])
            self.assertEqual(book.bids(), [(D("9"), D("2"))], zero)
            self.assertEqual(book.asks(), [], zero)

    def test_removing_an_unknown_level_is_a_no_op(self) -> None:
        """A zero for a price the book does not hold changes nothing and raises nothing."""
        book = _book([["10", "1"]], [["11", "1"]])
        book.apply_levels([["9.5", "0"]], [["12", "0.00000000"]], update_id=101)
        self.assertEqual((book.bids(), book.asks()), ([(D(10), D(1))], [(D(11), D(1))]))
        self.assertEqual(book.update_id, 101)

    def test_best_n_is_best_first(self) -> None:
        """bids(n) is highest first, asks(n) lowest first; n beyond depth, None and 0 work."""
        book = _book([["1", "1"], ["3", "3"], ["2", "2"]], [["6", "6"], ["4", "4"], ["5", "5"]])
        self.assertEqual([p for p, _ in book.bids(2)], [D(3), D(2)])
        self.assertEqual([p for p, _ in book.asks(2)], [D(4), D(5)])
        self.assertEqual([p for p, _ in book.bids()], [D(3), D(2), D(1)])
        self.assertEqual([p for p, _ in book.asks(10)], [D(4), D(5), D(6)])
        self.assertEqual((book.bids(0), book.asks(0)), ([], []))
        self.assertRaises(ValueError, book.bids, -1)
        self.assertRaises(ValueError, book.asks, -1)

    def test_reads_stay_right_across_many_updates_without_sorting(self) -> None:
        """Best-5 matches a reference after each of 2,000 random updates, with sorted() banned."""

        def no_sort(*args: object, **kwargs: object) -> None:
            raise AssertionError("the book sorted on read")

        book = _book([], [])  # a snapshot is sorted once; updates and reads never are
        book_module.sorted = no_sort  # type: ignore[attr-defined]
        self.addCleanup(delattr, book_module, "sorted")
        rng = random.Random(7)
        ref: dict[str, dict[Decimal, Decimal]] = {"b": {}, "a": {}}
        for _ in range(2000):
            side = rng.choice("ba")
            price = D(rng.randrange(1, 300)) / 100
            qty = rng.choice(["0", "0.000", "1", "2.5", "7"])
            spelled = _spell(price, rng.randrange(3))
            if side == "b":
                book.apply_levels([[spelled, qty]], [])
            else:
                book.apply_levels([], [[spelled, qty]])
            if D(qty):
                ref[side][price] = D(qty)
            else:
                ref[side].pop(price, None)
            best_bids = [(p, ref["b"][p]) for p in sorted(ref["b"])[::-1][:5]]
            best_asks = [(p, ref["a"][p]) for p in sorted(ref["a"])[:5]]
            self.assertEqual(book.bids(5), best_bids)
            self.assertEqual(book.asks(5), best_asks)
        self.assertEqual(book.depth(), (len(ref["b"]), len(ref["a"])))

    def test_best_and_spread_are_exact(self) -> None:
        """best_bid/best_ask return (price, qty); the spread is exact (0.01, not 0.00999…)."""
        book = _book([["0.29", "1"], ["0.28", "2"]], [["0.30", "3"], ["0.31", "4"]])
        self.assertEqual(book.best_bid(), (D("0.29"), D("1")))
        self.assertEqual(book.best_ask(), (D("0.3"), D("3")))
        self.assertEqual(book.spread(), D("0.01"))

    def test_empty_sides(self) -> None:
        """With a side empty there is no best level, no spread and no crossing."""
        book = _book([["1", "1"]], [])
        self.assertIsNone(book.best_ask())
        self.assertIsNone(book.spread())
        self.assertFalse(book.is_crossed())
        book.clear()
        self.assertIsNone(book.best_bid())

    def test_crossed_detection(self) -> None:
        """is_crossed is True once the best bid reaches or passes the best ask."""
        book = _book([["10", "1"]], [["11", "1"]])
        self.assertFalse(book.is_crossed())
        book.apply_levels([["11.0", "1"]], [])
        self.assertTrue(book.is_crossed())
        book.apply_levels([["12", "1"]], [])
        self.assertTrue(book.is_crossed())

    def test_legacy_list_shape(self) -> None:
        """as_lists gives the legacy [[price, qty], ...] best first: floats, or exact strings."""
        book = _book([["1.5", "2.00"], ["1.6", "1"]], [["1.7", "3.5"]])
        bids, asks = book.as_lists()
        self.assertEqual(bids, [[1.6, 1.0], [1.5, 2.0]])
        self.assertEqual(asks, [[1.7, 3.5]])
        self.assertTrue(all(type(x) is float for level in bids + asks for x in level))
        self.assertEqual(
            book.as_lists(float_values=False), ([["1.6", "1"], ["1.5", "2.00"]], [["1.7", "3.5"]])
        )

    def test_snapshot_replaces_everything(self) -> None:
        """A snapshot drops every level not in it and takes its lastUpdateId."""
        book = _book([["1", "1"], ["2", "1"]], [["3", "1"]], update_id=5)
        book.apply_levels([["1.5", "1"]], [["4", "1"]], update_id=6)
        book.apply_snapshot(50, [["2", "9"]], [["5", "1"]])
        self.assertEqual((book.bids(), book.asks()), ([(D(2), D(9))], [(D(5), D(1))]))
        self.assertEqual(book.update_id, 50)

    def test_apply_levels_sets_the_id_only_when_given(self) -> None:
        """apply_levels without update_id leaves the id alone (legacy use); with it, sets it."""
        book = _book([], [], update_id=7)
        book.apply_levels([["1", "1"]], [])
        self.assertEqual(book.update_id, 7)
        book.apply_levels([], [["2", "1"]], update_id=9)
        self.assertEqual(book.update_id, 9)

    def test_clear_makes_the_book_unsynced(self) -> None:
        """clear() empties both sides and forgets the update id."""
        book = _book([["1", "1"]], [["2", "1"]])
        book.clear()
        self.assertEqual((book.depth(), book.update_id), ((0, 0), None))

    def test_bad_levels_raise_and_clear_the_book(self) -> None:
        """Malformed numbers, negatives, NaN and floats raise ValueError and leave no half book."""
        bad: list[list[Any]] = [
            ["abc", "1"],
            ["1", "-1"],
            ["1", "NaN"],
            ["NaN", "1"],
            ["-1", "1"],
            ["0", "1"],
            ["Infinity", "1"],
            [1.5, "1"],
            ["1", 0.1],
            ["1"],
            ["1", "1", []],  # the third element Binance stopped sending in 2018
        ]
        for level in bad:
            book = _book([["5", "1"]], [["6", "1"]])
            with self.assertRaises(ValueError, msg=repr(level)):
                book.apply_levels([["4", "1"], level], [])
            self.assertEqual((book.depth(), book.update_id), ((0, 0), None), level)

    def test_quantities_the_float_screen_cannot_settle_are_decided_exactly(self) -> None:
        """An underflowing or overflowing quantity is a level; a new spelling of zero removes."""
        book = _book([["5", "1"], ["4", "1"]], [])
        book.apply_levels([["3", "1E-400"], ["2", "1E+400"], ["5", "0.000000000000"]], [])
        self.assertEqual(
            [(str(p), str(q)) for p, q in book.bids()],
            [("4", "1"), ("3", "1E-400"), ("2", "1E+400")],
        )
        book.apply_levels([["4", "-0.0"]], [])
        self.assertEqual(book.depth(), (2, 0))

    def test_a_finer_tick_keeps_every_level_and_its_order(self) -> None:
        """Prices with more decimals than any before refine the tick without losing levels."""
        book = _book([["100", "1"], ["99", "2"]], [["101", "3"]])
        book.apply_levels([["100.5", "4"]], [["100.75", "5"], ["101.000", "6"]])
        self.assertEqual(book.bids(), [(D("100.5"), D(4)), (D(100), D(1)), (D(99), D(2))])
        self.assertEqual(book.asks(), [(D("100.75"), D(5)), (D(101), D(6))])
        self.assertEqual(book.spread(), D("0.25"))
        book.apply_levels([["100.50", "0"]], [["100.7500", "0"]])
        self.assertEqual((book.best_bid(), book.best_ask()), ((D(100), D(1)), (D(101), D(6))))

    def test_a_reader_of_the_best_100_does_not_re_sort_the_book_on_every_read(self) -> None:
        """A read deeper than the sorted band widens it to twice that depth once: levels
        coming and going near the top afterwards are absorbed, and later reads of the same
        depth are slices again (re-sorting 1,000 levels per read would cost milliseconds)."""
        book = _book([[str(p), "1"] for p in range(1000, 2000)], [])
        refills: list[int] = []
        refill = book_module._Side.refill
        self.patch(book_module._Side, "refill", lambda side, size: [
            refills.append(size), refill(side, size)])  # fmt: skip
        self.assertEqual(book.bids(100)[-1], (D(1900), D(1)))
        self.assertEqual(refills, [200])
        for price in range(1999, 1949, -1):  # the best 50 go, one per event…
            book.apply_levels([[str(price), "0"]], [])
            self.assertEqual(book.bids(100)[0], (D(price - 1), D(1)))
        book.apply_levels([[str(p), "2"] for p in range(2000, 2030)], [])  # …30 new ones come
        self.assertEqual(book.bids(100)[0], (D(2029), D(2)))
        self.assertEqual(refills, [200])

    def test_deep_books_read_right_when_the_sorted_band_drains_and_grows(self) -> None:
        """Far beyond the sorted band: every read depth matches a reference through churn.

        5,000 random updates on 2,000 prices per side, with sweeps that empty the best few
        hundred levels at once (the band must refill) and deep reads (it must widen).
        """
        rng = random.Random(11)
        ref: dict[str, dict[int, str]] = {
            "b": {cents: "3" for cents in range(100, 2100, 2)},
            "a": {cents: "3" for cents in range(2200, 4200, 2)},
        }
        book = _book(  # deeper than the band, so it starts as the best few levels only
            [[_spell(D(p) / 100, 0), q] for p, q in ref["b"].items()],
            [[_spell(D(p) / 100, 1), q] for p, q in ref["a"].items()],
        )

        def check(n: int | None) -> None:
            bids = sorted(ref["b"].items(), reverse=True)[:n]
            asks = sorted(ref["a"].items())[:n]
            self.assertEqual(book.bids(n), [(D(p) / 100, D(q)) for p, q in bids])
            self.assertEqual(book.asks(n), [(D(p) / 100, D(q)) for p, q in asks])

        for step in range(5000):
            side = rng.choice("ba")
            if step % 1000 == 999:  # a sweep: the best 400 levels of one side go at once
                best = sorted(ref[side], reverse=side == "b")[:400]
                levels = [[_spell(D(p) / 100, 2), "0"] for p in best]
                for p in best:
                    del ref[side][p]
            else:
                cents = rng.randrange(100, 2100) + (2100 if side == "a" else 0)
                qty = rng.choice(["0", "1", "2.5"])
                levels = [[_spell(D(cents) / 100, rng.randrange(3)), qty]]
                if qty == "0":
                    ref[side].pop(cents, None)
                else:
                    ref[side][cents] = qty
            book.apply_levels(levels if side == "b" else [], levels if side == "a" else [])
            if step % 97 == 0:
                check(5)
            if step % 1001 == 0:
                check(rng.choice([300, 1000, None]))
        check(5)
        check(None)
        self.assertEqual(book.depth(), (len(ref["b"]), len(ref["a"])))

    def test_forgetting_spellings_when_the_cache_is_full_loses_no_level(self) -> None:
        """A bounded spelling cache: once full it is emptied, and the book stays exact."""
        self.patch(book_module, "_CACHE_LIMIT", 16)
        book = _book([], [])
        for cents in range(100, 400):
            book.apply_levels([[f"{cents / 100:.2f}", "1"]], [])
            if cents % 3 == 0:
                book.apply_levels([[f"{cents / 100:.4f}", "0"]], [])
        expected = [D(c) / 100 for c in range(399, 99, -1) if c % 3]
        self.assertEqual([p for p, _ in book.bids()], expected)
        self.assertLessEqual(len(book._bids.cache), 16)

    @settings(max_examples=300, deadline=None)
    @given(
        st.lists(
            st.tuples(
                st.integers(0, 10**12),
                st.integers(0, 12),
                st.integers(0, 4),
                st.sampled_from(["plain", "exponent", "signed", "spaced"]),
            ),
            min_size=1,
            max_size=30,
        )
    )
    def test_every_spelling_of_a_price_lands_on_its_exact_level(
        self, prices: list[tuple[int, int, int, str]]
    ) -> None:
        """Prices in Binance's plain spelling (read without Decimal) and in every other
        spelling Decimal accepts (exponents, a plus sign, spaces) land on the same exact
        levels, in order, and read back as the same Decimals."""
        book = _book([], [])
        expected: dict[Decimal, str] = {}
        for units, decimals, zeros, style in prices:
            if not units:
                continue
            value = D(units).scaleb(-decimals)
            plain = f"{value:f}" + ("." if "." not in f"{value:f}" and zeros else "")
            plain += "0" * zeros
            spelled = {
                "plain": plain,
                "exponent": f"{units}E-{decimals}",
                "signed": "+" + plain,
                "spaced": f" {plain} ",
            }[style]
            book.apply_levels([[spelled, "1"]], [])
            expected[value] = spelled
        self.assertEqual([p for p, _ in book.bids()], sorted(expected, reverse=True))

    def test_only_plain_ascii_decimals_skip_decimal(self) -> None:
        """The fast price reader takes Binance's spelling and hands anything else, zero
        included, to Decimal (which refuses what is not a positive number)."""
        plain = prices.plain_price
        self.assertEqual(plain("97999.99000000"), (9799999, -2))
        self.assertEqual(plain("60000"), (60000, 0))
        self.assertEqual(plain("0.00100"), (1, -3))
        self.assertEqual(plain("5."), (5, 0))
        for other in ["0", "0.000", "+1", "-1", " 1", "1e3", "1_0", ".5", "1.2.3", "\u0661", "", 1]:
            self.assertIsNone(plain(other), other)

    def test_repr_names_symbol_id_and_depth(self) -> None:
        """repr shows what a log reader needs: symbol, update id and depth."""
        self.assertEqual(
            repr(_book([["1", "1"]], [])), "<OrderBook BTCUSDT update_id=100 bids=1 asks=0>"
        )


def _ev(first: int, final: int, prev: int | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {"U": first, "u": final, "b": [], "a": []}
    if prev is not None:
        event["pu"] = prev
    return event


class SpotSequencerTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.seq = SpotSequencer()
        self.seq.start()

    def test_events_up_to_the_snapshot_are_stale(self) -> None:
        """After lastUpdateId 100, events with u <= 100 (including u == 100) are dropped."""
        self.assertIs(self.seq.check(100, _ev(90, 99)), Verdict.STALE)
        self.assertIs(self.seq.check(100, _ev(95, 100)), Verdict.STALE)

    def test_first_event_straddling_the_snapshot_applies(self) -> None:
        """U=95, u=105 on snapshot 100 applies (legacy re-fetched, then went backwards)."""
        self.assertIs(self.seq.check(100, _ev(95, 105)), Verdict.APPLY)
        self.assertIs(self.seq.check(105, _ev(106, 110)), Verdict.APPLY)

    def test_first_event_starting_right_after_the_snapshot_applies(self) -> None:
        """U == lastUpdateId + 1 continues the snapshot without a hole, so it is applied."""
        self.assertIs(self.seq.check(100, _ev(101, 104)), Verdict.APPLY)

    def test_snapshot_older_than_the_stream_is_a_gap(self) -> None:
        """U > lastUpdateId + 1 on the first event means the snapshot is too old: GAP."""
        self.assertIs(self.seq.check(100, _ev(102, 110)), Verdict.GAP)

    def test_normal_continuation_applies(self) -> None:
        """U == previous u + 1 applies (the 2024-12 text's "U > id" would call this a gap)."""
        self.assertIs(self.seq.check(110, _ev(111, 111)), Verdict.APPLY)
        self.assertIs(self.seq.check(111, _ev(112, 130)), Verdict.APPLY)

    def test_missing_events_are_a_gap(self) -> None:
        """One missing update id between the book and the event is a GAP."""
        self.assertIs(self.seq.check(110, _ev(112, 115)), Verdict.GAP)

    def test_duplicate_and_overtaken_events_are_stale(self) -> None:
        """A repeat of the last applied event, or an older one, is dropped."""
        self.assertIs(self.seq.check(110, _ev(106, 110)), Verdict.STALE)
        self.assertIs(self.seq.check(110, _ev(101, 105)), Verdict.STALE)

    def test_no_book_is_a_gap(self) -> None:
        """Without a snapshot (id None) every event asks for a re-sync."""
        self.assertIs(self.seq.check(None, _ev(1, 2)), Verdict.GAP)


class FuturesSequencerTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.seq = FuturesSequencer()
        self.seq.start()

    def test_events_before_the_snapshot_are_stale_but_u_equal_is_not(self) -> None:
        """Futures drop u < lastUpdateId (strictly); an event ending at it is the first one."""
        self.assertIs(self.seq.check(100, _ev(90, 99, 80)), Verdict.STALE)
        self.assertIs(self.seq.check(100, _ev(95, 100, 94)), Verdict.APPLY)

    def test_first_event_must_straddle_the_snapshot(self) -> None:
        """The first processed event needs U <= lastUpdateId <= u, else GAP."""
        self.assertIs(self.seq.check(100, _ev(101, 105, 99)), Verdict.GAP)
        self.assertIs(self.seq.check(100, _ev(98, 105, 97)), Verdict.APPLY)

    def test_first_event_right_after_the_snapshot_applies(self) -> None:
        """pu == lastUpdateId: the event directly follows the snapshot, although U > it."""
        self.assertIs(self.seq.check(100, _ev(103, 105, 100)), Verdict.APPLY)
        self.assertIs(self.seq.check(105, _ev(107, 110, 105)), Verdict.APPLY)

    def test_pu_chain_continues_even_when_ids_skip(self) -> None:
        """After the first event, pu == previous u applies although U is far above u + 1."""
        self.assertIs(self.seq.check(100, _ev(98, 105, 97)), Verdict.APPLY)
        self.assertIs(self.seq.check(105, _ev(140, 150, 105)), Verdict.APPLY)
        self.assertIs(self.seq.check(150, _ev(151, 160, 150)), Verdict.APPLY)

    def test_broken_pu_chain_is_a_gap(self) -> None:
        """pu different from the previous u is a GAP, even when U == previous u + 1."""
        self.assertIs(self.seq.check(100, _ev(98, 105, 97)), Verdict.APPLY)
        self.assertIs(self.seq.check(105, _ev(106, 110, 104)), Verdict.GAP)

    def test_duplicate_after_the_first_is_stale(self) -> None:
        """A repeated or overtaken event (u <= book id) is dropped, not treated as a gap."""
        self.assertIs(self.seq.check(100, _ev(98, 105, 97)), Verdict.APPLY)
        self.assertIs(self.seq.check(105, _ev(98, 105, 97)), Verdict.STALE)
        self.assertIs(self.seq.check(105, _ev(90, 97, 89)), Verdict.STALE)

    def test_start_requires_a_new_straddling_event(self) -> None:
        """After start() (a new snapshot) the straddle rule applies again, not the pu rule."""
        self.assertIs(self.seq.check(100, _ev(98, 105, 97)), Verdict.APPLY)
        self.seq.start()
        self.assertIs(self.seq.check(200, _ev(201, 210, 150)), Verdict.GAP)
        self.assertIs(self.seq.check(200, _ev(195, 210, 190)), Verdict.APPLY)

    def test_no_book_is_a_gap(self) -> None:
        """Without a snapshot (id None) every event asks for a re-sync."""
        self.assertIs(self.seq.check(None, _ev(1, 2, 0)), Verdict.GAP)


# -- property: a random stream with faults, re-synced on GAP, always matches the truth ---------

_BID_TICKS = range(1, 16)  # bids at 0.1 .. 1.5
_ASK_TICKS = range(16, 31)  # asks at 1.6 .. 3.0
_QTYS = ["1", "0.5", "2.25000000", "10.0"]
_FAULTS = ["ok"] * 5 + ["drop", "dup", "swap", "old"]


def _spell(price: Decimal, zeros: int) -> str:
    """Spell a price with extra trailing zeros, as a different symbol precision would."""
    text = f"{price:f}"
    if zeros:
        text += ("" if "." in text else ".") + "0" * zeros
    return text


def _price(side: str, index: int) -> Decimal:
    return D((_BID_TICKS if side == "b" else _ASK_TICKS)[index]) / 10


# (side, price index, quantity as sent, extra trailing zeros on the price)
_update = st.tuples(
    st.sampled_from("ba"),
    st.integers(0, 14),
    st.sampled_from(_QTYS + ZERO_SPELLINGS),
    st.integers(0, 3),
)
_initial_side = st.dictionaries(st.integers(0, 14), st.sampled_from(_QTYS), max_size=8)


class _Truth:
    """The exchange's book, known at every update id: initial levels plus numbered updates."""

    def __init__(self, initial: dict[str, dict[Decimal, str]], base_id: int) -> None:
        self.initial = initial
        self.base_id = base_id
        self.updates: list[tuple[int, str, Decimal, str]] = []  # (id, side, price, qty)

    def at(self, update_id: int) -> dict[str, dict[Decimal, Decimal]]:
        assert update_id >= self.base_id
        state = {
            side: {p: D(q) for p, q in levels.items()} for side, levels in self.initial.items()
        }
        for uid, side, price, qty in self.updates:
            if uid > update_id:
                break
            if D(qty):
                state[side][price] = D(qty)
            else:
                state[side].pop(price, None)
        return state

    def snapshot_lists(self, update_id: int, zeros: int) -> tuple[list[list[str]], list[list[str]]]:
        state = self.at(update_id)
        return (
            [[_spell(p, zeros), str(q)] for p, q in state["b"].items()],
            [[_spell(p, zeros), str(q)] for p, q in state["a"].items()],
        )


@st.composite
def _streams(draw: Any, futures: bool) -> tuple[_Truth, list[dict[str, Any]], list[int], list[int]]:
    """A true book, its diff events, the order they are delivered in, and choices for syncing.

    Events have consecutive update ids (futures: with holes between events, and ``pu``).
    Delivery drops (a gap), duplicates, swaps and re-sends old events at random.
    """
    initial = {side: {_price(side, i): q for i, q in draw(_initial_side).items()} for side in "ba"}
    base_id = draw(st.integers(0, 10_000))
    truth = _Truth(initial, base_id)
    specs = draw(
        st.lists(
            st.tuples(st.integers(0, 3), st.lists(_update, min_size=1, max_size=4)),
            min_size=3,
            max_size=30,
        )
    )
    events: list[dict[str, Any]] = []
    prev_u = base_id
    for skip, updates in specs:
        first = prev_u + 1 + (skip if futures else 0)
        final_levels: dict[tuple[str, Decimal], list[str]] = {}
        for offset, (side, index, qty, zeros) in enumerate(updates):
            price = _price(side, index)
            truth.updates.append((first + offset, side, price, qty))
            final_levels.pop((side, price), None)  # latest update wins, each price listed once
            final_levels[(side, price)] = [_spell(price, zeros), qty]
        final = first + len(updates) - 1
        events.append(
            {
                "U": first,
                "u": final,
                "pu": prev_u,
                "b": [lv for (s, _), lv in final_levels.items() if s == "b"],
                "a": [lv for (s, _), lv in final_levels.items() if s == "a"],
            }
        )
        prev_u = final

    faults = draw(st.lists(st.sampled_from(_FAULTS), min_size=len(events), max_size=len(events)))
    delivered: list[int] = []
    i = 0
    for fault in faults:
        if i >= len(events):
            break
        if fault == "drop":
            i += 1
            continue
        if fault == "swap" and i + 1 < len(events):
            delivered += [i + 1, i]
            i += 2
            continue
        delivered.append(i)
        if fault == "dup":
            delivered.append(i)
        elif fault == "old":
            delivered.append(draw(st.integers(0, i)))
        i += 1
    n_choices = 3 * len(delivered) + 3
    choices = draw(st.lists(st.integers(0, 1 << 16), min_size=n_choices, max_size=n_choices))
    return truth, events, delivered, choices


class BookPropertyTests(SynchronousTestCase):
    def _play(
        self,
        truth: _Truth,
        events: list[dict[str, Any]],
        delivered: list[int],
        choices: list[int],
        futures: bool,
    ) -> None:
        """Feed the delivered events through sequencer + book, re-syncing on every GAP.

        While unsynced, events are buffered and, now and then, a snapshot of the true book is
        taken at an update id between a little before the buffer's start (so "too old" must
        come back as GAP) and the newest published event. After every step the book must be
        the true book at its own update id, or be empty with no id (unsynced).
        """
        picks = iter(choices)

        def pick(n: int) -> int:
            return next(picks, 0) % n

        seq = FuturesSequencer() if futures else SpotSequencer()
        book = OrderBook("BTCUSDT")
        buffer: list[dict[str, Any]] = []
        syncs = 0

        def check_book() -> None:
            if book.update_id is None:
                self.assertEqual(book.depth(), (0, 0))
                return
            want = truth.at(book.update_id)
            self.assertEqual(book.bids(), sorted(want["b"].items(), reverse=True))
            self.assertEqual(book.asks(), sorted(want["a"].items()))

        def feed(event: dict[str, Any]) -> bool:
            """One event through sequencer + book; False when it revealed a gap."""
            verdict = seq.check(book.update_id, event)
            if verdict is Verdict.APPLY:
                book.apply_levels(event["b"], event["a"], update_id=event["u"])
            elif verdict is Verdict.GAP:
                book.clear()
                return False
            return True

        def sync(low: int, high: int) -> None:
            """Snapshot the truth at an id in [low, high], replay the buffer; re-buffer on GAP."""
            nonlocal buffer, syncs
            snapshot_id = low + pick(high - low + 1)
            bids, asks = truth.snapshot_lists(snapshot_id, pick(3))
            book.apply_snapshot(snapshot_id, bids, asks)
            seq.start()
            check_book()
            pending, buffer = buffer, []
            for n, event in enumerate(pending):
                if not feed(event):
                    buffer = pending[n:]
                    check_book()
                    return
                check_book()
            syncs += 1

        newest = 0  # highest event index the exchange has published so far
        for index in delivered:
            newest = max(newest, index)
            event = events[index]
            if book.update_id is None:
                buffer.append(event)
                if pick(2):
                    sync(max(truth.base_id, buffer[0]["U"] - 3), events[newest]["u"])
            elif not feed(event):
                buffer = [event]
            check_book()

        # The stream ends: if still unsynced, one snapshot inside the newest event's range must
        # bring the book back through the same sequencer path (everything older is stale).
        if book.update_id is None:
            last = events[newest]
            buffer.append(last)
            sync(max(truth.base_id, last["U"] if futures else last["U"] - 1), last["u"])
        self.assertIsNotNone(book.update_id)
        self.assertGreater(syncs, 0)
        check_book()

    @settings(max_examples=300, deadline=None)
    @given(_streams(futures=False))
    def test_spot_stream_with_faults_matches_truth_or_is_unsynced(self, stream: Any) -> None:
        """Spot: after each event the book is the true book at its id, or unsynced; it re-syncs."""
        self._play(*stream, futures=False)

    @settings(max_examples=300, deadline=None)
    @given(_streams(futures=True))
    def test_futures_stream_with_faults_matches_truth_or_is_unsynced(self, stream: Any) -> None:
        """Futures: after each event the book is the true book at its id, or unsynced; re-syncs."""
        self._play(*stream, futures=True)
