"""REST: signing as sent, HTTP error mapping, back-off, clock sync, listen keys and tokens.

Every test talks to a small ``twisted.web`` resource through ``treq.testing.StubTreq`` (no
sockets) and drives time with ``task.Clock``. The resource records each request exactly as
it arrived (method, path, raw query string, headers), so the assertions are about the wire.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import attrs
from treq.client import HTTPClient
from treq.testing import StubTreq
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock
from twisted.logger import formatEvent, globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from binance_twisted._json import dumps
from binance_twisted.accounts.listenkeys import LISTEN_KEY_PRODUCTS, ListenKeys, create_listen_token
from binance_twisted.endpoints import Endpoints
from binance_twisted.errors import (
    BinanceAPIError,
    BinanceTwistedError,
    EndpointRemovedError,
    MessageTooBigError,
    MissingCredentialsError,
    RateLimitedError,
    RequestTimeoutError,
)
from binance_twisted.rest import RestClient
from binance_twisted.signing import load_signer
from tests.vectors import API_KEY, REST_ORDER, REST_SIGNATURE, REST_TIMESTAMP, SECRET

# Binance's published documentation examples (binance-platform.md §4.4), not credentials.
LISTEN_KEY = "pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1"
BASE = "https://api.test"
T0 = 1_700_000_000.0  # the clock's start, in s
T0_MS = 1_700_000_000_000

Reply = tuple[int, dict[str, str], bytes]


def reply(status: int, body: Any = None, **headers: str) -> Reply:
    """A JSON answer (``body`` as JSON, ``{}`` by default) with extra headers."""
    return (
        status,
        {"Content-Type": "application/json", **headers},
        dumps({} if body is None else body),
    )


def html(status: int, text: str, **headers: str) -> Reply:
    """An HTML answer, like the nginx pages Binance serves for 410 and some 5xx."""
    return status, {"Content-Type": "text/html", **headers}, text.encode("utf-8")


GONE_PAGE = (
    "<html>\r\n<head><title>410 Gone</title></head>\r\n<body>\r\n"
    "<center><h1>410 Gone</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


@attrs.frozen
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    host: str

    def params(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query, keep_blank_values=True)


class Script(Resource):
    """Answers from per-path queues (the last reply repeats); records every request."""

    isLeaf = True

    def __init__(self, *default: Reply) -> None:
        super().__init__()
        self.seen: list[Seen] = []
        self.routes: dict[str, list[Reply]] = {}
        self.default = list(default) or [reply(200)]
        self.pending: list[Request] = []

    def on(self, path: str, *replies: Reply) -> Script:
        self.routes[path] = list(replies)
        return self

    def hang(self, path: str) -> Script:
        """Never answer on ``path`` (the test finishes ``self.pending`` by hand)."""
        self.routes[path] = []
        return self

    def render(self, request: Request) -> bytes | int:
        path, _, query = request.uri.decode("ascii").partition("?")
        headers = {
            name.decode().lower(): values[-1].decode()
            for name, values in request.requestHeaders.getAllRawHeaders()
        }
        self.seen.append(
            Seen(request.method.decode(), path, query, headers, headers.get("host", ""))
        )
        queue = self.routes.get(path, self.default)
        if not queue:
            self.pending.append(request)
            return NOT_DONE_YET
        status, reply_headers, body = queue.pop(0) if len(queue) > 1 else queue[0]
        request.setResponseCode(status)
        for name, value in reply_headers.items():
            request.setHeader(name, value)
        return body

    def paths(self) -> list[str]:
        return [seen.path for seen in self.seen]


def client(script: Script, **kwargs: Any) -> tuple[RestClient, Clock, StubTreq]:
    """A RestClient on ``script`` with a Clock at ``T0``."""
    clock = Clock()
    clock.advance(T0)
    stub = StubTreq(script)
    return RestClient(clock, BASE, http=stub, **kwargs), clock, stub


def hmac_hex(payload: str) -> str:
    return hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest()


class FakeBase64Signer:
    """Records what it signed; answers with a base64-looking signature."""

    key_type = "ED25519"

    def __init__(self) -> None:
        self.signed: list[bytes] = []

    def sign(self, payload: bytes) -> str:
        self.signed.append(payload)
        return "a+b/c=="


class RequestTests(SynchronousTestCase):
    def test_unsigned_get_sends_params_in_order(self) -> None:
        """A public GET puts the params in the query string, in order, with no key header."""
        script = Script(reply(200, {"lastUpdateId": 7}))
        rest, clock, _ = client(script, api_key=API_KEY)
        d = rest.request("GET", "/api/v3/depth", [("symbol", "BNBBTC"), ("limit", 5)])
        self.assertEqual(self.successResultOf(d), {"lastUpdateId": 7})
        [seen] = script.seen
        self.assertEqual((seen.method, seen.path), ("GET", "/api/v3/depth"))
        self.assertEqual(seen.query, "symbol=BNBBTC&limit=5")
        self.assertNotIn("x-mbx-apikey", seen.headers)
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_mapping_params_and_booleans(self) -> None:
        """Mapping params keep their order; booleans are sent as true/false; None is dropped."""
        script = Script()
        rest, _, _ = client(script)
        rest.request("GET", "/x", {"a": True, "b": None, "c": "x y"})
        self.assertEqual(script.seen[0].query, "a=true&c=x+y")

    def test_api_key_security_sends_the_header_and_no_signature(self) -> None:
        """API_KEY requests carry X-MBX-APIKEY and neither timestamp nor signature."""
        script = Script()
        rest, _, _ = client(script, api_key=API_KEY, signer=load_signer(SECRET))
        self.successResultOf(rest.request("PUT", "/fapi/v1/listenKey", security="API_KEY"))
        [seen] = script.seen
        self.assertEqual(seen.headers["x-mbx-apikey"], API_KEY)
        self.assertEqual(seen.query, "")

    def test_signed_query_is_exact_and_verifies(self) -> None:
        """SIGNED: params in order, timestamp, recvWindow, signature last; the HMAC verifies."""
        script = Script()
        rest, _, _ = client(script, api_key=API_KEY, signer=load_signer(SECRET), recv_window=5000)
        params = [("symbol", "BTCUSDT"), ("side", "BUY"), ("note", "a b+c/é")]
        self.successResultOf(rest.request("POST", "/api/v3/order", params, security="SIGNED"))
        [seen] = script.seen
        payload = f"symbol=BTCUSDT&side=BUY&note=a+b%2Bc%2F%C3%A9&timestamp={T0_MS}&recvWindow=5000"
        self.assertEqual(seen.query, f"{payload}&signature={hmac_hex(payload)}")
        self.assertEqual(seen.headers["x-mbx-apikey"], API_KEY)

    def test_documented_rest_vector(self) -> None:
        """Binance's documented REST example signs to the documented signature."""
        script = Script()
        clock = Clock()
        clock.advance(1499827319.559)
        rest = RestClient(
            clock, BASE, api_key=API_KEY, signer=load_signer(SECRET), http=StubTreq(script)
        )
        rest.request("POST", "/api/v3/order", REST_ORDER, security="SIGNED")
        self.assertEqual(
            script.seen[0].params()[-2:],
            [("timestamp", str(REST_TIMESTAMP)), ("signature", REST_SIGNATURE)],
        )

    def test_base64_signature_is_percent_encoded_and_covers_the_sent_query(self) -> None:
        """An RSA/Ed25519 signature is percent-encoded; the signed bytes are the sent query."""
        script = Script()
        signer = FakeBase64Signer()
        rest, _, _ = client(script, api_key=API_KEY, signer=signer, recv_window=2500.25)
        rest.request("GET", "/api/v3/account", [("omitZeroBalances", True)], security="SIGNED")
        query = script.seen[0].query
        self.assertEqual(
            query,
            f"omitZeroBalances=true&timestamp={T0_MS}&recvWindow=2500.25&signature=a%2Bb%2Fc%3D%3D",
        )
        self.assertEqual(signer.signed, [query.rsplit("&signature=", 1)[0].encode()])

    def test_missing_credentials_fail_before_io(self) -> None:
        """API_KEY without a key, SIGNED without a key or signer: raised, nothing sent."""
        script = Script()
        no_key, _, _ = client(script, signer=load_signer(SECRET))
        no_signer, _, _ = client(script, api_key=API_KEY)
        with self.assertRaisesRegex(MissingCredentialsError, r"API key \(api_key\)"):
            no_key.request("POST", "/fapi/v1/listenKey", security="API_KEY")
        with self.assertRaisesRegex(MissingCredentialsError, r"API key \(api_key\)"):
            no_key.request("GET", "/api/v3/account", security="SIGNED")
        with self.assertRaisesRegex(MissingCredentialsError, r"signer"):
            no_signer.request("GET", "/api/v3/account", security="SIGNED")
        self.assertEqual(script.seen, [])

    def test_bad_arguments_are_refused_before_io(self) -> None:
        """A bad security, method, path or params type raises a clear error, nothing sent."""
        script = Script()
        rest, _, _ = client(script, api_key=API_KEY)
        with self.assertRaisesRegex(ValueError, "'NONE', 'API_KEY', 'SIGNED'"):
            rest.request("GET", "/api/v3/time", security="USER_DATA")
        with self.assertRaisesRegex(ValueError, "GET, POST, PUT, DELETE"):
            rest.request("PATCH", "/api/v3/time")
        with self.assertRaisesRegex(ValueError, "pass params instead"):
            rest.request("GET", "/api/v3/depth?symbol=BNBBTC")
        with self.assertRaisesRegex(TypeError, "params must be"):
            rest.request("GET", "/api/v3/depth", "symbol=BNBBTC")  # type: ignore[arg-type]
        self.assertEqual(script.seen, [])

    def test_constructor_validates_its_arguments(self) -> None:
        """Bad base URL, api key, recv_window or timeout fail at construction."""
        clock = Clock()
        for kwargs, message in [
            ({"base_url": "api.binance.com"}, "base_url"),
            ({"api_key": "key with\nnewline"}, "api_key"),
            ({"recv_window": 60_001}, "recv_window"),
            ({"timeout": 0}, "timeout"),
        ]:
            arguments: dict[str, Any] = {"base_url": BASE, "http": StubTreq(Script()), **kwargs}
            base_url = arguments.pop("base_url")
            with self.assertRaisesRegex(ValueError, message):
                RestClient(clock, base_url, **arguments)

    def test_repr_shows_base_and_credential_presence_only(self) -> None:
        """repr names the base URL and whether credentials exist, never the key."""
        with_key, _, _ = client(Script(), api_key=API_KEY, signer=load_signer(SECRET))
        without, _, _ = client(Script())
        self.assertEqual(repr(with_key), f"<RestClient {BASE} api_key=set signer=HMAC>")
        self.assertEqual(repr(without), f"<RestClient {BASE} api_key=none signer=none>")

    def test_default_http_client_verifies_tls(self) -> None:
        """Without ``http`` a treq HTTPClient is built over the trust root given."""
        rest = RestClient(MemoryReactorClock(), "https://api.binance.com")
        self.assertIsInstance(rest._http, HTTPClient)
        with self.assertRaisesRegex(ValueError, "trust_root holds no PEM certificate"):
            RestClient(MemoryReactorClock(), "https://api.binance.com", trust_root=b"junk")


