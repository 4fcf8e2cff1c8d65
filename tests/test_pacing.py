"""The Pacer keeps control messages under Binance's per-connection message rate."""

from __future__ import annotations

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from binance_twisted._core.pacing import Pacer


class PacerTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.sent: list[tuple[float, bytes]] = []
        self.pacer = Pacer(self.clock, 4.0, lambda p: self.sent.append((self.clock.seconds(), p)))

    def test_first_message_goes_at_once_the_rest_are_spaced(self) -> None:
        """Five messages at t=0 leave at 0, 0.25, 0.5, 0.75, 1.0 in order."""
        for i in range(5):
            self.pacer.send(b"%d" % i)
        self.assertEqual(self.sent, [(0.0, b"0")])
        self.clock.pump([0.25] * 4)
        self.assertEqual(self.sent, [(0.25 * i, b"%d" % i) for i in range(5)])

    def test_never_more_than_rate_in_any_second(self) -> None:
        """However messages arrive, no one-second window holds more than four sends."""
        for step in range(40):
            self.pacer.send(b"x")
            if step % 3 == 0:
                self.pacer.send(b"y")
            self.clock.advance(0.1)
        self.clock.pump([0.25] * 40)
        times = [t for t, _ in self.sent]
        self.assertEqual(len(times), 54)
        for start in times:
            self.assertLessEqual(sum(1 for t in times if start <= t < start + 1.0), 4)

    def test_idle_pacer_sends_immediately(self) -> None:
        """After a quiet period the next message is not delayed."""
        self.pacer.send(b"a")
        self.clock.advance(5)
        self.pacer.send(b"b")
        self.assertEqual(self.sent, [(0.0, b"a"), (5.0, b"b")])

    def test_stop_drops_the_queue_and_timer(self) -> None:
        """stop() forgets queued messages and leaves no pending call behind."""
        for _ in range(3):
            self.pacer.send(b"x")
        self.pacer.stop()
        self.assertEqual(self.pacer.queued, 0)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_rate_must_be_positive(self) -> None:
        """A zero or negative rate is refused, naming the argument."""
        with self.assertRaisesRegex(ValueError, "rate must be a positive"):
            Pacer(self.clock, 0, lambda p: None)
