"""FakeBinance's accounts: listen keys, listen tokens, signatures, the WebSocket API, faults.

Signatures are made here with ``hmac`` and ``cryptography`` directly (never with the client
library's signing code), so these tests pin the fake's verification to Binance's documented
rules and its published test vectors. Everything runs over real sockets on 127.0.0.1.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import itertools
from typing import Any
from urllib.parse import quote, urlencode

import treq
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from twisted.internet import reactor
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.client import Agent, HTTPConnectionPool

from binance_twisted._json import dumps, loads
from binance_twisted.testing import FakeAccount, FakeBinance
from binance_twisted.testing._auth import check_timestamp, rest_payload, wsapi_payload
from binance_twisted.testing._errors import ApiError
from binance_twisted.testing._names import parse_connection_url
from tests.test_fake import Client, FakeTestCase, asynchronous, kinds
from tests.vectors import API_KEY as DOC_API_KEY, REST_SIGNATURE, SECRET as DOC_SECRET, WS_SIGNATURE

# Binance's published example key and secret (documentation values, not credentials).
RSA_KEY = "rsaKey" + "R" * 58
ED_KEY = "edKey" + "E" * 59
GONE_TITLE = b"<html>\r\n<head><title>410 Gone</title></head>"


@functools.cache
def rsa_private_key() -> rsa.RSAPrivateKey:
    """One RSA key for the whole module (generating one takes a moment)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def ed25519_private_key() -> ed25519.Ed25519PrivateKey:
    """One Ed25519 key for the whole module."""
    return ed25519.Ed25519PrivateKey.generate()