class ErrorTests(SynchronousTestCase):
    def test_410_is_endpoint_removed_and_not_retried(self) -> None:
        """410 with nginx HTML → EndpointRemovedError; exactly one request, even if SIGNED."""
        script = Script(html(410, GONE_PAGE))
        rest, _, _ = client(script, api_key=API_KEY, signer=load_signer(SECRET))
        error = self.failureResultOf(
            rest.request("POST", "/api/v3/userDataStream", security="SIGNED"),
            EndpointRemovedError,
        ).value
        self.assertEqual((error.status, error.code), (410, None))
        self.assertEqual(error.msg, "endpoint removed by Binance (410 Gone)")
        self.assertEqual(error.request, "POST /api/v3/userDataStream")
        self.assertEqual(len(script.seen), 1)

    def _check_back_off(self, status: int) -> None:
        script = Script(
            reply(
                status,
                {"code": -1003, "msg": "Way too much request weight used."},
                **{"Retry-After": "3"},
            )
        )
        rest, clock, _ = client(script)
        error = self.failureResultOf(rest.request("GET", "/api/v3/depth"), RateLimitedError).value
        self.assertEqual((error.status, error.code, error.retry_after), (status, -1003, 3.0))
        self.assertEqual(len(script.seen), 1)

        script.default = [reply(200, {"ok": 1})]
        clock.advance(2.5)
        for path in ("/api/v3/depth", "/api/v3/time"):
            early = self.failureResultOf(rest.request("GET", path), RateLimitedError).value
            self.assertEqual(early.status, status)
            self.assertAlmostEqual(early.retry_after, 0.5)
            self.assertEqual(early.request, f"GET {path}")
        self.assertEqual(len(script.seen), 1)  # the ban was not extended by I/O

        clock.advance(0.5)
        self.assertEqual(self.successResultOf(rest.request("GET", "/api/v3/depth")), {"ok": 1})
        self.assertEqual(len(script.seen), 2)

    def test_429_backs_off_for_retry_after_without_io(self) -> None:
        """429 + Retry-After: 3 → RateLimitedError(3); fail fast without I/O until 3 s pass."""
        self._check_back_off(429)

    def test_418_backs_off_for_retry_after_without_io(self) -> None:
        """418 (IP ban) behaves like 429: no request leaves until Retry-After has passed."""
        self._check_back_off(418)

    def test_an_absurd_retry_after_is_capped_at_ten_minutes(self) -> None:
        """Retry-After: 999999999 (31.7 years) is obeyed for 600 s, and the error says so."""
        script = Script(
            reply(418, {"code": -1003, "msg": "banned"}, **{"Retry-After": "999999999"})
        )
        rest, clock, _ = client(script)
        error = self.failureResultOf(rest.request("GET", "/x"), RateLimitedError).value
        self.assertEqual((error.retry_after, error.asked_retry_after), (600.0, 999999999.0))
        self.assertIn("Binance asked 1e+09 s", str(error))
        script.default = [reply(200, {"ok": 1})]
        clock.advance(599)
        self.failureResultOf(rest.request("GET", "/x"), RateLimitedError)
        clock.advance(1)
        self.assertEqual(self.successResultOf(rest.request("GET", "/x")), {"ok": 1})

    def test_rate_limit_without_retry_after_still_backs_off(self) -> None:
        """A 429 without Retry-After backs off 60 s by default and says so."""
        script = Script(reply(429, {"code": -1003, "msg": "Too much request weight used."}))
        rest, clock, _ = client(script)
        error = self.failureResultOf(rest.request("GET", "/x"), RateLimitedError).value
        self.assertEqual(error.retry_after, 60.0)
        self.assertIn("no Retry-After header", error.msg)
        clock.advance(59)
        self.failureResultOf(rest.request("GET", "/x"), RateLimitedError)
        self.assertEqual(len(script.seen), 1)

    def test_json_error_keeps_status_code_and_msg(self) -> None:
        """A Binance JSON error → BinanceAPIError with its status, code and msg."""
        script = Script(reply(400, {"code": -1121, "msg": "Invalid symbol."}))
        rest, _, _ = client(script)
        d = rest.request("GET", "/api/v3/depth", [("symbol", "NOPE")])
        error = self.failureResultOf(d, BinanceAPIError).value
        self.assertNotIsInstance(error, RateLimitedError)
        self.assertEqual((error.status, error.code, error.msg), (400, -1121, "Invalid symbol."))
        self.assertEqual(error.request, "GET /api/v3/depth")
        self.assertEqual(
            str(error), "GET /api/v3/depth: HTTP 400, Binance code -1121: Invalid symbol."
        )

    def test_non_json_500_gives_a_short_plain_excerpt(self) -> None:
        """A non-JSON 500 → code None, msg 'HTTP 500: …' without tags, at most 200 chars."""
        page = "<html><head><style>p {}</style></head><body><h1>500 Internal Server Error</h1>"
        script = Script(html(500, page + "<p>" + "detail " * 100 + "</p></body></html>"))
        rest, _, _ = client(script)
        error = self.failureResultOf(rest.request("GET", "/api/v3/depth"), BinanceAPIError).value
        self.assertEqual((error.status, error.code), (500, None))
        self.assertTrue(error.msg.startswith("HTTP 500: 500 Internal Server Error detail"))
        self.assertLessEqual(len(error.msg), 200)
        self.assertNotIn("<", error.msg)
        self.assertNotIn("p {}", error.msg)

    def test_deeply_nested_bodies_are_not_json_with_either_decoder(self) -> None:
        """5,000 nested arrays in a 200 or a 400 body: a BinanceAPIError, not a RecursionError
        escaping from the stdlib decoder."""
        import json

        import binance_twisted.rest as rest_module

        deep = "[" * 5000 + "]" * 5000
        for decoder in (rest_module.loads, json.loads):
            self.patch(rest_module, "loads", decoder)
            for status in (200, 400):
                rest, _, _ = client(Script(html(status, deep)))
                d = rest.request("GET", "/api/v3/depth")
                error = self.failureResultOf(d, BinanceAPIError).value
                self.assertEqual((error.status, error.code), (status, None))

    def test_a_body_announced_over_the_limit_fails_before_it_is_read(self) -> None:
        """Content-Length over max_body_size: MessageTooBigError naming the request."""
        rest, _, _ = client(Script(html(200, "x" * 5000)), max_body_size=1024)
        error = self.failureResultOf(rest.request("GET", "/api/v3/depth"), MessageTooBigError)
        self.assertEqual(
            str(error.value),
            "GET /api/v3/depth: response body of 5000 bytes (Content-Length) over the "
            "1024-byte limit",
        )

    def test_a_streamed_body_fails_as_it_passes_the_limit_and_is_hung_up_on(self) -> None:
        """A chunked body with no length: refused once 1024 bytes have passed, without
        waiting for its end, and the server sees the connection closed."""
        script = Script().hang("/api/v3/depth")
        rest, _, stub = client(script, max_body_size=1024)
        d = rest.request("GET", "/api/v3/depth")
        (request,) = script.pending
        closed: list[object] = []
        request.notifyFinish().addBoth(closed.append)
        request.write(b"[" + b"0," * 300)
        stub.flush()
        self.assertNoResult(d)
        request.write(b"0," * 300)
        stub.flush()
        error = self.failureResultOf(d, MessageTooBigError).value
        self.assertEqual(str(error), "GET /api/v3/depth: response body over the 1024-byte limit")
        self.assertEqual(len(closed), 1)

    def test_the_timeout_covers_a_body_that_trickles(self) -> None:
        """Headers and a first chunk in time, the rest never: RequestTimeoutError at the
        request's timeout, counted from the send, and the connection is closed."""
        script = Script().hang("/api/v3/depth")
        rest, clock, stub = client(script, timeout=4)
        d = rest.request("GET", "/api/v3/depth")
        (request,) = script.pending
        closed: list[object] = []
        request.notifyFinish().addBoth(closed.append)
        clock.advance(1)
        request.write(b'{"bids": [')
        stub.flush()
        clock.advance(2.9)
        self.assertNoResult(d)
        clock.advance(0.1)
        self.failureResultOf(d, RequestTimeoutError)
        self.assertEqual(clock.getDelayedCalls(), [])
        stub.flush()
        self.assertEqual(len(closed), 1)  # hung up, not left open for the server to fill

    def test_an_error_page_is_excerpted_from_its_start_only(self) -> None:
        """A 5 MB error page: the excerpt reads its first few KB, not the whole page."""
        import binance_twisted._core.bodies as bodies

        seen: list[int] = []
        original = bodies.html.unescape
        self.patch(bodies.html, "unescape", lambda text: seen.append(len(text)) or original(text))
        rest, _, _ = client(Script(html(502, "<p>Bad gateway</p>" + "x" * 5_000_000)))
        error = self.failureResultOf(rest.request("GET", "/api/v3/depth"), BinanceAPIError)
        self.assertTrue(error.value.msg.startswith("HTTP 502: Bad gateway"))
        self.assertLessEqual(max(seen), 4096)

    def test_max_body_size_is_checked_in_the_constructor(self) -> None:
        for bad in (0, 1023, 2.5e6, "32MiB", True):
            with self.assertRaises(ValueError) as caught:
                RestClient(Clock(), BASE, max_body_size=bad)  # type: ignore[arg-type]
            self.assertIn("max_body_size", str(caught.exception))

    def test_invalid_timestamp_resyncs_once_and_retries(self) -> None:
        """-1021 on a SIGNED request → one sync_time, then one retry with the new offset."""
        script = Script()
        script.on(
            "/api/v3/account",
            reply(400, {"code": -1021, "msg": "Timestamp outside"}),
            reply(200, {"balances": []}),
        )
        script.on("/api/v3/time", reply(200, {"serverTime": T0_MS + 2500}))
        rest, _, _ = client(script, api_key=API_KEY, signer=load_signer(SECRET))
        d = rest.request("GET", "/api/v3/account", security="SIGNED")
        self.assertEqual(self.successResultOf(d), {"balances": []})
        self.assertEqual(script.paths(), ["/api/v3/account", "/api/v3/time", "/api/v3/account"])
        first, retry = (dict(script.seen[i].params()) for i in (0, 2))
        self.assertEqual(first["timestamp"], str(T0_MS))
        self.assertEqual(retry["timestamp"], str(T0_MS + 2500))
        payload = script.seen[2].query.rsplit("&signature=", 1)[0]
        self.assertEqual(retry["signature"], hmac_hex(payload))
        self.assertEqual(rest.time_offset, 2500.0)

    def test_second_invalid_timestamp_raises(self) -> None:
        """A second -1021 after the resync is raised; no further request is made."""
        script = Script()
        script.on("/api/v3/account", reply(400, {"code": -1021, "msg": "Timestamp outside"}))
        script.on("/api/v3/time", reply(200, {"serverTime": T0_MS}))
        rest, _, _ = client(script, api_key=API_KEY, signer=load_signer(SECRET))
        d = rest.request("GET", "/api/v3/account", security="SIGNED")
        self.assertEqual(self.failureResultOf(d, BinanceAPIError).value.code, -1021)
        self.assertEqual(script.paths(), ["/api/v3/account", "/api/v3/time", "/api/v3/account"])

    def test_invalid_timestamp_on_unsigned_request_is_not_retried(self) -> None:
        """Only SIGNED requests are re-synced and retried on -1021."""
        script = Script(reply(400, {"code": -1021, "msg": "Timestamp outside"}))
        rest, _, _ = client(script, api_key=API_KEY)
        d = rest.request("PUT", "/fapi/v1/listenKey", security="API_KEY")
        self.assertEqual(self.failureResultOf(d, BinanceAPIError).value.code, -1021)
        self.assertEqual(len(script.seen), 1)

    def test_timeout_names_the_request(self) -> None:
        """No answer within ``timeout`` → RequestTimeoutError naming the request and the limit."""
        script = Script().hang("/api/v3/depth")
        rest, clock, _ = client(script, timeout=4)
        d = rest.request("GET", "/api/v3/depth", [("symbol", "BNBBTC")])
        clock.advance(3.9)
        self.assertNoResult(d)
        clock.advance(0.1)
        error = self.failureResultOf(d, RequestTimeoutError).value
        self.assertIsInstance(error, BinanceTwistedError)
        self.assertIsInstance(error, TimeoutError)
        self.assertEqual((error.request, error.timeout), ("GET /api/v3/depth", 4.0))
        self.assertIn("GET /api/v3/depth: no complete response within 4 s", str(error))
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_cancel_by_the_caller_is_not_a_timeout(self) -> None:
        """A caller's cancel() before the timeout stays a CancelledError."""
        script = Script().hang("/api/v3/depth")
        rest, clock, _ = client(script)
        d = rest.request("GET", "/api/v3/depth")
        clock.advance(1)
        d.cancel()
        self.failureResultOf(d, CancelledError)
        self.assertEqual(clock.getDelayedCalls(), [])


