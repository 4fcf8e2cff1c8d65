"""WebSocketAPI on a MemoryReactorClock: requests, errors, timeouts, user data, rotation."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from binance_twisted._core.policy import ConnectionPolicy
from binance_twisted.errors import (
    BinanceAPIError,
    MissingCredentialsError,
    NotConnectedError,
    RateLimitedError,
    RequestTimeoutError,
)
from binance_twisted.events import EventKind
from binance_twisted.signing import ws_api_payload
from binance_twisted.wsapi.connection import WebSocketAPI
from tests.support import Harness, requests
from tests.vectors import API_KEY as KEY, SECRET

LIMITS = [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "limit": 6000, "count": 3}]


def api_harness(policy: ConnectionPolicy | None = None, **options: Any) -> Harness:
    options.setdefault("api_key", KEY)
    options.setdefault("private_key_or_secret", SECRET)

    def make(clock, on_event):
        return WebSocketAPI(
            clock,
            url="ws://127.0.0.1:9/ws-api/v3",
            policy=policy or ConnectionPolicy(),
            on_event=on_event,
            **options,
        )

    return Harness(make=make)


def reply(harness: Harness, proto, request: dict, result: Any = None, **extra: Any) -> None:
    message = {"id": request["id"], "status": 200, "result": result, **extra}
    harness.send(proto, message)


def last(proto, method: str) -> dict:
    return requests(proto, method)[-1]


class RequestTests(SynchronousTestCase):
    def test_request_is_sent_and_answered(self) -> None:
        """request() waits for the connection, sends {method,id,params} and fires with result."""
        harness = api_harness()
        d = harness.connection.request("depth", {"symbol": "BTCUSDT", "limit": 5})
        proto = harness.open()
        request = last(proto, "depth")
        self.assertEqual(request["params"], {"symbol": "BTCUSDT", "limit": 5})
        reply(harness, proto, request, {"lastUpdateId": 1}, rateLimits=LIMITS)
        self.assertEqual(self.successResultOf(d), {"lastUpdateId": 1})
        self.assertEqual(harness.connection.rate_limits, LIMITS)

    def test_signed_request_carries_a_valid_signature(self) -> None:
        """signed=True adds apiKey and timestamp and an HMAC over the sorted payload."""
        harness = api_harness()
        harness.connection.request("account.status", {"omitZeroBalances": True}, signed=True)
        proto = harness.open()
        params = last(proto, "account.status")["params"]
        self.assertEqual(params["apiKey"], KEY)
        self.assertIn("timestamp", params)
        expected = hmac.new(
            SECRET.encode(), ws_api_payload(params).encode(), hashlib.sha256
        ).hexdigest()
        self.assertEqual(params["signature"], expected)

    def test_bad_requests_fail_before_any_timer_or_io(self) -> None:
        """Non-mapping params, NaN/zero timeouts: refused at the call, no timer left behind."""
        harness = api_harness()
        api = harness.connection
        self.assertRaises(TypeError, api.request, "ping", ["not", "a", "dict"])
        for bad in (float("nan"), 0, -1, float("inf"), "10"):
            self.assertRaises(ValueError, api.request, "ping", None, timeout=bad)
        self.assertEqual(harness.clock.getDelayedCalls(), [])
        self.assertEqual(api.state, "idle")
        for bad in (float("nan"), 0):
            with self.assertRaisesRegex(ValueError, "request_timeout"):
                WebSocketAPI(harness.clock, url="ws://127.0.0.1:9", request_timeout=bad)

    def test_signed_timestamps_and_retry_after_follow_the_reactor_clock(self) -> None:
        """timestamp (plus time_offset) and retry_after come from the injected clock, not time."""
        harness = api_harness()
        harness.clock.advance(1_000_000)
        harness.connection.time_offset = 250.0
        d = harness.connection.request("account.status", signed=True)
        proto = harness.open()
        request = last(proto, "account.status")
        self.assertEqual(request["params"]["timestamp"], 1_000_000_250)
        error = {"code": -1003, "msg": "Too many requests", "data": {"retryAfter": 1_000_030_000}}
        harness.send(proto, {"id": request["id"], "status": 429, "error": error})
        self.assertEqual(self.failureResultOf(d, RateLimitedError).value.retry_after, 30.0)

    def test_errors_carry_status_code_message_and_retry_after(self) -> None:
        """400 → BinanceAPIError; 429 → RateLimitedError with retry_after from error.data."""
        harness = api_harness()
        harness.connection.connect()
        proto = harness.open()
        bad = harness.connection.request("order.place", {"symbol": "X"})
        busy = harness.connection.request("ping")
        first, second = requests(proto)[-2:]
        harness.send(
            proto,
            {"id": first["id"], "status": 400, "error": {"code": -1121, "msg": "Invalid symbol."}},
        )
        harness.send(
            proto,
            {
                "id": second["id"],
                "status": 429,
                "error": {"code": -1003, "msg": "Too many", "data": {"retryAfter": 4e12}},
            },
        )
        error = self.failureResultOf(bad, BinanceAPIError).value
        self.assertEqual((error.status, error.code, error.msg), (400, -1121, "Invalid symbol."))
        limited = self.failureResultOf(busy, RateLimitedError).value
        self.assertGreater(limited.retry_after, 0)

    def test_request_timeout_and_late_reply(self) -> None:
        """No reply in time: 'execution status unknown'; a late reply is then ignored."""
        harness = api_harness(request_timeout=5.0)
        harness.connection.connect()
        proto = harness.open()
        d = harness.connection.request("ping")
        harness.clock.advance(5)
        error = self.failureResultOf(d, RequestTimeoutError).value
        self.assertIn("execution status is unknown", str(error))
        self.assertIn("within 5 s (request_timeout=)", str(error))  # the setting to change
        self.assertEqual(error.timeout, 5.0)
        reply(harness, proto, last(proto, "ping"), {})
        quick = harness.connection.request("ping", timeout=0.5)
        harness.clock.advance(0.5)
        self.assertIn("within 0.5 s (timeout=)", str(self.failureResultOf(quick).value))

    def test_drop_fails_in_flight_requests_and_never_resends_them(self) -> None:
        """A drop fails what is in flight (status unknown); the next session does not resend it."""
        harness = api_harness()
        harness.connection.connect()
        proto = harness.open()
        d = harness.connection.request("order.place", {"symbol": "BTCUSDT"})
        harness.lose(proto)
        self.assertIn("unknown", str(self.failureResultOf(d, NotConnectedError).value))
        harness.clock.advance(1)
        second = harness.open()
        self.assertEqual(requests(second, "order.place"), [])

    def test_missing_credentials_fail_before_io(self) -> None:
        """Signed requests and user data without key or secret raise at the call."""
        harness = api_harness(api_key=None, private_key_or_secret=None)
        with self.assertRaisesRegex(MissingCredentialsError, "api_key and private_key_or_secret"):
            harness.connection.request("account.status", signed=True)
        with self.assertRaises(MissingCredentialsError):
            harness.connection.subscribe_user_data(lambda e: None)
        self.assertEqual(harness.clock.tcpClients, [])

    def test_repr_hides_the_key(self) -> None:
        """The API key and secret never show in repr()."""
        harness = api_harness()
        self.assertNotIn(KEY[:10], repr(harness.connection))
        self.assertNotIn(SECRET[:10], repr(harness.connection))


class UserDataTests(SynchronousTestCase):
    def subscribed(self, **kwargs: Any):
        harness = api_harness()
        events: list[dict] = []
        errors: list[Exception] = []
        ready = harness.connection.subscribe_user_data(
            events.append, on_error=errors.append, **kwargs
        )
        proto = harness.open()
        return harness, proto, events, errors, ready

    def test_signature_subscription_routes_events_by_id(self) -> None:
        """subscribe.signature is signed; events of its subscriptionId reach on_event only."""
        harness, proto, events, _, ready = self.subscribed()
        request = last(proto, "userDataStream.subscribe.signature")
        self.assertEqual(set(request["params"]), {"apiKey", "timestamp", "signature"})
        reply(harness, proto, request, {"subscriptionId": 3})
        subscription = self.successResultOf(ready)
        harness.send(proto, {"subscriptionId": 3, "event": {"e": "balanceUpdate", "d": "1"}})
        harness.send(proto, {"subscriptionId": 4, "event": {"e": "balanceUpdate", "d": "2"}})
        self.assertEqual(events, [{"e": "balanceUpdate", "d": "1"}])
        self.assertEqual(subscription.ids, {proto: 3})

    def test_every_new_session_subscribes_again(self) -> None:
        """After a drop the new session subscribes again; events use the new id."""
        harness, proto, events, _, _ = self.subscribed()
        reply(
            harness, proto, last(proto, "userDataStream.subscribe.signature"), {"subscriptionId": 0}
        )
        harness.lose(proto)
        harness.clock.advance(1)
        second = harness.open()
        reply(
            harness,
            second,
            last(second, "userDataStream.subscribe.signature"),
            {"subscriptionId": 5},
        )
        harness.send(second, {"subscriptionId": 5, "event": {"e": "executionReport", "i": 1}})
        self.assertEqual(events, [{"e": "executionReport", "i": 1}])

    def test_unrequested_termination_resubscribes(self) -> None:
        """eventStreamTerminated that the user did not ask for triggers a new subscribe."""
        harness, proto, events, _, _ = self.subscribed()
        reply(
            harness, proto, last(proto, "userDataStream.subscribe.signature"), {"subscriptionId": 0}
        )
        harness.send(proto, {"subscriptionId": 0, "event": {"e": "eventStreamTerminated", "E": 1}})
        self.assertEqual(len(requests(proto, "userDataStream.subscribe.signature")), 2)
        self.assertEqual(events, [])

    def test_unsubscribe_ends_delivery(self) -> None:
        """unsubscribe() sends userDataStream.unsubscribe with the id; later events are dropped."""
        harness, proto, events, _, ready = self.subscribed()
        reply(
            harness, proto, last(proto, "userDataStream.subscribe.signature"), {"subscriptionId": 2}
        )
        subscription = self.successResultOf(ready)
        done = subscription.unsubscribe()
        request = last(proto, "userDataStream.unsubscribe")
        self.assertEqual(request["params"], {"subscriptionId": 2})
        reply(harness, proto, request, {})
        self.successResultOf(done)
        harness.send(proto, {"subscriptionId": 2, "event": {"e": "balanceUpdate"}})
        harness.send(proto, {"subscriptionId": 2, "event": {"e": "eventStreamTerminated"}})
        self.assertEqual(events, [])
        self.assertEqual(len(requests(proto, "userDataStream.subscribe.signature")), 1)

    def test_clock_skew_resyncs_once_then_reports(self) -> None:
        """-1021 on subscribe: one `time` request, one retry; a second -1021 fails the subscribe."""
        harness, proto, _, _, ready = self.subscribed()
        skew = {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."}
        first = last(proto, "userDataStream.subscribe.signature")
        harness.send(proto, {"id": first["id"], "status": 400, "error": skew})
        time_request = last(proto, "time")
        reply(harness, proto, time_request, {"serverTime": 10_000_000})
        self.assertNotEqual(harness.connection.time_offset, 0)
        retried = last(proto, "userDataStream.subscribe.signature")
        self.assertNotEqual(retried["id"], first["id"])
        harness.send(proto, {"id": retried["id"], "status": 400, "error": skew})
        self.assertEqual(self.failureResultOf(ready, BinanceAPIError).value.code, -1021)
        self.assertEqual(len(requests(proto, "time")), 1)

    def test_listen_token_is_renewed_before_expiry(self) -> None:
        """Margin: the token source's token is subscribed, and a new one well before expiry."""
        harness = api_harness()
        harness.clock.advance(1_000_000)  # the reactor's clock, not the wall clock, decides
        tokens = iter(["tok-1", "tok-2"])
        expiry = int((harness.clock.seconds() + 3600) * 1000)

        def token_source():
            from twisted.internet import defer

            return defer.succeed((next(tokens), expiry))

        events: list[dict] = []
        ready = harness.connection.subscribe_listen_token(token_source, events.append)
        proto = harness.open()
        request = last(proto, "userDataStream.subscribe.listenToken")
        self.assertEqual(request["params"], {"listenToken": "tok-1"})
        reply(harness, proto, request, {"subscriptionId": 1, "expirationTime": expiry})
        self.successResultOf(ready)
        harness.clock.advance(3000)
        self.assertEqual(len(requests(proto, "userDataStream.subscribe.listenToken")), 1)
        harness.clock.advance(300)
        self.assertEqual(
            last(proto, "userDataStream.subscribe.listenToken")["params"], {"listenToken": "tok-2"}
        )


