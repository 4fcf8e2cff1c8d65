"""Every byte a server sends is bounded: frames, fragmented messages and gzip inflation.

Each test plays a hostile server (``tests.hostile``) against a real StreamConnection with its
real autobahn session, in memory (``iosim``), on a fake clock. Memory is asserted loosely
with tracemalloc's peak: the refused message must never be held, only a bounded piece of it.
"""

from __future__ import annotations

import gzip
import tracemalloc
from collections.abc import Callable

from twisted.internet import reactor as global_reactor
from twisted.trial.unittest import SynchronousTestCase

from binance_twisted._core.policy import ConnectionPolicy
from binance_twisted.events import EventKind
from tests.hostile import BINARY, CONTINUATION, PING, Conversation, frame, message
from tests.support import asynchronous
from tests.test_manager import Inbox, ManagerTestCase

MiB = 1024 * 1024


def peak_bytes(work: Callable[[], None]) -> int:
    """Peak of Python allocations while ``work`` runs."""
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


class BoundTests(SynchronousTestCase):
    def setUp(self) -> None:
        # autobahn arms its handshake timers on the global reactor: none may outlive a test
        before = set(global_reactor.getDelayedCalls())

        def nothing_left_behind() -> None:
            left = [c for c in global_reactor.getDelayedCalls() if c.active() and c not in before]
            for call in left:
                call.cancel()
            self.assertEqual(left, [])

        self.addCleanup(nothing_left_behind)

    def assert_refused_with_1009(self, talk: Conversation, reason: str) -> None:
        """Counted, reported (ERROR event, code 1009), closed with 1009, then reconnecting."""
        self.assertEqual(talk.server.close_codes, [1009])
        self.assertEqual(talk.harness.connection.stats.oversized, 1)
        ((error_reason, code),) = talk.errors()
        self.assertEqual(code, 1009)
        self.assertIn(reason, error_reason or "")
        talk.end()
        kinds = talk.harness.kinds()
        self.assertEqual(kinds[-2:], [EventKind.DISCONNECTED, EventKind.RECONNECTING])
        self.assertIn("(code 1009)", talk.harness.events[-2].reason or "")
        self.assertEqual(talk.harness.events[-2].code, 1009)

    def test_a_frame_promising_512_mib_is_refused_at_its_header(self) -> None:
        """The 512 MiB frame that once took 2.1 GB: refused when its header arrives; the
        64 MiB the server manages to push meanwhile are never held (peak under 8 MiB)."""
        talk = Conversation(ConnectionPolicy(), lambda server: server.send(frame(message(1))))
        talk.pump.flush()
        chunk = b"x" * MiB

        def attack() -> None:
            talk.send(frame(chunk, length=512 * MiB))
            for _ in range(63):
                talk.send(chunk)

        self.assertLess(peak_bytes(attack), 8 * MiB)
        self.assertEqual(talk.received, [1])
        self.assert_refused_with_1009(talk, f"message of {512 * MiB} bytes over the")

    def test_a_message_whose_fragments_never_end_is_refused_as_it_grows(self) -> None:
        """Fragments with server pings between them (pings kept it alive before): refused
        once the fragments pass the limit, whatever the frames' own sizes."""
        talk = Conversation(ConnectionPolicy(max_message_size=MiB), lambda server: None)
        talk.pump.flush()
        piece = b"[" + b" " * (256 * 1024 - 1)

        def attack() -> None:
            talk.send(frame(piece, fin=False))
            for _ in range(40):
                talk.send(frame(b"", PING))
                talk.send(frame(piece, CONTINUATION, fin=False))

        self.assertLess(peak_bytes(attack), 4 * MiB)
        self.assert_refused_with_1009(talk, f"over the {MiB}-byte limit")

    def test_a_gzip_bomb_is_inflated_no_further_than_the_limit(self) -> None:
        """256 MiB of JSON in a 256 KB gzip frame (once inflated whole): refused with no more
        than the 16 MiB limit inflated (peak under 24 MiB)."""
        bomb = gzip.compress(message(7, pad=256 * MiB))
        self.assertLess(len(bomb), 300_000)
        talk = Conversation(ConnectionPolicy(), lambda server: None)
        talk.pump.flush()
        self.assertLess(peak_bytes(lambda: talk.send(frame(bomb, BINARY))), 24 * MiB)
        self.assertEqual(talk.received, [])
        self.assert_refused_with_1009(talk, "binary frame inflates past the 16777216-byte limit")

    def test_messages_up_to_the_limit_are_delivered(self) -> None:
        """Exactly the limit, in one frame, in fragments, or inflated: delivered; the session
        stays open and no error is reported."""
        limit = 64 * 1024
        talk = Conversation(ConnectionPolicy(max_message_size=limit), lambda server: None)
        talk.pump.flush()
        whole = message(1, pad=limit)
        talk.send(frame(whole))
        talk.send(frame(message(2, pad=limit)[: limit // 2], fin=False))
        talk.send(frame(message(2, pad=limit)[limit // 2 :], CONTINUATION))
        talk.send(frame(gzip.compress(message(3, pad=limit)), BINARY))
        self.assertEqual(talk.received, [1, 2, 3])
        self.assertEqual((talk.errors(), talk.server.close_codes), ([], []))

    def test_one_byte_over_the_limit_is_refused(self) -> None:
        """The limit is exact: one byte more, as a frame, fails the session with 1009."""
        limit = 64 * 1024
        talk = Conversation(ConnectionPolicy(max_message_size=limit), lambda server: None)
        talk.pump.flush()
        talk.send(frame(message(1, pad=limit + 1)))
        self.assertEqual(talk.received, [])
        self.assert_refused_with_1009(talk, f"message of {limit + 1} bytes over the")

    def test_the_limit_is_checked_when_the_policy_is_built(self) -> None:
        """max_message_size takes an int of at least 1024; anything else names it."""
        for bad in (0, 1023, 1.5e6, "16MiB", True, None):
            with self.assertRaises(ValueError) as caught:
                ConnectionPolicy(max_message_size=bad)  # type: ignore[arg-type]
            self.assertIn("max_message_size", str(caught.exception))


class OversizeOnTheWireTests(ManagerTestCase):
    """Real sockets: FakeBinance's stream connection slips one 512 MiB frame header in."""

    @asynchronous
    async def test_legacy_callback_hears_of_it_and_other_streams_never_notice(self) -> None:
        """The spot socket's callback gets the flat legacy error dict, then trades again after
        the reconnect; the futures socket on its own connection keeps its sequence whole."""
        fake = await self.fake()
        bm = self.manager(fake)
        spot, futures = Inbox(), Inbox()

        def user() -> None:
            bm.start_trade_socket("BNBBTC", spot)
            bm.start_aggtrade_futures_socket("BTCUSDT", futures)

        await self.in_user_thread(user)
        await fake.wait_for(lambda: spot.messages and futures.messages)
        (victim,) = [c for c in fake.connections if "bnbbtc@trade" in c.streams]
        victim.transport.write(frame(b"", length=512 * MiB))
        await fake.wait_for(lambda: spot.of("e", "error"))
        errors_seen = len(spot.messages)
        await fake.wait_for(lambda: len(spot.messages) > errors_seen + 2)

        (error,) = spot.of("e", "error")
        self.assertEqual(
            error,
            {
                "e": "error",
                "type": "MessageTooBigError",
                "m": f"message of {512 * MiB} bytes over the {16 * MiB}-byte limit",
            },
        )
        self.assertEqual(spot.messages[-1]["e"], "trade")
        self.assertEqual(futures.of("e", "error"), [])
        ids = [m["data"]["a"] for m in futures.messages]  # futures sockets are wrapped
        self.assertEqual(ids, list(range(ids[0], ids[0] + len(ids))))
        self.assertEqual(bm.venue.stream_client("spot").stats()["spot-1"]["oversized"], 1)
