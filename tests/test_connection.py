"""Unit tests of StreamConnection on a MemoryReactorClock: backoff, liveness, rotation, pacing.

No sockets and no real time: ``tests.support.Harness`` plays the server side by calling the
hooks autobahn would call, and ``clock.advance`` moves time.
"""

from __future__ import annotations

import gzip

from twisted.internet.error import ConnectionLost
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from binance_twisted._core.policy import ConnectionPolicy
from binance_twisted._json import dumps
from binance_twisted.errors import (
    ClientClosedError,
    ConnectionGaveUpError,
    NotConnectedError,
    StreamRequestError,
)
from binance_twisted.events import EventKind
from binance_twisted.market.connection import RAW, sequence_ids
from tests.support import Harness, depth_update, requests, subscribed, trade

TRADES = "btcusdt@trade"
TICKER = "btcusdt@ticker"
DEPTH = "btcusdt@depth@100ms"


def started(policy: ConnectionPolicy | None = None, streams: tuple[str, ...] = (TRADES,)):
    """A harness whose connection was asked for ``streams`` (one attempt pending)."""
    harness = Harness(policy)
    harness.route(*streams)
    confirmed = harness.connection.add_streams(streams)
    return harness, confirmed


class BackoffTests(SynchronousTestCase):
    def test_first_retry_is_quick_and_jittered(self) -> None:
        """After a failed attempt the first retry is scheduled within 0.2-0.3 s, never the same."""
        delays = set()
        for _ in range(200):
            harness, _ = started()
            harness.fail_attempt()
            (event,) = harness.events
            self.assertEqual(event.kind, EventKind.RECONNECTING)
            self.assertEqual(event.attempt, 1)
            self.assertTrue(0.2 <= event.delay <= 0.3, event.delay)
            delays.add(round(event.delay, 6))
        self.assertGreater(len(delays), 100)

    def test_delay_grows_exponentially_up_to_the_cap(self) -> None:
        """Consecutive failures double the delay (±jitter) until max_delay caps it; the
        jitter never takes a retry past the cap (it did, by up to 20 %)."""
        for _ in range(20):
            harness, _ = started(ConnectionPolicy(max_delay=5.0))
            delays = []
            for _ in range(12):
                harness.fail_attempt()
                delays.append(harness.events[-1].delay)
                scheduled = max(c.getTime() for c in harness.clock.getDelayedCalls())
                self.assertLessEqual(scheduled - harness.clock.seconds(), 5.0 + 1e-9)
                harness.clock.advance(delays[-1])
            self.assertLess(delays[0], delays[2] / 2)
            self.assertTrue(all(d <= 5.0 + 1e-9 for d in delays), delays)
            self.assertGreater(min(delays[-3:]), 5.0 * 0.8)

    def test_gives_up_after_max_retries_with_the_reason(self) -> None:
        """With max_retries=2 the third consecutive failure gives up and fails the waiters."""
        harness, confirmed = started(ConnectionPolicy(max_retries=2))
        for _ in range(3):
            harness.fail_attempt()
            harness.clock.advance(10)
        self.assertEqual(
            harness.kinds(),
            [EventKind.RECONNECTING, EventKind.RECONNECTING, EventKind.GAVE_UP],
        )
        self.assertEqual(harness.connection.state, "gave_up")
        error = self.failureResultOf(confirmed, ConnectionGaveUpError).value
        self.assertIn("refused", str(error))
        self.assertEqual(error.attempts, 3)
        self.assertEqual(harness.clock.getDelayedCalls(), [])

    def test_backoff_resets_only_after_a_healthy_period(self) -> None:
        """A session that dies young keeps the grown delay; one that lived resets it."""
        harness, _ = started(ConnectionPolicy(healthy_after=30.0))
        for _ in range(4):
            harness.fail_attempt()
            harness.clock.advance(harness.events[-1].delay)
        grown = harness.events[-1].delay
        proto = harness.open()
        harness.clock.advance(5)
        harness.lose(proto)
        self.assertGreater(harness.events[-1].delay, grown)
        harness.clock.advance(harness.events[-1].delay)
        proto = harness.open()
        harness.clock.advance(30)
        harness.lose(proto)
        self.assertLessEqual(harness.events[-1].delay, 0.3)

    def test_policy_rejects_bad_values_naming_the_argument(self) -> None:
        """Bad policy values fail at construction with the argument's name."""
        for kwargs, name in [
            ({"max_retries": -1}, "max_retries"),
            ({"max_retries": True}, "max_retries"),
            ({"stall_timeout": 0}, "stall_timeout"),
            ({"control_rate": 6}, "control_rate"),
            ({"jitter": 1.5}, "jitter"),
        ]:
            with self.assertRaises(ValueError) as caught:
                ConnectionPolicy(**kwargs)
            self.assertIn(name, str(caught.exception))


