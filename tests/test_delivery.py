"""A slow consumer: its lag is measured and reported, and the queue mode keeps the session
answering pings and bounds what waits.

The consumer's slowness is simulated exactly: each callback advances the fake clock by its
own cost (10 ms), so "now" at delivery is what it would be on a machine doing that work.
"""

from __future__ import annotations

from twisted.internet import reactor as global_reactor
from twisted.trial.unittest import SynchronousTestCase

from binance_twisted._core.policy import ConnectionPolicy
from binance_twisted.events import EventKind
from tests.hostile import PING, TRADES, Conversation, frame, message
from tests.support import Harness

COST = 0.01  # seconds each callback takes


def slow_conversation(policy: ConnectionPolicy) -> Conversation:
    """A conversation whose only route costs COST seconds of the fake clock per message."""
    talk = Conversation(policy, lambda server: None)
    clock = talk.harness.clock
    talk.harness.connection.routes[TRADES] = [
        (
            lambda stream, data: (
                talk.harness.received.append((stream, data)),
                clock.advance(COST),
            ),
            False,
            "slow",
        )
    ]
    talk.pump.flush()
    return talk


def backlog(talk: Conversation, count: int, then: bytes = b"") -> None:
    """``count`` trades the server produced 1 ms apart, written at once (the kernel's
    backlog of a consumer that fell behind), then ``then``."""
    start_ms = int(talk.harness.clock.seconds() * 1000)
    talk.send(b"".join(frame(message(i, event_ms=start_ms + i)) for i in range(count)) + then)


def drain(talk: Conversation) -> None:
    """Turn the fake reactor until the delivery queue is empty."""
    while talk.harness.connection.stats.queued:
        talk.harness.clock.advance(0)


class DeliveryTestCase(SynchronousTestCase):
    def setUp(self) -> None:
        before = set(global_reactor.getDelayedCalls())
        self.addCleanup(
            lambda: [
                c.cancel()
                for c in global_reactor.getDelayedCalls()
                if c.active() and c not in before
            ]
        )

    def kinds(self, talk: Conversation) -> list[EventKind]:
        return [k for k in talk.harness.kinds() if k not in (EventKind.CONNECTED,)]


class LagTests(DeliveryTestCase):
    def test_a_slow_consumers_lag_is_reported_once_then_its_recovery(self) -> None:
        """10 ms callbacks on 1,000 msg/s: the lag grows 9 ms per message; it shows in
        stats()["lag"], one LAGGING event passes 5 s, and CAUGHT_UP follows once fresh
        messages arrive on time again."""
        talk = slow_conversation(ConnectionPolicy())
        backlog(talk, 1000)
        stats = talk.harness.connection.stats
        self.assertGreater(stats.lag[TRADES], 8.0)
        self.assertTrue(stats.lagging)
        (lagging,) = [e for e in talk.harness.events if e.kind is EventKind.LAGGING]
        self.assertTrue(5.0 < (lagging.lag or 0) < 5.2, lagging.lag)
        self.assertIn(f"{TRADES} is delivered", lagging.reason or "")
        backlog(talk, 40)  # produced now, delivered at once: caught up
        self.assertEqual(self.kinds(talk), [EventKind.LAGGING, EventKind.CAUGHT_UP])
        self.assertFalse(stats.lagging)
        self.assertLess(stats.lag[TRADES], 0.5)

    def test_lag_is_sampled_not_measured_per_message(self) -> None:
        """One message in 16 is measured (the fast path pays a countdown only)."""
        harness = Harness()
        harness.route(TRADES)
        harness.connection.add_streams((TRADES,))
        proto = harness.open()
        samples = []
        monitor = harness.connection._lag
        original = monitor.sample
        self.patch(monitor, "sample", lambda s, d: (samples.append(d["t"]), original(s, d)))
        for i in range(64):
            harness.send_data(proto, TRADES, {"e": "trade", "E": 1, "t": i})
        self.assertEqual(samples, [15, 31, 47, 63])

    def test_without_a_threshold_lag_is_measured_but_never_reported(self) -> None:
        talk = slow_conversation(ConnectionPolicy(lag_threshold=None))
        backlog(talk, 1000)
        self.assertGreater(talk.harness.connection.stats.lag[TRADES], 8.0)
        self.assertEqual(self.kinds(talk), [])