class SecrecyTests(SynchronousTestCase):
    """No API key, secret, signature or listen key in any exception text or log event."""

    def setUp(self) -> None:
        self.events: list[dict[str, Any]] = []
        globalLogPublisher.addObserver(self.events.append)
        self.addCleanup(globalLogPublisher.removeObserver, self.events.append)

    def test_no_secret_in_errors_or_logs(self) -> None:
        """Every error case: str/repr of the exception and all log text are free of secrets."""
        echo = f"Illegal characters found in parameter 'listenKey': {LISTEN_KEY}"
        cases: list[tuple[Reply | None, Callable[[RestClient], Any], float]] = [
            (
                reply(400, {"code": -1125, "msg": "This listenKey does not exist."}),
                self.keepalive,
                0,
            ),
            (reply(400, {"code": -1100, "msg": echo}), self.keepalive, 0),
            (html(500, f"<p>PUT /fapi/v1/listenKey?listenKey={LISTEN_KEY}</p>"), self.keepalive, 0),
            (html(410, GONE_PAGE), self.signed, 0),
            (
                reply(429, {"code": -1003, "msg": "Too much"}, **{"Retry-After": "30"}),
                self.signed,
                0,
            ),
            (
                reply(418, {"code": -1003, "msg": "Banned"}, **{"Retry-After": "30"}),
                self.keepalive,
                0,
            ),
            (reply(400, {"code": -1021, "msg": "Timestamp outside"}), self.signed, 0),
            (html(200, f"not json {LISTEN_KEY}"), self.keepalive, 0),
            (None, self.keepalive, 10),  # timeout
        ]
        errors: list[BaseException] = []
        signatures: list[str] = []
        for answer, call, advance in cases:
            script = Script(answer) if answer is not None else Script().hang("/fapi/v1/listenKey")
            script.on("/api/v3/time", reply(200, {"serverTime": T0_MS}))
            rest, clock, _ = client(script, api_key=API_KEY, signer=load_signer(SECRET))
            d = call(rest)
            clock.advance(advance)
            errors.append(self.failureResultOf(d).value)
            if answer is not None and answer[0] in (429, 418):
                errors.append(self.failureResultOf(call(rest)).value)  # failing fast
            signatures += [dict(s.params()).get("signature", "") for s in script.seen]
        bare, _, _ = client(Script())
        for call in (self.keepalive, self.signed):
            try:
                call(bare)
            except MissingCredentialsError as error:
                errors.append(error)
        self.assertEqual(len(errors), len(cases) + 4)
        secrets = [API_KEY, SECRET, LISTEN_KEY, *filter(None, signatures)]
        self.assertGreater(len(secrets), 3)
        texts = [text for error in errors for text in (str(error), repr(error))]
        texts += [formatEvent(event) for event in self.events]
        texts += [repr(value) for event in self.events for value in event.values()]
        self.assertTrue(self.events)
        for text in texts:
            for secret in secrets:
                self.assertNotIn(secret, text)
        for error in errors:
            request = getattr(error, "request", None)
            if request is not None:
                self.assertNotIn("?", request)
                self.assertRegex(request, r"^(GET|POST|PUT|DELETE) /[\w/.-]+$")

    @staticmethod
    def keepalive(rest: RestClient) -> Deferred[None]:
        return ListenKeys(rest, "futures").keepalive(LISTEN_KEY)

    @staticmethod
    def signed(rest: RestClient) -> Deferred[Any]:
        return rest.request(
            "GET", "/api/v3/account", [("listenKey", LISTEN_KEY)], security="SIGNED"
        )