class SessionTests(SynchronousTestCase):
    def test_url_carries_the_first_streams_and_subscribe_the_rest(self) -> None:
        """Streams that fit in max_url_length ride in the URL; the rest go in one SUBSCRIBE."""
        streams = tuple(f"sym{i:03d}usdt@trade" for i in range(20))
        harness, confirmed = started(ConnectionPolicy(max_url_length=120), streams)
        proto = harness.open()
        in_url = proto.url_streams
        self.assertTrue(0 < len(in_url) < 20)
        self.assertLessEqual(len(harness.connection._factory.url), 120)
        self.assertEqual(in_url + subscribed(proto), list(streams))
        self.assertNoResult(confirmed)
        harness.ack(proto)
        self.assertIsNone(self.successResultOf(confirmed))
        self.assertEqual(harness.kinds(), [EventKind.CONNECTED])

    def test_url_percent_encodes_plus_in_timezone_klines(self) -> None:
        """A '+' (kline @+08:00) is sent as %2B so the server cannot read it as a space."""
        harness, _ = started(streams=("btcusdt@kline_1m@+08:00",))
        harness.open()
        self.assertIn("kline_1m@%2B08:00", harness.connection._factory.url)

    def test_reconnect_resubscribes_and_reports_the_gap(self) -> None:
        """After a drop the next session carries every stream again; the gap is reported."""
        streams = (TRADES, TICKER, DEPTH)
        harness, _ = started(ConnectionPolicy(max_url_length=60), streams)
        first = harness.open()
        harness.ack(first)
        harness.lose(first, ConnectionLost("reset by peer"))
        disconnected = harness.events[-2]
        self.assertEqual(disconnected.kind, EventKind.DISCONNECTED)
        self.assertIn("reset by peer", disconnected.reason)
        harness.clock.advance(harness.events[-1].delay + 1.5)
        second = harness.open()
        self.assertEqual(second.url_streams + subscribed(second), list(streams))
        reconnected = harness.events[-1]
        self.assertEqual(reconnected.kind, EventKind.RECONNECTED)
        self.assertGreaterEqual(reconnected.gap, 1.5)
        self.assertEqual(harness.connection.stats.reconnects, 1)

    def test_messages_are_unwrapped_and_routed_by_stream(self) -> None:
        """Combined payloads reach the stream's routes as (stream, data); others are dropped."""
        harness, _ = started(streams=(TRADES, TICKER))
        proto = harness.open()
        harness.send_data(proto, TRADES, trade(1))
        harness.send_data(proto, "ethusdt@trade", trade(2))
        self.assertEqual(harness.received, [(TRADES, trade(1))])
        self.assertEqual(harness.connection.stats.messages, 2)

    def test_envelope_routes_get_the_combined_dict_as_decoded(self) -> None:
        """A route asking for the envelope receives {'stream', 'data'} exactly as sent."""
        harness, _ = started()
        envelopes = []
        harness.connection.routes[TRADES] = [(envelopes.append, True, "legacy")]
        proto = harness.open()
        harness.send_data(proto, TRADES, trade(7))
        self.assertEqual(envelopes, [{"stream": TRADES, "data": trade(7)}])

    def test_callback_exception_is_contained_and_counted(self) -> None:
        """A raising callback is logged and counted; the next message and other routes go on."""
        harness, _ = started()
        calls = []

        def broken(stream, data):
            calls.append(data["t"])
            raise RuntimeError("user bug")

        harness.connection.routes[TRADES].insert(0, (broken, False, "broken"))
        proto = harness.open()
        with capturedLogs() as events:
            harness.send_data(proto, TRADES, trade(1))
            harness.send_data(proto, TRADES, trade(2))
        (logged,) = [formatEvent(e) for e in events if "log_failure" in e]
        self.assertIn(f"callback {__name__}.{broken.__qualname__} raised", logged)
        self.assertEqual(calls, [1, 2])
        self.assertEqual([d["t"] for _, d in harness.received], [1, 2])
        self.assertEqual(harness.connection.stats.callback_errors, 2)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_undecodable_frames_are_counted_and_reported(self) -> None:
        """Garbage text or binary frames are counted, reported once, and the session goes on."""
        harness, _ = started()
        proto = harness.open()
        proto.onMessage(b"\x00not json{", False)
        proto.onMessage(b"\x13\x37binary", True)
        harness.send_data(proto, TRADES, trade(3))
        self.assertEqual(harness.connection.stats.decode_errors, 2)
        self.assertEqual([d["t"] for _, d in harness.received], [3])
        errors = [e for e in harness.events if e.kind is EventKind.ERROR]
        self.assertEqual(len(errors), 1)
        self.assertIn("undecodable", errors[0].reason)

    def test_a_confirmation_callback_may_change_the_streams(self) -> None:
        """Two subscribes confirmed at once, the first one's callback unsubscribes: both
        fire, nothing raises (the re-entrant pass once removed a waiter twice)."""
        harness = Harness()
        harness.route(TRADES, TICKER)
        first = harness.connection.add_streams((TRADES,))
        second = harness.connection.add_streams((TICKER,))
        first.addCallback(lambda _: harness.connection.remove_streams((TRADES,)))
        harness.ack(harness.open())  # the UNSUBSCRIBE the callback sent is answered
        self.successResultOf(first)
        self.successResultOf(second)

    def test_deeply_nested_json_is_an_undecodable_frame_with_either_decoder(self) -> None:
        """5,000 nested arrays (10 KB): counted as undecodable, not an "Unhandled Error" that
        drops the connection (the stdlib decoder raises RecursionError)."""
        import json

        import binance_twisted._core.protocol as protocol_module

        deep = b"[" * 5000 + b"]" * 5000
        for decoder in (protocol_module.loads, json.loads):
            self.patch(protocol_module, "loads", decoder)
            harness, _ = started()
            proto = harness.open()
            proto.onMessage(deep, False)
            harness.send_data(proto, TRADES, trade(4))
            self.assertEqual(harness.connection.stats.decode_errors, 1, decoder)
            self.assertEqual([d["t"] for _, d in harness.received], [4])
            self.assertNotIn(EventKind.DISCONNECTED, harness.kinds())

    def test_gzip_binary_frames_are_decoded(self) -> None:
        """A gzip-compressed binary frame is decoded like text (python-binance 0.7.11 did so)."""
        harness, _ = started()
        proto = harness.open()
        proto.onMessage(gzip.compress(dumps({"stream": TRADES, "data": trade(9)})), True)
        self.assertEqual(harness.received, [(TRADES, trade(9))])

    def test_error_frame_fails_the_request_that_caused_it(self) -> None:
        """{"error":…, "id"} fails exactly that SUBSCRIBE; its streams are dropped, others kept."""
        harness, first = started()
        proto = harness.open()
        self.successResultOf(first)
        second = harness.connection.add_streams(["bad@stream"])
        (request,) = requests(proto, "SUBSCRIBE")
        harness.send(
            proto,
            {"error": {"code": 2, "msg": "Invalid request: invalid stream"}, "id": request["id"]},
        )
        error = self.failureResultOf(second, StreamRequestError).value
        self.assertEqual((error.code, error.method), (2, "SUBSCRIBE"))
        self.assertEqual(list(harness.connection.streams), [TRADES])
        self.assertEqual(harness.events[-1].kind, EventKind.ERROR)
        self.assertEqual(harness.events[-1].code, 2)

    def test_list_subscriptions_answers_and_fails_on_drop(self) -> None:
        """LIST_SUBSCRIPTIONS fires with the result; a drop fails what is in flight."""
        harness, _ = started()
        proto = harness.open()
        answered = harness.connection.request("LIST_SUBSCRIPTIONS")
        (request,) = requests(proto, "LIST_SUBSCRIPTIONS")
        harness.send(proto, {"result": [TRADES], "id": request["id"]})
        self.assertEqual(self.successResultOf(answered), [TRADES])
        lost = harness.connection.request("LIST_SUBSCRIPTIONS")
        harness.lose(proto)
        self.assertIn("connection lost", str(self.failureResultOf(lost, NotConnectedError).value))

    def test_remove_streams_unsubscribes_on_the_open_session(self) -> None:
        """remove_streams sends UNSUBSCRIBE and fires on its acknowledgement."""
        harness, _ = started(streams=(TRADES, TICKER))
        proto = harness.open()
        removed = harness.connection.remove_streams([TICKER])
        (request,) = requests(proto, "UNSUBSCRIBE")
        self.assertEqual(request["params"], [TICKER])
        self.assertNoResult(removed)
        harness.ack(proto)
        self.successResultOf(removed)
        self.assertEqual(list(harness.connection.streams), [TRADES])

    def test_close_stops_retrying_and_fails_waiters(self) -> None:
        """close() fails pending waiters, closes the session and fires once the socket is gone."""
        harness, _ = started()
        proto = harness.open()
        waiting = harness.connection.add_streams([TICKER])
        closed = harness.connection.close()
        self.failureResultOf(waiting, ClientClosedError)
        self.assertIn({"close": 1000}, proto.sent)
        self.assertNoResult(closed)
        harness.lose(proto)
        self.successResultOf(closed)
        self.assertEqual(harness.events[-1].reason, "closed by the client")
        self.assertEqual(harness.clock.getDelayedCalls(), [])