class QueueTests(DeliveryTestCase):
    def test_pings_are_answered_before_a_backlog_reaches_the_callbacks(self) -> None:
        """1,000 trades and a ping in one read: directly, the pong waits for all 1,000
        callbacks (10 s); in queue mode it leaves before the first callback runs."""
        for queue_size, pongs_seen_by_callbacks in ((None, {0}), (2000, {1})):
            talk = Conversation(ConnectionPolicy(queue_size=queue_size), lambda server: None)
            seen = []
            talk.harness.connection.routes[TRADES] = [
                (
                    lambda stream, data, talk=talk, seen=seen: seen.append(len(talk.server.pongs)),
                    False,
                    "counting",
                )
            ]
            talk.pump.flush()
            backlog(talk, 1000, then=frame(b"are you there", PING))
            drain(talk)
            self.assertEqual(len(seen), 1000)
            self.assertEqual(set(seen), pongs_seen_by_callbacks, queue_size)
            self.assertEqual(talk.server.pongs, [b"are you there"])

    def test_queue_hands_over_in_slices_so_the_reactor_gets_turns(self) -> None:
        """10 ms callbacks: a slice stops after 20 ms of work and the rest waits for another
        reactor turn (callLater(0)), so sockets are read between slices."""
        talk = slow_conversation(ConnectionPolicy(queue_size=100))
        queue = talk.harness.connection._queue
        assert queue is not None
        slices: list[int] = []
        drain_once = queue._drain

        def one_slice() -> None:
            before = len(talk.received)
            drain_once()
            slices.append(len(talk.received) - before)

        self.patch(queue, "_drain", one_slice)
        backlog(talk, 10)
        self.assertEqual(talk.received, [])  # nothing runs inside the read
        drain(talk)
        self.assertEqual(talk.received, list(range(10)))
        self.assertEqual(slices, [2, 2, 2, 2, 2])

    def test_a_full_queue_drops_the_oldest_counts_and_reports_one_gap(self) -> None:
        talk = slow_conversation(ConnectionPolicy(queue_size=100))
        backlog(talk, 1000)
        drain(talk)
        stats = talk.harness.connection.stats
        self.assertEqual(talk.received, list(range(900, 1000)))
        self.assertEqual((stats.dropped, stats.queued), (900, 0))
        (dropped,) = [e for e in talk.harness.events if e.kind is EventKind.DROPPED]
        self.assertIn("queue full (100 messages): dropping the oldest", dropped.reason or "")

    def test_drop_newest_keeps_what_was_queued_first(self) -> None:
        talk = slow_conversation(ConnectionPolicy(queue_size=100, queue_overflow="drop_newest"))
        backlog(talk, 1000)
        drain(talk)
        self.assertEqual(talk.received, list(range(100)))
        self.assertEqual(talk.harness.connection.stats.dropped, 900)

    def test_a_new_overflow_after_draining_is_reported_again(self) -> None:
        talk = slow_conversation(ConnectionPolicy(queue_size=10))
        for _ in range(2):
            backlog(talk, 50)
            drain(talk)
        self.assertEqual(self.kinds(talk).count(EventKind.DROPPED), 2)

    def test_closing_drops_what_waits_and_no_callback_runs_after(self) -> None:
        talk = slow_conversation(ConnectionPolicy(queue_size=100))
        backlog(talk, 50)
        talk.harness.connection.close()
        talk.harness.clock.advance(0)
        self.assertEqual(talk.received, [])
        self.assertEqual(talk.harness.connection.stats.queued, 0)

    def test_queue_options_are_checked_when_the_policy_is_built(self) -> None:
        for kwargs, name in [
            ({"queue_size": 0}, "queue_size"),
            ({"queue_size": 1.5}, "queue_size"),
            ({"queue_size": True}, "queue_size"),
            ({"queue_overflow": "drop_random"}, "queue_overflow"),
            ({"lag_threshold": 0}, "lag_threshold"),
            ({"lag_threshold": float("nan")}, "lag_threshold"),
        ]:
            with self.assertRaises(ValueError) as caught:
                ConnectionPolicy(**kwargs)  # type: ignore[arg-type]
            self.assertIn(name, str(caught.exception))