class TimeTests(SynchronousTestCase):
    def test_offset_is_server_time_minus_local_midpoint(self) -> None:
        """offset = serverTime - midpoint of local send/receive; later timestamps include it."""
        script = Script().hang("/api/v3/time")
        rest, clock, stub = client(script, api_key=API_KEY, signer=load_signer(SECRET))
        self.assertEqual(rest.time_offset, 0.0)
        d = rest.sync_time()
        clock.advance(0.2)  # answered 200 ms later: midpoint T0 + 0.1 s
        [pending] = script.pending
        pending.write(dumps({"serverTime": T0_MS + 100 + 750}))
        pending.finish()
        stub.flush()
        self.assertEqual(self.successResultOf(d), 750.0)
        self.assertEqual(rest.time_offset, 750.0)
        rest.request("GET", "/api/v3/account", security="SIGNED")
        self.assertEqual(dict(script.seen[-1].params())["timestamp"], str(T0_MS + 200 + 750))

    def test_sync_time_uses_time_path(self) -> None:
        """sync_time asks ``time_path`` (e.g. the futures /fapi/v1/time)."""
        script = Script(reply(200, {"serverTime": T0_MS - 40}))
        rest, _, _ = client(script, time_path="/fapi/v1/time")
        self.assertEqual(self.successResultOf(rest.sync_time()), -40.0)
        self.assertEqual(script.paths(), ["/fapi/v1/time"])

    def test_sync_time_refuses_an_answer_without_server_time(self) -> None:
        """A 2xx without a numeric serverTime fails and leaves the offset alone."""
        rest, _, _ = client(Script(reply(200, {"serverTime": "soon"})))
        self.failureResultOf(rest.sync_time(), BinanceAPIError)
        self.assertEqual(rest.time_offset, 0.0)