class PacingTests(SynchronousTestCase):
    def test_subscriptions_are_batched_and_paced(self) -> None:
        """1,000 streams go out in a few SUBSCRIBE batches, 0.25 s apart (under 5 msg/s)."""
        streams = tuple(f"s{i:04d}usdt@aggTrade" for i in range(1000))
        harness, confirmed = started(ConnectionPolicy(max_url_length=100), streams)
        proto = harness.open()
        sent_at = [harness.clock.seconds()]
        while proto.pacer.queued:
            harness.clock.advance(0.25)
            sent_at.append(harness.clock.seconds())
        batches = requests(proto, "SUBSCRIBE")
        self.assertTrue(2 <= len(batches) <= 5, len(batches))
        self.assertTrue(all(len(dumps(b)) <= 8200 for b in batches))
        self.assertEqual(proto.url_streams + subscribed(proto), list(streams))
        self.assertEqual(len(sent_at), len(batches))
        harness.ack(proto)
        self.successResultOf(confirmed)

    def test_more_than_the_stream_cap_is_refused_before_io(self) -> None:
        """add_streams beyond max_streams raises ValueError naming the limit."""
        harness = Harness(ConnectionPolicy(max_streams=3))
        with self.assertRaises(ValueError) as caught:
            harness.connection.add_streams([f"s{i}@trade" for i in range(4)])
        self.assertIn("limit per connection is 3", str(caught.exception))
        self.assertEqual(harness.clock.connectors, [])


