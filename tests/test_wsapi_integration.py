"""WebSocketAPI against FakeBinance over real sockets: concurrency, timeouts, drops, rotation."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer, reactor
from twisted.trial.unittest import TestCase

from binance_twisted.errors import NotConnectedError, RateLimitedError, RequestTimeoutError
from binance_twisted.events import EventKind
from binance_twisted.testing import FakeBinance
from binance_twisted.wsapi import WebSocketAPI
from tests.support import asynchronous


class WsApiTestCase(TestCase):
    async def connected(self, **options: Any) -> tuple[FakeBinance, WebSocketAPI, list[Any]]:
        fake = FakeBinance(reactor, event_interval=None)
        await fake.start()
        self.addCleanup(fake.stop)
        events: list[Any] = []
        api = WebSocketAPI(reactor, fake.endpoints, on_event=events.append, **options)
        self.addCleanup(api.close)
        return fake, api, events


class ConcurrencyTests(WsApiTestCase):
    @asynchronous
    async def test_100_concurrent_requests_are_all_answered_by_their_own_reply(self) -> None:
        """100 requests in flight at once on one connection; each gets its own reply."""
        fake, api, _ = await self.connected()
        replies = await defer.gatherResults(
            [api.ws_get_time() for _ in range(50)] + [api.ws_ping() for _ in range(50)]
        )
        self.assertTrue(all("serverTime" in r for r in replies[:50]))
        self.assertEqual(replies[50:], [{}] * 50)
        ids = [e.detail.get("id") for e in fake.log if e.kind == "request"]
        self.assertEqual(len(set(ids)), 100)
        self.assertEqual(len([c for c in fake.connections if c.service == "ws-api"]), 1)
        self.assertTrue(api.rate_limits)


class FailureTests(WsApiTestCase):
    @asynchronous
    async def test_a_slow_reply_times_out_and_others_go_on(self) -> None:
        """A request past its timeout fails (status unknown); the connection keeps working."""
        fake, api, _ = await self.connected(request_timeout=0.3)
        await api.ws_ping()
        fake.wsapi_fault("time", delay=1.0)
        error = await self.assertFailure(api.ws_get_time(), RequestTimeoutError)
        self.assertIn("unknown", str(error))
        self.assertEqual(await api.ws_ping(), {})

    @asynchronous
    async def test_a_drop_fails_requests_in_flight_and_the_next_ones_reconnect(self) -> None:
        """Dropped mid-request: 'execution status unknown'; later requests use a new session."""
        fake, api, events = await self.connected()
        await api.ws_ping()
        fake.wsapi_fault("time", drop=True)
        error = await self.assertFailure(api.ws_get_time(), NotConnectedError)
        self.assertIn("unknown", str(error))
        self.assertEqual(await api.ws_ping(), {})
        self.assertIn(EventKind.RECONNECTED, [e.kind for e in events])

    @asynchronous
    async def test_rate_limit_reply_carries_retry_after(self) -> None:
        """A 429 reply raises RateLimitedError with the retryAfter Binance gave."""
        fake, api, _ = await self.connected()
        fake.wsapi_fault("ping", status=429, retry_after=2.0)
        error = await self.assertFailure(api.ws_ping(), RateLimitedError)
        self.assertEqual(error.status, 429)
        self.assertIsNotNone(error.retry_after)

    @asynchronous
    async def test_server_shutdown_rotates_without_failing_requests(self) -> None:
        """serverShutdown: a new session takes over; requests before and after succeed."""
        fake, api, events = await self.connected()
        await api.ws_ping()
        fake.server_shutdown()
        await fake.wait_for(lambda: EventKind.ROTATED in [e.kind for e in events])
        self.assertEqual(await api.ws_ping(), {})
        self.assertNotIn(EventKind.DISCONNECTED, [e.kind for e in events])
