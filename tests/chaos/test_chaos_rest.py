"""A hostile HTTP server on a real port: an endless body, a 2 GiB Content-Length, a trickle.

What the user must see: ``MessageTooBigError`` as soon as the body passes ``max_body_size``
(the connection hung up, memory bounded), and ``RequestTimeoutError`` at the request's
timeout however slowly the bytes come (a 2 GiB body once took 64.5 s and 8.2 GB to fail).
"""

from __future__ import annotations

from twisted.internet import reactor
from twisted.internet.task import LoopingCall
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request, Site

from binance_twisted import MessageTooBigError, RequestTimeoutError, RestClient
from tests.chaos.support import ChaosTestCase, MiB, Peak
from tests.support import asynchronous


class _Hostile(Resource):
    """``/endless`` (chunked, never ends), ``/huge`` (claims 2 GiB), ``/trickle``."""

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.hung_up: list[str] = []
        self.loops: list[LoopingCall] = []

    def render_GET(self, request: Request) -> int:
        path = request.path.decode()
        if path == "/huge":
            request.setHeader(b"content-length", str(2 * 1024 * MiB).encode())
        chunk, interval = (b"0," * 32768, 0) if path != "/trickle" else (b" ", 0.05)
        loop = LoopingCall(request.write, chunk)
        loop.clock = reactor
        self.loops.append(loop)

        def gone(_: object) -> None:
            self.hung_up.append(path)
            if loop.running:
                loop.stop()

        request.notifyFinish().addBoth(gone)
        request.write(b"[")
        loop.start(interval, now=True)
        return NOT_DONE_YET


class RestBodyTests(ChaosTestCase):
    def serve(self) -> tuple[_Hostile, str]:
        resource = _Hostile()
        port = reactor.listenTCP(0, Site(resource), interface="127.0.0.1")

        def stop() -> object:
            for loop in resource.loops:
                if loop.running:
                    loop.stop()
            return port.stopListening()

        self.addCleanup(stop)
        return resource, f"http://127.0.0.1:{port.getHost().port}"

    @asynchronous
    async def test_an_endless_body_fails_at_the_limit_and_is_hung_up_on(self) -> None:
        """Chunked and never ending: MessageTooBigError once 1 MiB has passed, the server
        sees the connection closed, and the client never held much more than the limit."""
        resource, base = self.serve()
        rest = RestClient(reactor, base, max_body_size=MiB, timeout=30)
        peak = Peak()
        peak.start()
        try:
            with self.assertRaises(MessageTooBigError) as caught:
                await rest.request("GET", "/endless")
        finally:
            peak.stop()
        self.assertIn(
            "GET /endless: response body over the 1048576-byte limit", str(caught.exception)
        )
        self.assertLess(peak.bytes, 8 * MiB)
        await self.until(lambda: "/endless" in resource.hung_up)

    @asynchronous
    async def test_a_2_gib_content_length_is_refused_before_the_body(self) -> None:
        resource, base = self.serve()
        rest = RestClient(reactor, base, timeout=30)
        with self.assertRaises(MessageTooBigError) as caught:
            await rest.request("GET", "/huge")
        self.assertIn(f"of {2 * 1024 * MiB} bytes (Content-Length)", str(caught.exception))
        await self.until(lambda: "/huge" in resource.hung_up)

    @asynchronous
    async def test_a_trickling_body_is_cut_at_the_timeout(self) -> None:
        """A byte every 50 ms forever: RequestTimeoutError after the 1 s timeout."""
        resource, base = self.serve()
        rest = RestClient(reactor, base, timeout=1)
        started = reactor.seconds()
        with self.assertRaises(RequestTimeoutError):
            await rest.request("GET", "/trickle")
        self.assertGreaterEqual(reactor.seconds() - started, 1.0)
        await self.until(lambda: "/trickle" in resource.hung_up)

    async def until(self, predicate) -> None:
        from tests.support import wait_until

        await wait_until(predicate)