class WatchdogTests(SynchronousTestCase):
    def test_a_stall_is_detected_when_the_silence_reaches_the_limit(self) -> None:
        """Detected at the timeout itself, not up to a quarter later (73 s for 60 s before)."""
        for silence_from in (0.0, 7.5, 13.0):
            harness, _ = started(ConnectionPolicy(stall_timeout=60))
            proto = harness.open()
            harness.clock.advance(silence_from)
            harness.send_data(proto, TRADES, trade(1))
            harness.clock.pump([0.5] * int((60 - 0.5) / 0.5))
            self.assertNotIn(EventKind.STALLED, harness.kinds())
            harness.clock.advance(0.5)
            self.assertEqual(harness.kinds()[-1], EventKind.STALLED)
            self.assertIn("60.0 s", harness.events[-1].reason)

    def test_silent_session_is_dropped_and_reported(self) -> None:
        """No data and no ping for stall_timeout: STALLED, the socket is aborted, retry follows."""
        harness, _ = started(ConnectionPolicy(stall_timeout=60))
        proto = harness.open()
        harness.clock.advance(45)
        self.assertNotIn(EventKind.STALLED, harness.kinds())
        harness.clock.advance(30)
        self.assertEqual(harness.kinds()[-1], EventKind.STALLED)
        self.assertIn({"dropped": True}, proto.sent)
        self.assertEqual(harness.connection.stats.stalls, 1)
        harness.lose(proto)
        self.assertIn("stalled", harness.events[-2].reason)
        self.assertEqual(harness.kinds()[-1], EventKind.RECONNECTING)

    def test_data_or_server_pings_keep_a_session_alive(self) -> None:
        """A quiet stream with regular server pings, or steady data, is never declared stalled."""
        harness, _ = started(ConnectionPolicy(stall_timeout=60))
        proto = harness.open()
        proto.sendPong = lambda payload: None
        for second in range(1, 301):
            harness.clock.advance(1)
            if second % 20 == 0:
                proto.onPing(b"ping")
        harness.send_data(proto, TRADES, trade(1))
        harness.clock.advance(59)
        self.assertNotIn(EventKind.STALLED, harness.kinds())

    def test_watchdog_can_be_disabled(self) -> None:
        """stall_timeout=None never drops a silent session."""
        harness, _ = started(ConnectionPolicy(stall_timeout=None, rotate_after=None))
        proto = harness.open()
        harness.clock.advance(3600)
        self.assertNotIn({"dropped": True}, proto.sent)