class RotationTests(SynchronousTestCase):
    def test_server_shutdown_rotates_with_resubscription_and_no_duplicates(self) -> None:
        """serverShutdown: resubscribe, switch; an event seen on both sessions arrives once."""
        harness = api_harness()
        events: list[dict] = []
        harness.connection.subscribe_user_data(events.append)
        old = harness.open()
        reply(harness, old, last(old, "userDataStream.subscribe.signature"), {"subscriptionId": 0})
        pending = harness.connection.request("ping")
        harness.send(old, {"event": {"e": "serverShutdown", "E": 1}})
        factory = harness.connection._rotation.factory
        new = harness.open(factory)
        reply(harness, new, last(new, "userDataStream.subscribe.signature"), {"subscriptionId": 7})
        self.assertEqual(harness.kinds()[-1], EventKind.ROTATED)
        event = {"e": "executionReport", "i": 9, "E": 5}
        harness.send(old, {"subscriptionId": 0, "event": event})
        harness.send(new, {"subscriptionId": 7, "event": event})
        self.assertEqual(events, [event])
        self.assertNotIn({"close": 1000}, old.sent)  # a request is still in flight on it
        reply(harness, old, last(old, "ping"), {})
        self.successResultOf(pending)
        self.assertIn({"close": 1000}, old.sent)