EXPECTED_HOSTS = {
    "futures": "fapi.binance.com",
    "coin_futures": "dapi.binance.com",
    "portfolio_margin": "papi.binance.com",
    "margin_risk": "api.binance.com",
    "us_spot": "api.binance.us",
}


class ListenKeyTests(SynchronousTestCase):
    def _keys(self, product: str, script: Script) -> ListenKeys:
        endpoints = Endpoints.for_tld("us" if product == "us_spot" else "com")
        return ListenKeys.for_endpoints(
            Clock(), endpoints, product, api_key=API_KEY, http=StubTreq(script)
        )

    def test_lifecycle_for_every_product(self) -> None:
        """start/keepalive/close: POST/PUT/DELETE on the product's path and host, with the key."""
        self.assertEqual(set(LISTEN_KEY_PRODUCTS), set(EXPECTED_HOSTS))
        for name, product in LISTEN_KEY_PRODUCTS.items():
            script = Script(reply(200, {"listenKey": LISTEN_KEY}))
            keys = self._keys(name, script)
            self.assertEqual(self.successResultOf(keys.start()), LISTEN_KEY)
            script.default = [reply(200)]
            self.assertIsNone(self.successResultOf(keys.keepalive(LISTEN_KEY)))
            self.assertIsNone(self.successResultOf(keys.close(LISTEN_KEY)))
            self.assertEqual(
                [(s.method, s.path, s.query) for s in script.seen],
                [
                    ("POST", product.path, ""),
                    ("PUT", product.path, f"listenKey={LISTEN_KEY}"),
                    ("DELETE", product.path, f"listenKey={LISTEN_KEY}"),
                ],
                name,
            )
            for seen in script.seen:
                self.assertEqual(seen.headers["x-mbx-apikey"], API_KEY, name)
                self.assertEqual(seen.host, EXPECTED_HOSTS[name], name)
            self.assertNotIn(LISTEN_KEY, repr(keys))
            self.assertNotIn(API_KEY, repr(keys))

    def test_products_and_paths(self) -> None:
        """The catalogue matches binance-platform.md §3.6."""
        self.assertEqual(
            {name: (p.path, p.endpoint_field) for name, p in LISTEN_KEY_PRODUCTS.items()},
            {
                "futures": ("/fapi/v1/listenKey", "futures_rest_url"),
                "coin_futures": ("/dapi/v1/listenKey", "coin_futures_rest_url"),
                "portfolio_margin": ("/papi/v1/listenKey", "portfolio_margin_rest_url"),
                "margin_risk": ("/sapi/v1/margin/listen-key", "rest_url"),
                "us_spot": ("/api/v3/userDataStream", "rest_url"),
            },
        )

    def test_gone_listen_key_surfaces_as_code_1125(self) -> None:
        """A keepalive for a vanished key fails with BinanceAPIError code -1125."""
        script = Script(reply(400, {"code": -1125, "msg": "This listenKey does not exist."}))
        error = self.failureResultOf(
            self._keys("futures", script).keepalive(LISTEN_KEY), BinanceAPIError
        ).value
        self.assertEqual((error.code, error.msg), (-1125, "This listenKey does not exist."))

    def test_start_without_a_key_in_the_answer_fails(self) -> None:
        """A 2xx answer without listenKey is an error, not a None key."""
        script = Script(reply(200, {}))
        self.failureResultOf(self._keys("futures", script).start(), BinanceAPIError)

    def test_us_spot_is_refused_on_binance_com(self) -> None:
        """us_spot on binance.com explains the 2026-02-20 removal and points to the WS API."""
        with self.assertRaises(ValueError) as caught:
            ListenKeys.for_endpoints(Clock(), Endpoints.production(), "us_spot", api_key=API_KEY)
        message = str(caught.exception)
        for part in ("'binance.com'", "2026-02-20", "WebSocket API"):
            self.assertIn(part, message)

    def test_futures_is_refused_on_binance_us(self) -> None:
        """An environment without the product's REST host is refused, naming both."""
        with self.assertRaises(ValueError) as caught:
            ListenKeys.for_endpoints(Clock(), Endpoints.for_tld("us"), "futures", api_key=API_KEY)
        self.assertIn("'binance.us'", str(caught.exception))
        self.assertIn("'futures'", str(caught.exception))

    def test_unknown_product_lists_the_known_ones(self) -> None:
        """An unknown product raises ValueError listing every product."""
        rest, _, _ = client(Script(), api_key=API_KEY)
        with self.assertRaises(ValueError) as caught:
            ListenKeys(rest, "spot")
        for name in LISTEN_KEY_PRODUCTS:
            self.assertIn(repr(name), str(caught.exception))

    def test_keepalive_needs_a_key_string(self) -> None:
        """keepalive(None) is refused before any request."""
        script = Script()
        with self.assertRaisesRegex(ValueError, "listen key"):
            self._keys("futures", script).keepalive(None)  # type: ignore[arg-type]
        self.assertEqual(script.seen, [])