class RotationTests(SynchronousTestCase):
    def rotating(self, streams=(TRADES,), **policy):
        harness, _ = started(ConnectionPolicy(rotate_after=1000.0, **policy), streams)
        old = harness.open()
        harness.ack(old)
        harness.clock.advance(1000)
        candidate_factory = harness.connection._rotation.factory
        return harness, old, candidate_factory

    def test_rotation_starts_before_the_lifetime_limit(self) -> None:
        """The replacement is dialled between 95 % and 100 % of rotate_after, not before."""
        harness, _ = started(ConnectionPolicy(rotate_after=1000.0))
        harness.open()
        harness.clock.advance(949)
        self.assertEqual(len(harness.clock.connectors), 1)
        harness.clock.advance(51)
        self.assertEqual(len(harness.clock.connectors), 2)

    def test_server_shutdown_starts_a_rotation(self) -> None:
        """serverShutdown, raw or combined, dials a replacement at once."""
        for message in (
            {"e": "serverShutdown", "E": 1},
            {"stream": "!serverShutdown", "data": {"e": "serverShutdown", "E": 1}},
        ):
            harness, _ = started()
            proto = harness.open()
            harness.send(proto, message)
            self.assertIsNotNone(harness.connection._rotation)
            self.assertEqual(len(harness.clock.connectors), 2)

    def test_trades_neither_lost_nor_duplicated_across_the_switch(self) -> None:
        """Old delivers 1-5, the candidate starts at 4: the user sees 1..8 exactly once."""
        harness, old, factory = self.rotating()
        for t in range(1, 6):
            harness.send_data(old, TRADES, trade(t))
        new = harness.open(factory)
        for t in (4, 5, 6):
            harness.send_data(new, TRADES, trade(t))
        harness.send_data(old, TRADES, trade(6))
        harness.send_data(new, TRADES, trade(7))
        harness.send_data(old, TRADES, trade(7))
        harness.send_data(new, TRADES, trade(8))
        self.assertEqual([d["t"] for _, d in harness.received], list(range(1, 9)))
        self.assertEqual(harness.kinds()[-1], EventKind.ROTATED)
        self.assertIn({"close": 1000}, old.sent)
        self.assertIs(harness.connection._session, new)
        self.assertEqual(harness.connection.stats.rotations, 1)

    def test_raw_routes_get_each_frame_once_as_received_across_the_switch(self) -> None:
        """A recorder's route (RAW) gets callback(stream, data, raw) with the frame's exact
        bytes, buffered ones included, each trade once, whichever session carried it."""
        harness, old, factory = self.rotating()
        frames: list[bytes] = []
        harness.connection.routes[TRADES] = [
            (lambda stream, data, raw: frames.append(raw), RAW, "recorder")
        ]

        def send(proto, trade_id: int, spaces: str) -> bytes:
            raw = dumps({"stream": TRADES, "data": trade(trade_id)}) + spaces.encode()
            proto.onMessage(raw, False)
            return raw

        sent_old = [send(old, t, " ") for t in (1, 2)]
        new = harness.open(factory)
        sent_new = [send(new, t, "  ") for t in (2, 3)]  # 2 is the overlap
        send(old, 3, " ")
        sent_new.append(send(new, 4, "  "))
        self.assertEqual(frames, sent_old + sent_new[1:])
        self.assertEqual(harness.kinds()[-1], EventKind.ROTATED)

    def test_server_shutdown_right_after_a_rotation_rotates_again(self) -> None:
        """serverShutdown on the new session while it still filters the overlap (up to
        handover_timeout after ROTATED) starts the next rotation; it used to be dropped."""
        harness, old, factory = self.rotating()
        harness.send_data(old, TRADES, trade(1))
        new = harness.open(factory)
        harness.send_data(new, TRADES, trade(2))  # switches; 2 may still come from old
        self.assertEqual(harness.kinds()[-1], EventKind.ROTATED)
        dialled = len(harness.clock.connectors)
        harness.send(new, {"stream": "!serverShutdown", "data": {"e": "serverShutdown"}})
        self.assertIsNotNone(harness.connection._rotation)
        self.assertEqual(len(harness.clock.connectors), dialled + 1)

    def test_candidate_ahead_of_old_waits_for_old_to_catch_up(self) -> None:
        """If the candidate starts past the old session's last id, old keeps delivering the gap."""
        harness, old, factory = self.rotating()
        harness.send_data(old, TRADES, trade(1))
        new = harness.open(factory)
        harness.send_data(new, TRADES, trade(4))
        harness.send_data(new, TRADES, trade(5))
        self.assertIsNotNone(harness.connection._rotation)
        for t in (2, 3, 4):
            harness.send_data(old, TRADES, trade(t))
        harness.send_data(new, TRADES, trade(6))
        self.assertEqual([d["t"] for _, d in harness.received], [1, 2, 3, 4, 5, 6])
        self.assertEqual(harness.kinds()[-1], EventKind.ROTATED)

    def test_depth_diffs_switch_on_overlap_and_keep_straddling_events(self) -> None:
        """Depth: events with u <= last are dropped; a straddling event (U <= last < u) is kept."""
        harness, old, factory = self.rotating(streams=(DEPTH,))
        harness.send_data(old, DEPTH, depth_update(101, 110))
        new = harness.open(factory)
        harness.send_data(new, DEPTH, depth_update(105, 115))
        harness.send_data(old, DEPTH, depth_update(111, 115))
        harness.send_data(new, DEPTH, depth_update(116, 120))
        seen = [(d["U"], d["u"]) for _, d in harness.received]
        self.assertEqual(seen, [(101, 110), (105, 115), (116, 120)])

    def test_unsequenced_streams_switch_when_confirmed(self) -> None:
        """A ticker switches as soon as the candidate confirmed it; old tickers stop counting."""
        harness, old, factory = self.rotating(streams=(TICKER,), max_url_length=30)
        new = harness.open(factory)
        harness.send_data(old, TICKER, {"e": "24hrTicker", "c": "1"})
        harness.ack(new)
        self.assertEqual(harness.kinds()[-1], EventKind.ROTATED)
        harness.send_data(old, TICKER, {"e": "24hrTicker", "c": "old"})
        harness.send_data(new, TICKER, {"e": "24hrTicker", "c": "2"})
        self.assertEqual([d["c"] for _, d in harness.received], ["1", "2"])

    def test_quiet_sequenced_stream_switches_at_the_handover_timeout(self) -> None:
        """A trade stream with no trades during the overlap switches after handover_timeout."""
        harness, _old, factory = self.rotating(handover_timeout=10.0)
        harness.open(factory)
        harness.clock.advance(9)
        self.assertIsNotNone(harness.connection._rotation)
        harness.clock.advance(1)
        self.assertEqual(harness.kinds()[-1], EventKind.ROTATED)

    def test_failed_candidate_keeps_the_old_session_and_retries_later(self) -> None:
        """If the replacement cannot connect, nothing is lost and rotation is retried in 60 s."""
        harness, old, factory = self.rotating()
        connector = harness.connector_of(factory)
        factory.startedConnecting(connector)
        from twisted.python.failure import Failure

        from tests.support import ConnectionRefused

        factory.clientConnectionFailed(connector, Failure(ConnectionRefused()))
        self.assertIsNone(harness.connection._rotation)
        harness.send_data(old, TRADES, trade(1))
        self.assertEqual([d["t"] for _, d in harness.received], [1])
        harness.clock.advance(60)
        self.assertIsNotNone(harness.connection._rotation)

    def test_old_session_dying_mid_rotation_promotes_the_candidate(self) -> None:
        """The old session drops during handover: buffered candidate payloads are delivered."""
        harness, old, factory = self.rotating()
        harness.send_data(old, TRADES, trade(1))
        new = harness.open(factory)
        harness.send_data(new, TRADES, trade(3))
        harness.lose(old)
        harness.send_data(new, TRADES, trade(4))
        self.assertEqual([d["t"] for _, d in harness.received], [1, 3, 4])
        self.assertIs(harness.connection._session, new)