def public_pem(key: Any) -> bytes:
    """The SubjectPublicKeyInfo PEM of a private key's public half."""
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def sign(api_key: str, payload: bytes) -> str:
    """Sign as the client would with the key type of one of this module's API keys."""
    if api_key == RSA_KEY:
        raw = rsa_private_key().sign(payload, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(raw).decode()
    if api_key == ED_KEY:
        return base64.b64encode(ed25519_private_key().sign(payload)).decode()
    return hmac.new(DOC_SECRET.encode(), payload, hashlib.sha256).hexdigest()


def ws_signed(api_key: str, **params: Any) -> dict[str, Any]:
    """WebSocket API params with apiKey, timestamp and a signature over the sorted params."""
    params = {"apiKey": api_key, "timestamp": now_ms(), **params}
    text = {
        k: ("true" if v is True else "false" if v is False else str(v)) for k, v in params.items()
    }
    payload = "&".join(f"{k}={text[k]}" for k in sorted(text)).encode()
    return {**params, "signature": sign(api_key, payload)}


def now_ms() -> int:
    """The client's clock: the reactor's (the fake's clock before any skew), rounded as it."""
    return round(reactor.seconds() * 1000)


class PureTests(SynchronousTestCase):
    def test_documented_hmac_vectors(self) -> None:
        """The fake's payloads reproduce Binance's two published HMAC test vectors."""
        params = {
            "symbol": "BTCUSDT",
            "side": "SELL",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "quantity": "0.01000000",
            "price": "52000.00",
            "recvWindow": 100,
            "timestamp": 1645423376532,
            "apiKey": DOC_API_KEY,
            "signature": "ignored",
        }
        ws = hmac.new(DOC_SECRET.encode(), wsapi_payload(params), hashlib.sha256).hexdigest()
        self.assertEqual(ws, WS_SIGNATURE)
        query = (
            b"symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
            b"&recvWindow=5000&timestamp=1499827319559"
        )
        payload, signature = rest_payload(query + b"&signature=ab%2Bc", b"")
        self.assertEqual((payload, signature), (query, "ab+c"))
        rest = hmac.new(DOC_SECRET.encode(), payload, hashlib.sha256).hexdigest()
        self.assertEqual(rest, REST_SIGNATURE)

    def test_payload_details(self) -> None:
        """Booleans are true/false, the body follows the query, an unencoded + is a space."""
        self.assertEqual(wsapi_payload({"b": True, "a": False}), b"a=false&b=true")
        self.assertEqual(rest_payload(b"a=1", b"b=2&signature=x+y"), (b"a=1b=2", "x y"))
        self.assertEqual(rest_payload(b"", b""), (b"", None))

    def test_timestamps(self) -> None:
        """1000 ms ahead or older than recvWindow is -1021; bad values -1100/-1102/-1131."""

        server = 1_700_000_000_000

        def code(delta: int | None = 0, **params: Any) -> int | None:
            if delta is not None:
                params.setdefault("timestamp", server + delta)
            try:
                check_timestamp(params, server)
            except ApiError as error:
                return error.code
            return None

        self.assertIsNone(code(-5000))
        self.assertIsNone(code(999))
        self.assertIsNone(code(None, timestamp=server * 1000 + 999_000))  # µs
        self.assertIsNone(code(-1200, recvWindow="1200.5"))
        self.assertEqual(code(1000), -1021)
        self.assertEqual(code(-5001), -1021)
        self.assertIsNone(code(-60_000, recvWindow=60000))
        self.assertEqual(code(0, recvWindow=60001), -1131)
        self.assertEqual(code(None, timestamp="12a"), -1100)
        self.assertEqual(code(None), -1102)

    def test_listen_key_urls(self) -> None:
        """Alphanumeric names and listenKey= parameters are listen keys; events= a filter."""
        url = parse_connection_url("/private/stream?listenKey=k1,k2&events=A,B&listenKey=k3")
        self.assertEqual((url.route, url.combined, url.streams), ("private", True, []))
        self.assertEqual((url.listen_keys, url.events), (["k1", "k2", "k3"], frozenset("AB")))
        url = parse_connection_url("/stream?streams=abc123/btcusdt@trade")
        self.assertEqual((url.listen_keys, url.streams), (["abc123"], ["btcusdt@trade"]))
        self.assertEqual(parse_connection_url("/pm/ws/abc").listen_keys, ["abc"])


class AccountTestCase(FakeTestCase):
    """A fake with three accounts (HMAC, RSA, Ed25519) and helpers for REST and WS API."""

    options: dict[str, Any] = {"event_interval": None, "max_incoming_rate": None}

    async def start(self, **options: Any) -> FakeBinance:
        fake = await super().start(**options)
        self.hmac = fake.add_account(DOC_API_KEY, secret=DOC_SECRET)
        self.rsa = fake.add_account(RSA_KEY, rsa_public_key_pem=public_pem(rsa_private_key()))
        self.ed = fake.add_account(ED_KEY, ed25519_public_key_pem=public_pem(ed25519_private_key()))
        self._ids = itertools.count(1)
        return fake

    async def http(
        self,
        method: str,
        path: str,
        query: str = "",
        *,
        key: str | None = None,
        body: str = "",
    ) -> tuple[int, dict[bytes, list[bytes]], bytes]:
        """``(status, headers, body)`` of one REST request."""
        pool = HTTPConnectionPool(reactor)
        self.addCleanup(pool.closeCachedConnections)
        client = treq.client.HTTPClient(Agent(reactor, pool=pool))
        headers = {"X-MBX-APIKEY": key} if key else {}
        if body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        url = self.fake.endpoints.rest_url + path + (f"?{query}" if query else "")
        response = await client.request(method, url, headers=headers, data=body.encode() or None)
        content = await response.content()
        return response.code, dict(response.headers.getAllRawHeaders()), content

    async def rest(self, method: str, path: str, query: str = "", **kw: Any) -> tuple[int, Any]:
        """``(status, decoded JSON)`` of one REST request."""
        status, _, content = await self.http(method, path, query, **kw)
        return status, loads(content)

    def now_ms(self) -> int:
        """The client's clock: the fake's, in ms (the reactor's unless the test gave a clock)."""
        return round(self.fake.clock.seconds() * 1000)

    async def signed(self, method: str, path: str, key: str, **params: Any) -> tuple[int, Any]:
        """A SIGNED REST request: the signature goes last, percent-encoded."""
        query = urlencode({**params, "timestamp": params.get("timestamp", self.now_ms())})
        signature = quote(sign(key, query.encode()), safe="")
        return await self.rest(method, path, f"{query}&signature={signature}", key=key)

    async def wsapi(self, path: str = "/ws-api/v3") -> Client:
        """A connected WebSocket API client."""
        return await self.open(path)

    def send(self, client: Client, method: str, params: dict[str, Any] | None = None) -> int:
        """Send one request; returns its id."""
        request_id = next(self._ids)
        message: dict[str, Any] = {"id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        client.sendMessage(dumps(message))
        return request_id

    async def response(self, client: Client, request_id: int) -> dict[str, Any]:
        """Wait for the response to ``request_id``."""

        def found() -> Any:
            return [m for m in client.json() if m.get("id") == request_id and "status" in m]

        return (await self.fake.wait_for(found))[0]

    async def call(
        self, client: Client, method: str, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Send a request and return its response."""
        return await self.response(client, self.send(client, method, params))

    def events(self, client: Client) -> list[dict[str, Any]]:
        """The event frames a client received, in order."""
        return [m for m in client.json() if "event" in m]

    async def listen_key(self, account: FakeAccount, path: str = "/fapi/v1/listenKey") -> str:
        status, body = await self.rest("POST", path, key=account.api_key)
        self.assertEqual(status, 200, body)
        return str(body["listenKey"])


class ListenKeyTests(AccountTestCase):
    @asynchronous
    async def test_lifecycle(self) -> None:
        """POST creates (again: same key), PUT extends, events flow, DELETE ends; then -1125."""
        fake = await self.start()
        key = await self.listen_key(self.hmac)
        self.assertRegex(key, r"^[A-Za-z0-9]{60}$")
        self.assertEqual(await self.listen_key(self.hmac), key)
        self.assertEqual(self.hmac.listen_key("futures"), key)
        self.assertEqual(await self.rest("PUT", "/fapi/v1/listenKey", key=DOC_API_KEY), (200, {}))
        client = await self.open(f"/private/ws?listenKey={key}")
        self.assertEqual(fake.connections[0].listen_keys, [key])
        update = self.hmac.order_trade_update(X="FILLED")
        self.assertEqual(self.hmac.emit("futures", update), 1)
        self.assertEqual(await self.reply(client), update)
        self.assertEqual(update["o"]["X"], "FILLED")
        gone = await self.rest("DELETE", "/fapi/v1/listenKey", f"listenKey={key}", key=DOC_API_KEY)
        self.assertEqual(gone, (200, {}))
        await client.lost
        invalid = (400, {"code": -1125, "msg": "This listenKey does not exist."})
        self.assertEqual(await self.rest("PUT", "/fapi/v1/listenKey", key=DOC_API_KEY), invalid)
        self.assertEqual(await self.rest("DELETE", "/fapi/v1/listenKey", key=DOC_API_KEY), invalid)
        self.assertNotEqual(await self.listen_key(self.hmac), key)

    @asynchronous
    async def test_expiry_sends_listen_key_expired_then_closes(self) -> None:
        """When the 60 min validity runs out, connections get listenKeyExpired and close."""
        fake = await self.start(clock=self.clock, ping_interval=None)
        key = await self.listen_key(self.rsa)
        client = await self.open(f"/private/ws?listenKey={key}")
        self.clock.advance(3599)
        self.assertEqual((self.rsa.listen_key("futures"), len(fake.connections)), (key, 1))
        self.clock.advance(1)
        await client.lost
        (event,) = client.json()
        self.assertEqual(sorted(event), ["E", "e", "listenKey"])
        self.assertEqual((event["e"], event["listenKey"]), ("listenKeyExpired", key))
        self.assertEqual(client.close_code, 1000)
        self.assertEqual(len(kinds(fake, "listen-key-expired")), 1)
        status, body = await self.rest("PUT", "/fapi/v1/listenKey", key=RSA_KEY)
        self.assertEqual((status, body["code"]), (400, -1125))

    @asynchronous
    async def test_put_extends_validity(self) -> None:
        """A PUT restarts the validity, so the key outlives its first deadline."""
        await self.start(clock=self.clock)
        key = await self.listen_key(self.hmac)
        self.clock.advance(3000)
        await self.rest("PUT", "/fapi/v1/listenKey", key=DOC_API_KEY)
        self.clock.advance(3000)
        self.assertEqual(self.hmac.listen_key("futures"), key)
        self.clock.advance(600)
        self.assertIsNone(self.hmac.listen_key("futures"))

    @asynchronous
    async def test_forced_expiry_and_combined_filtered_stream(self) -> None:
        """/private/stream wraps events as {stream: key}; events= filters; expire_listen_key."""
        fake = await self.start()
        key = await self.listen_key(self.hmac)
        client = await self.open(f"/private/stream?listenKey={key}&events=ACCOUNT_UPDATE")
        self.assertEqual(self.hmac.emit("futures", self.hmac.order_trade_update()), 0)
        update = self.hmac.account_update(balances={"USDT": "5.00000000"})
        self.assertEqual(self.hmac.emit("futures", update), 1)
        self.assertEqual(await self.reply(client), {"stream": key, "data": update})
        self.assertEqual(
            update["a"]["B"][0], {"a": "USDT", "wb": "5.00000000", "cw": "5.00000000", "bc": "0"}
        )
        self.assertEqual(fake.expire_listen_key(key), 1)
        await client.lost
        self.assertEqual(client.json()[1]["data"]["e"], "listenKeyExpired")

    @asynchronous
    async def test_products_paths_and_refusals(self) -> None:
        """Each product's key works on its own path only; unknown keys are refused with 400."""
        fake = await self.start()
        coin = await self.listen_key(self.hmac, "/dapi/v1/listenKey")
        pm = await self.listen_key(self.hmac, "/papi/v1/listenKey")
        risk = await self.listen_key(self.hmac, "/sapi/v1/margin/listen-key")
        futures = await self.listen_key(self.hmac)
        clients = {
            "coin_futures": await self.open(f"/ws/{coin}"),
            "portfolio_margin": await self.open(f"/pm/ws/{pm}"),
            "margin_risk": await self.open(f"/stream?streams={risk}"),
        }
        for product in clients:
            self.assertEqual(self.hmac.emit(product, {"e": product, "E": 1}), 1)
        self.assertEqual(await self.reply(clients["coin_futures"]), {"e": "coin_futures", "E": 1})
        self.assertEqual((await self.reply(clients["portfolio_margin"]))["e"], "portfolio_margin")
        risk_event = await self.reply(clients["margin_risk"])
        self.assertEqual(risk_event, {"stream": risk, "data": {"e": "margin_risk", "E": 1}})
        for path in [
            f"/ws/{futures}",
            f"/private/ws?listenKey={coin}",
            f"/pm/ws/{risk}",
            "/ws/" + "x" * 60,
        ]:
            client = await self.connect(path)
            await client.lost
            self.assertFalse(client.opened.called, path)
        self.assertEqual({e.detail["status"] for e in kinds(fake, "refused")}, {400})
        missing = await self.rest("PUT", "/sapi/v1/margin/listen-key", key=DOC_API_KEY)
        self.assertEqual(missing[1]["code"], -1102)

    @asynchronous
    async def test_api_key_errors(self) -> None:
        """No key is -2014, an unknown key or one without the permission -2015 (HTTP 401)."""
        fake = await self.start()
        fake.add_account("spotOnly", secret="s", permissions=("SPOT",))
        self.assertEqual(
            await self.rest("POST", "/fapi/v1/listenKey"),
            (401, {"code": -2014, "msg": "API-key format invalid."}),
        )
        rejected = (401, {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."})
        self.assertEqual(await self.rest("POST", "/fapi/v1/listenKey", key="nobody"), rejected)
        self.assertEqual(await self.rest("POST", "/fapi/v1/listenKey", key="spotOnly"), rejected)

    @asynchronous
    async def test_removed_endpoints_are_gone(self) -> None:
        """Spot and margin listen-key endpoints and /api/v1 answer 410 with nginx's HTML."""
        await self.start()
        for method, path in [
            ("POST", "/api/v3/userDataStream"),
            ("PUT", "/api/v3/userDataStream"),
            ("DELETE", "/api/v3/userDataStream"),
            ("POST", "/sapi/v1/userDataStream"),
            ("POST", "/sapi/v1/userDataStream/isolated"),
            ("GET", "/api/v1/ping"),
            ("POST", "/api/v1/userDataStream"),
        ]:
            status, headers, body = await self.http(method, path, key=DOC_API_KEY)
            self.assertEqual(status, 410, path)
            self.assertTrue(body.startswith(GONE_TITLE), body)
            self.assertIn(b"<center>nginx</center>", body)
            self.assertEqual(headers[b"Content-Type"], [b"text/html"])

    @asynchronous
    async def test_binance_us_spot_listen_keys(self) -> None:
        """With us_listen_keys, Spot keys work over REST and /ws/<key> carries spot events."""
        await self.start(us_listen_keys=True)
        key = await self.listen_key(self.hmac, "/api/v3/userDataStream")
        put = await self.rest("PUT", "/api/v3/userDataStream", f"listenKey={key}", key=DOC_API_KEY)
        self.assertEqual(put, (200, {}))
        status, body = await self.rest("PUT", "/api/v3/userDataStream", key=DOC_API_KEY)
        self.assertEqual((status, body["code"]), (400, -1102))
        client = await self.open(f"/ws/{key}")
        report = self.hmac.execution_report(s="ETHUSDT", X="FILLED")
        self.assertEqual(self.hmac.emit("spot", report), 1)
        self.assertEqual(await self.reply(client), report)


class RestSigningTests(AccountTestCase):
    @asynchronous
    async def test_listen_token_with_each_key_type(self) -> None:
        """userListenToken accepts valid HMAC, RSA and Ed25519 signatures."""
        await self.start()
        for key in (DOC_API_KEY, RSA_KEY, ED_KEY):
            before = now_ms()
            status, body = await self.signed("POST", "/sapi/v1/userListenToken", key)
            self.assertEqual(status, 200, (key[:6], body))
            self.assertEqual(sorted(body), ["expirationTime", "token"])
            self.assertTrue(0 <= body["expirationTime"] - before - 86_400_000 < 5000, body)

    @asynchronous
    async def test_bad_signatures(self) -> None:
        """A wrong or tampered signature, or an unencoded base64 '+', is -1022."""
        await self.start()
        invalid = (400, {"code": -1022, "msg": "Signature for this request is not valid."})
        query = urlencode({"timestamp": now_ms()})
        wrong = hmac.new(b"other", query.encode(), hashlib.sha256).hexdigest()
        path = "/sapi/v1/userListenToken"
        self.assertEqual(
            await self.rest("POST", path, f"{query}&signature={wrong}", key=DOC_API_KEY), invalid
        )
        signature = sign(DOC_API_KEY, query.encode()).upper()  # hex is case-insensitive
        ok = await self.rest("POST", path, f"{query}&signature={signature}", key=DOC_API_KEY)
        self.assertEqual(ok[0], 200)
        tampered = f"{query}&validity=1000&signature={signature}"
        self.assertEqual(await self.rest("POST", path, tampered, key=DOC_API_KEY), invalid)
        for _ in range(20):  # find an Ed25519 signature with a '+' and send it unencoded
            query = urlencode({"timestamp": now_ms(), "validity": 1000 + _})
            raw = sign(ED_KEY, query.encode())
            if "+" in raw:
                break
        self.assertIn("+", raw)
        sent = await self.rest("POST", path, f"{query}&signature={raw}", key=ED_KEY)
        self.assertEqual(sent, invalid)
        missing = await self.rest("POST", path, query, key=ED_KEY)
        self.assertEqual(missing[1]["code"], -1102)

    @asynchronous
    async def test_signature_in_the_body(self) -> None:
        """Parameters and signature may travel in a form body: payload = raw query + raw body."""
        await self.start()
        query = urlencode({"isIsolated": "TRUE", "note": "a b/c+d"})  # signed percent-encoded
        self.assertIn("a+b%2Fc%2Bd", query)
        body = urlencode({"symbol": "BTCUSDT", "timestamp": now_ms()})
        signature = sign(RSA_KEY, (query + body).encode())
        status, token = await self.rest(
            "POST",
            "/sapi/v1/userListenToken",
            query,
            key=RSA_KEY,
            body=f"{body}&signature={quote(signature, safe='')}",
        )
        self.assertEqual(status, 200, token)
        self.assertEqual(
            self.fake._state.userdata.tokens[token["token"]].product, "isolated:BTCUSDT"
        )

    @asynchronous
    async def test_clock_skew(self) -> None:
        """server_time_offset moves serverTime; stale or early timestamps are -1021."""
        fake = await self.start()
        fake.server_time_offset = 10_000
        for path in ("/api/v3/time", "/fapi/v1/time"):
            status, body = await self.rest("GET", path)
            self.assertTrue(9_000 < body["serverTime"] - self.now_ms() <= 10_000, body)
        status, body = await self.signed("POST", "/sapi/v1/userListenToken", DOC_API_KEY)
        self.assertEqual((status, body["code"]), (400, -1021))
        self.assertIn("recvWindow", body["msg"])
        ok = await self.signed("POST", "/sapi/v1/userListenToken", DOC_API_KEY, recvWindow=20_000)
        self.assertEqual(ok[0], 200)
        fake.server_time_offset = -5_000
        status, body = await self.signed("POST", "/sapi/v1/userListenToken", DOC_API_KEY)
        self.assertEqual((status, body["code"]), (400, -1021))
        self.assertIn("1000ms ahead", body["msg"])

    @asynchronous
    async def test_listen_token_parameters(self) -> None:
        """Isolated needs a symbol (-1102); validity is at most 24 h (-1130)."""
        await self.start()
        path = "/sapi/v1/userListenToken"
        status, body = await self.signed("POST", path, DOC_API_KEY, isIsolated="TRUE")
        self.assertEqual((status, body["code"]), (400, -1102))
        self.assertIn("'symbol'", body["msg"])
        status, body = await self.signed("POST", path, DOC_API_KEY, validity=86_400_001)
        self.assertEqual((status, body["code"]), (400, -1130))
        status, body = await self.signed("POST", path, DOC_API_KEY, validity=60_000)
        self.assertTrue(0 <= body["expirationTime"] - self.now_ms() <= 60_000, body)

    @asynchronous
    async def test_rate_limit_rest(self) -> None:
        """rate_limit_rest answers the next n requests with 429, Retry-After and -1003."""
        fake = await self.start()
        fake.rate_limit_rest(2, retry_after=3)
        for _ in range(2):
            status, headers, body = await self.http("GET", "/api/v3/ping")
            self.assertEqual((status, headers[b"Retry-After"]), (429, [b"3"]))
            self.assertEqual(loads(body)["code"], -1003)
        self.assertEqual(await self.rest("GET", "/api/v3/ping"), (200, {}))
        fake.rate_limit_rest(1, status=418)
        status, body = await self.rest("GET", "/api/v3/time")
        self.assertEqual((status, body["code"]), (418, -1003))
        self.assertIn("IP banned until", body["msg"])
        statuses = [e.detail["status"] for e in kinds(fake, "http")]
        self.assertEqual(statuses, [429, 429, 200, 418])


class WsApiTests(AccountTestCase):
    @asynchronous
    async def test_ping_time_and_rate_limits(self) -> None:
        """ping is {}, time the server clock; rateLimits count REQUEST_WEIGHT unless hidden."""
        fake = await self.start()
        client = await self.wsapi()
        pong = await self.call(client, "ping")
        self.assertEqual({k: pong[k] for k in ("status", "result")}, {"status": 200, "result": {}})
        (limit,) = pong["rateLimits"]
        self.assertEqual(
            {k: limit[k] for k in ("rateLimitType", "interval", "intervalNum", "limit")},
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": 6000,
            },
        )
        quiet = await self.wsapi("/ws-fapi/v1?returnRateLimits=false")
        self.assertNotIn("rateLimits", await self.call(quiet, "ping"))
        loud = await self.call(quiet, "ping", {"returnRateLimits": True})
        # ping weighs 1; the count restarts at each minute boundary of the server clock
        self.assertIn(loud["rateLimits"][0]["count"], (limit["count"] + 2, 1, 2))
        fake.server_time_offset = 2500
        time = await self.call(client, "v3/time", {"returnRateLimits": False})
        self.assertNotIn("rateLimits", time)
        self.assertTrue(2000 < time["result"]["serverTime"] - now_ms() <= 2500, time)

    @asynchronous
    async def test_malformed_requests(self) -> None:
        """Bad JSON is -1135 with id null, no method -1102, an unknown method -1020."""
        fake = await self.start()
        client = await self.wsapi()
        client.sendMessage(b"{nope")
        bad = await self.response(client, None)  # type: ignore[arg-type]
        self.assertEqual((bad["status"], bad["error"]["code"]), (400, -1135))
        self.assertEqual((await self.call(client, "")).get("error", {}).get("code"), -1102)
        unknown = await self.call(client, "order.teleport")
        self.assertEqual(
            (unknown["status"], unknown["error"]),
            (400, {"code": -1020, "msg": "This operation is not supported."}),
        )
        self.assertEqual(len(kinds(fake, "invalid")), 3)

    @asynchronous
    async def test_subscribe_signature_with_every_key_type(self) -> None:
        """subscribe.signature works for HMAC, RSA and Ed25519; events carry subscriptionId."""
        fake = await self.start()
        client = await self.wsapi()
        ids = {}
        for account in (self.hmac, self.rsa, self.ed):
            answer = await self.call(
                client, "userDataStream.subscribe.signature", ws_signed(account.api_key)
            )
            self.assertEqual(answer["status"], 200, answer)
            ids[account.api_key] = answer["result"]["subscriptionId"]
        self.assertEqual(sorted(ids.values()), [0, 1, 2])
        position = self.rsa.outbound_account_position({"BTC": ("1.00000000", "0.50000000")})
        self.assertEqual(self.rsa.emit("spot", position), 1)
        self.assertEqual(self.rsa.emit("margin", position), 0)
        event = (await self.fake.wait_for(lambda: self.events(client)))[0]
        self.assertEqual(event, {"subscriptionId": ids[RSA_KEY], "event": position})
        self.assertEqual(position["B"], [{"a": "BTC", "f": "1.00000000", "l": "0.50000000"}])
        listed = await self.call(client, "session.subscriptions")
        self.assertEqual(listed["result"], [{"subscriptionId": n} for n in (0, 1, 2)])
        again = await self.call(client, "userDataStream.subscribe.signature", ws_signed(ED_KEY))
        self.assertEqual(
            (again["status"], again["error"]),
            (400, {"code": -2035, "msg": "User Data Stream subscription already active."}),
        )
        self.assertEqual(fake.connections[0].subscriptions[ids[ED_KEY]], (ED_KEY, "spot"))

    @asynchronous
    async def test_signature_and_timestamp_errors(self) -> None:
        """A bad signature is -1022, a skewed clock -1021, an unknown key 401 -2015."""
        fake = await self.start()
        client = await self.wsapi()
        params = ws_signed(RSA_KEY)
        params["timestamp"] += 1
        answer = await self.call(client, "userDataStream.subscribe.signature", params)
        self.assertEqual((answer["status"], answer["error"]["code"]), (400, -1022))
        fake.server_time_offset = -3000
        answer = await self.call(client, "userDataStream.subscribe.signature", ws_signed(ED_KEY))
        self.assertEqual((answer["status"], answer["error"]["code"]), (400, -1021))
        with_window = ws_signed(ED_KEY, recvWindow=10_000, timestamp=now_ms() - 4000)
        answer = await self.call(client, "userDataStream.subscribe.signature", with_window)
        self.assertEqual(answer["status"], 200, answer)
        answer = await self.call(client, "userDataStream.subscribe.signature", ws_signed("nobody"))
        self.assertEqual((answer["status"], answer["error"]["code"]), (401, -2015))
        answer = await self.call(client, "userDataStream.subscribe.signature", {"apiKey": RSA_KEY})
        self.assertEqual(answer["error"]["code"], -1102)

    @asynchronous
    async def test_logon_subscribe_logout(self) -> None:
        """Ed25519 logon, subscribe and logout (ending that subscription only); HMAC logon -1022."""
        await self.start()
        client = await self.wsapi()
        refused = await self.call(client, "session.logon", ws_signed(DOC_API_KEY))
        self.assertEqual((refused["status"], refused["error"]["code"]), (400, -1022))
        early = await self.call(client, "userDataStream.subscribe")
        self.assertEqual(early["status"], 401)
        logon = await self.call(client, "session.logon", ws_signed(ED_KEY))
        self.assertEqual(
            sorted(logon["result"]),
            sorted(
                [
                    "apiKey",
                    "authorizedSince",
                    "connectedSince",
                    "returnRateLimits",
                    "serverTime",
                    "userDataStream",
                ]
            ),
        )
        self.assertEqual(
            (logon["result"]["apiKey"], logon["result"]["userDataStream"]), (ED_KEY, False)
        )
        subscribed = await self.call(client, "userDataStream.subscribe")
        self.assertEqual(subscribed["result"], {"subscriptionId": 0})
        await self.call(client, "userDataStream.subscribe.signature", ws_signed(RSA_KEY))
        status = await self.call(client, "session.status")
        self.assertEqual(status["result"]["userDataStream"], True)
        logout = await self.call(client, "session.logout")
        self.assertEqual(
            (logout["result"]["apiKey"], logout["result"]["authorizedSince"]), (None, None)
        )
        (ended,) = await self.fake.wait_for(lambda: self.events(client))
        self.assertEqual(ended["subscriptionId"], 0)
        self.assertEqual(ended["event"]["e"], "eventStreamTerminated")
        listed = await self.call(client, "session.subscriptions")
        self.assertEqual(listed["result"], [{"subscriptionId": 1}])

    @asynchronous
    async def test_unsubscribe(self) -> None:
        """unsubscribe answers {} then sends eventStreamTerminated; unknown ids are -2036."""
        fake = await self.start()
        client = await self.wsapi()
        for key in (DOC_API_KEY, RSA_KEY, ED_KEY):
            await self.call(client, "userDataStream.subscribe.signature", ws_signed(key))
        one = self.send(client, "userDataStream.unsubscribe", {"subscriptionId": 1})
        await self.fake.wait_for(lambda: self.events(client))
        messages = client.json()
        self.assertEqual(messages[-2]["id"], one)
        self.assertEqual(messages[-2]["result"], {})
        self.assertEqual(messages[-1]["subscriptionId"], 1)
        self.assertEqual(sorted(messages[-1]["event"]), ["E", "e"])
        self.assertEqual(self.rsa.emit("spot", self.rsa.balance_update()), 0)
        missing = await self.call(client, "userDataStream.unsubscribe", {"subscriptionId": 1})
        self.assertEqual((missing["status"], missing["error"]["code"]), (400, -2036))
        self.assertEqual((await self.call(client, "userDataStream.unsubscribe"))["result"], {})
        await fake.wait_for(lambda: len(self.events(client)) == 3)
        self.assertEqual({e["subscriptionId"] for e in self.events(client)}, {0, 1, 2})
        self.assertEqual(fake.connections[0].subscriptions, {})

    @asynchronous
    async def test_listen_token_subscription_expires_unless_renewed(self) -> None:
        """A listenToken subscription ends at expirationTime; a fresh token extends it."""
        fake = await self.start(clock=self.clock)
        client = await self.wsapi()
        path = "/sapi/v1/userListenToken"
        short = (await self.signed("POST", path, DOC_API_KEY, validity=400))[1]
        answer = await self.call(
            client, "userDataStream.subscribe.listenToken", {"listenToken": short["token"]}
        )
        self.assertEqual(
            answer["result"], {"subscriptionId": 0, "expirationTime": short["expirationTime"]}
        )
        longer = (await self.signed("POST", path, DOC_API_KEY, validity=60_000))[1]
        renewed = await self.call(
            client, "userDataStream.subscribe.listenToken", {"listenToken": longer["token"]}
        )
        self.assertEqual(
            renewed["result"], {"subscriptionId": 0, "expirationTime": longer["expirationTime"]}
        )
        self.clock.advance(1)  # past the first token's 400 ms
        report = self.hmac.execution_report()
        self.assertEqual(self.hmac.emit("margin", report), 1)
        self.assertEqual(self.hmac.emit("spot", report), 0)
        isolated = (
            await self.signed(
                "POST", path, RSA_KEY, isIsolated="TRUE", symbol="ethusdt", validity=500
            )
        )[1]
        answer = await self.call(
            client, "userDataStream.subscribe.listenToken", {"listenToken": isolated["token"]}
        )
        self.assertEqual(answer["result"]["subscriptionId"], 1)
        self.assertEqual(self.rsa.emit("isolated:ethusdt", {"e": "balanceUpdate"}), 1)
        self.assertEqual(self.rsa.emit("margin", {"e": "balanceUpdate"}), 0)
        self.clock.advance(1)  # past the isolated token's 500 ms
        ended = await fake.wait_for(
            lambda: [e for e in self.events(client) if e["event"]["e"] == "eventStreamTerminated"]
        )
        self.assertEqual([e["subscriptionId"] for e in ended], [1])
        self.assertEqual(kinds(fake, "subscription-ended")[0].detail["by"], "expired")
        bad = await self.call(
            client, "userDataStream.subscribe.listenToken", {"listenToken": "nope"}
        )
        self.assertEqual(
            (bad["status"], bad["error"]), (400, {"code": -1209, "msg": "Invalid listenToken."})
        )
        expired = await self.call(
            client, "userDataStream.subscribe.listenToken", {"listenToken": isolated["token"]}
        )
        self.assertEqual(expired["error"]["code"], -1209)

    @asynchronous
    async def test_terminate_subscriptions_and_server_shutdown(self) -> None:
        """terminate_subscriptions ends them server-side; serverShutdown has only an event."""
        fake = await self.start()
        client = await self.wsapi()
        stream = await self.open("/ws")
        for key in (DOC_API_KEY, ED_KEY):
            await self.call(client, "userDataStream.subscribe.signature", ws_signed(key))
        self.assertEqual(fake.terminate_subscriptions(ED_KEY), 1)
        self.assertEqual(fake.terminate_subscriptions(), 1)
        self.assertEqual(fake.server_shutdown(), 2)
        await fake.wait_for(lambda: len(self.events(client)) == 3 and stream.messages)
        first, second, shutdown = self.events(client)
        self.assertEqual([first["subscriptionId"], second["subscriptionId"]], [1, 0])
        self.assertEqual(sorted(shutdown), ["event"])
        self.assertEqual(shutdown["event"]["e"], "serverShutdown")
        self.assertEqual(stream.json()[0]["e"], "serverShutdown")
        self.assertEqual(len(fake.connections), 2)


class WsApiFaultTests(AccountTestCase):
    @asynchronous
    async def test_delay_answers_later_and_out_of_order(self) -> None:
        """A delayed request is answered after later ones, once its delay has passed."""
        fake = await self.start(clock=self.clock)
        client = await self.wsapi()
        fake.wsapi_fault("time", delay=0.3)
        slow = self.send(client, "time")
        fast = self.send(client, "ping")
        await self.response(client, fast)
        self.assertEqual([m["id"] for m in client.json()], [fast])
        self.clock.advance(0.3)
        await self.response(client, slow)
        self.assertEqual([m["id"] for m in client.json()], [fast, slow])
        self.assertEqual((await self.call(client, "time"))["status"], 200)
        self.assertEqual(kinds(fake, "fault")[0].detail["delay"], 0.3)

    @asynchronous
    async def test_status_faults(self) -> None:
        """429 carries retryAfter and serverTime in error.data; 500 is -1001; then normal."""
        fake = await self.start()
        client = await self.wsapi()
        fake.wsapi_fault("ping", status=429, retry_after=2.0, count=2)
        fake.wsapi_fault("time", status=500)
        for _ in range(2):
            limited = await self.call(client, "ping")
            self.assertEqual((limited["status"], limited["error"]["code"]), (429, -1003))
            data = limited["error"]["data"]
            self.assertEqual(data["retryAfter"] - data["serverTime"], 2000)
            self.assertIn("rateLimits", limited)
        broken = await self.call(client, "time")
        self.assertEqual((broken["status"], broken["error"]["code"]), (500, -1001))
        self.assertNotIn("data", broken["error"])
        self.assertEqual((await self.call(client, "ping"))["status"], 200)
        fake.wsapi_fault("ping", status=418, code=-1003, msg="banned")
        self.assertEqual((await self.call(client, "ping"))["error"]["msg"], "banned")

    @asynchronous
    async def test_drop(self) -> None:
        """drop aborts the connection without an answer (after a delay if one is given)."""
        fake = await self.start(clock=self.clock)
        client = await self.wsapi()
        fake.wsapi_fault("userDataStream.subscribe.signature", drop=True, delay=0.1)
        self.send(client, "userDataStream.subscribe.signature", ws_signed(DOC_API_KEY))
        await fake.wait_for(lambda: kinds(fake, "fault"))
        self.assertEqual(len(fake.connections), 1)
        self.clock.advance(0.1)
        await client.lost
        self.assertEqual(client.json(), [])
        self.assertEqual(kinds(fake, "close")[0].detail["reason"], "fault: dropped")


class SharedLimitsTests(AccountTestCase):
    @asynchronous
    async def test_frame_rate_limit_is_for_streams_only(self) -> None:
        """A WS API burst past max_incoming_rate is answered (Binance limits weight there)."""
        fake = await self.start(max_incoming_rate=3)
        client = await self.wsapi()
        for _ in range(10):
            self.send(client, "ping")
        await fake.wait_for(lambda: len(client.json()) == 10)
        self.assertEqual(kinds(fake, "rate-limit"), [])

    @asynchronous
    async def test_pings_and_lifetime_apply_to_the_ws_api(self) -> None:
        """A WS API connection is pinged, dropped without pongs, and closed at its lifetime."""
        fake = await self.start(lifetime=100, clock=self.clock)
        silent = await self.open("/ws-api/v3", answer_pings=False)
        answering = await self.wsapi()
        for beat in range(1, 5):  # pings at 20, 40, 60 and 80 s; silent's deadline is 80 s
            self.clock.advance(20)
            await fake.wait_for(lambda n=beat: len(kinds(fake, "pong")) >= n)
        await silent.lost
        self.assertEqual(len(kinds(fake, "pong-timeout")), 1)
        self.clock.advance(20)
        await answering.lost
        self.assertTrue(answering.pings)
        self.assertEqual(answering.close_code, 1000)
        self.assertEqual(len(kinds(fake, "lifetime")), 1)

    @asynchronous
    async def test_stall_and_drop_all(self) -> None:
        """stall silences WS API answers until resume; drop_all aborts WS API connections."""
        fake = await self.start()
        client = await self.wsapi()
        fake.stall()
        self.send(client, "ping")
        await fake.wait_for(lambda: fake.requests(method="ping"))
        fake.resume()
        answer = await self.call(client, "ping")
        self.assertEqual(client.json(), [answer])  # the stalled ping's answer never came
        self.assertEqual(fake.drop_all(), 1)
        await client.lost

    @asynchronous
    async def test_log_redacts_secrets(self) -> None:
        """Requests are logged with apiKey, signature, listenToken and listenKey redacted."""
        fake = await self.start()
        client = await self.wsapi()
        params = ws_signed(DOC_API_KEY)
        await self.call(client, "userDataStream.subscribe.signature", params)
        token = (await self.signed("POST", "/sapi/v1/userListenToken", RSA_KEY))[1]["token"]
        await self.call(client, "userDataStream.subscribe.listenToken", {"listenToken": token})
        key = await self.listen_key(self.ed)
        await self.open(f"/private/ws?listenKey={key}")
        (await self.connect("/private/ws?listenKey=" + "Z" * 60))
        await self.rest("PUT", "/fapi/v1/listenKey", f"listenKey={key}", key=ED_KEY)
        fake.expire_listen_key(key)
        client.sendMessage(
            b'{"broken": "'
            + params["signature"].encode()
            + b'", "signature": "'
            + params["signature"].encode()
            + b'"'
        )
        await fake.wait_for(lambda: len(kinds(fake, "invalid")) >= 1)
        (logged,) = fake.requests(method="userDataStream.subscribe.signature")
        self.assertEqual(logged.detail["params"]["apiKey"], DOC_API_KEY[:4] + "…")
        self.assertEqual(logged.detail["params"]["timestamp"], params["timestamp"])
        everything = repr(fake.log)
        for secret in (DOC_API_KEY, params["signature"], token, key, "Z" * 60):
            self.assertNotIn(secret, everything)
        self.assertNotIn(RSA_KEY, everything)