class ListenTokenTests(SynchronousTestCase):
    def _token(self, **kwargs: Any) -> tuple[tuple[str, int], Seen]:
        script = Script(reply(200, {"token": "tok+en/x", "expirationTime": T0_MS + 3_600_000}))
        rest, _, _ = client(script, api_key=API_KEY, signer=load_signer(SECRET))
        result = self.successResultOf(create_listen_token(rest, **kwargs))
        [seen] = script.seen
        self.assertEqual((seen.method, seen.path), ("POST", "/sapi/v1/userListenToken"))
        self.assertEqual(seen.headers["x-mbx-apikey"], API_KEY)
        payload, _, signature = seen.query.rpartition("&signature=")
        self.assertEqual(signature, hmac_hex(payload))
        return result, seen

    def test_cross_margin_token(self) -> None:
        """Cross margin: a signed POST with only the timing params; (token, expiry) back."""
        result, seen = self._token()
        self.assertEqual(result, ("tok+en/x", T0_MS + 3_600_000))
        self.assertEqual([name for name, _ in seen.params()], ["timestamp", "signature"])

    def test_isolated_margin_token(self) -> None:
        """Isolated margin: isIsolated=true and the symbol, then validity, then timing."""
        _, seen = self._token(symbol="bnbusdt", validity_ms=3_600_000)
        self.assertTrue(
            seen.query.startswith(
                f"isIsolated=true&symbol=BNBUSDT&validity=3600000&timestamp={T0_MS}&signature="
            )
        )

    def test_bad_arguments(self) -> None:
        """A malformed symbol or a validity beyond 24 h is refused before I/O."""
        script = Script()
        rest, _, _ = client(script, api_key=API_KEY, signer=load_signer(SECRET))
        with self.assertRaisesRegex(ValueError, "symbol"):
            create_listen_token(rest, symbol="BNB/USDT")
        with self.assertRaisesRegex(ValueError, "validity_ms"):
            create_listen_token(rest, validity_ms=24 * 3_600_000 + 1)
        self.assertEqual(script.seen, [])