class SequenceIdTests(SynchronousTestCase):
    def test_ids_of_each_sequenced_payload(self) -> None:
        """trade t, aggTrade a, spot depth U/u, futures depth pu+1/u; others have none."""
        self.assertEqual(sequence_ids(trade(5)), (5, 5))
        self.assertEqual(sequence_ids({"e": "aggTrade", "a": 9}), (9, 9))
        self.assertEqual(sequence_ids(depth_update(3, 8)), (3, 8))
        self.assertEqual(sequence_ids({"e": "depthUpdate", "U": 3, "u": 8, "pu": 1}), (2, 8))
        self.assertIsNone(sequence_ids({"e": "24hrTicker"}))
        self.assertIsNone(sequence_ids([{"e": "trade", "t": 1}]))
        self.assertIsNone(sequence_ids({"e": "trade", "t": "x"}))


class RotationTailTests(SynchronousTestCase):
    def test_candidate_repeats_after_completion_are_dropped_then_filter_ends(self) -> None:
        """Once rotated, a late repeat from the new session is dropped; the filter then ends."""
        harness, _ = started(ConnectionPolicy(rotate_after=1000.0, handover_timeout=10.0))
        old = harness.open()
        harness.clock.advance(1000)
        factory = harness.connection._rotation.factory
        for t in (1, 2, 3):
            harness.send_data(old, TRADES, trade(t))
        new = harness.open(factory)
        harness.send_data(new, TRADES, trade(2))
        self.assertEqual(harness.kinds()[-1], EventKind.ROTATED)
        harness.send_data(new, TRADES, trade(3))
        harness.send_data(new, TRADES, trade(4))
        self.assertEqual([d["t"] for _, d in harness.received], [1, 2, 3, 4])
        self.assertEqual(new.deliver, harness.connection.dispatch)

    def test_old_death_mid_rotation_drops_later_repeats(self) -> None:
        """Old delivered 1-5 and died; the candidate's 4 and 5 are not delivered again."""
        harness, _ = started(ConnectionPolicy(rotate_after=1000.0))
        old = harness.open()
        harness.clock.advance(1000)
        factory = harness.connection._rotation.factory
        new = harness.open(factory)
        for t in range(1, 6):
            harness.send_data(old, TRADES, trade(t))
        harness.lose(old)
        for t in (4, 5, 6):
            harness.send_data(new, TRADES, trade(t))
        self.assertEqual([d["t"] for _, d in harness.received], [1, 2, 3, 4, 5, 6])
        self.assertIs(harness.connection._session, new)
