"""Third-party internals we rely on: the one place that pins them.

Each test names one private (or easily changed) behaviour of autobahn, Twisted or treq and
the place in the package that depends on it. They run in every tox environment, so ``lowest``
and ``latest`` both say at once when a release moves one of them. When a test here fails,
fix the named caller first, then this test.
"""

from __future__ import annotations

from typing import Any

from autobahn.twisted.websocket import (
    WebSocketClientFactory,
    WebSocketClientProtocol,
    WebSocketServerFactory,
    WebSocketServerProtocol,
)
from autobahn.websocket.protocol import WebSocketProtocol
from twisted.internet import reactor as global_reactor, ssl
from twisted.internet._sslverify import IOpenSSLTrustRoot
from twisted.internet.error import ConnectionDone
from twisted.internet.protocol import Factory, Protocol, ReconnectingClientFactory
from twisted.internet.selectreactor import SelectReactor
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.python.failure import Failure
from twisted.test import iosim
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.http_headers import Headers
from twisted.web.resource import Resource
from twisted.web.server import Request
from zope.interface import implementer
from zope.interface.interface import InterfaceClass

from binance_twisted.legacy.reactor_thread import reactor_stopped
from binance_twisted.testing import make_test_certificate_authority

# -- autobahn ------------------------------------------------------------------------------


class _Server(WebSocketServerProtocol):
    """Sends the factory's queued messages once the handshake is done; records close codes."""

    def __init__(self) -> None:
        super().__init__()
        self.closes: list[int | None] = []

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        self.closes.append(code)

    def onOpen(self) -> None:
        for payload, binary in self.factory.outbox:
            self.sendMessage(payload, isBinary=binary)


class _Client(WebSocketClientProtocol):
    """Records what autobahn hands to onMessageEnd and onMessage."""

    def __init__(self) -> None:
        super().__init__()
        self.ends: list[tuple[list[bytes], bool, bool]] = []
        self.messages: list[tuple[bytes, bool]] = []
        self.data_after_end: list[Any] = []

    def onMessageEnd(self) -> None:
        self.ends.append((list(self.message_data), self.message_is_binary, self.failedByMe))
        super().onMessageEnd()
        self.data_after_end.append(self.message_data)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        self.messages.append((payload, isBinary))


def _converse(
    outbox: list[tuple[bytes, bool]], fragment_size: int = 0, **client_options: Any
) -> tuple[_Client, _Server, iosim.IOPump]:
    """A real autobahn handshake in memory (iosim), then the server sends ``outbox``."""
    clock = Clock()
    server_factory = WebSocketServerFactory(reactor=clock)
    server_factory.protocol = _Server
    server_factory.outbox = outbox
    server_factory.setProtocolOptions(autoFragmentSize=fragment_size)
    client_factory = WebSocketClientFactory("ws://127.0.0.1:9", reactor=clock)
    client_factory.protocol = _Client
    client_factory.setProtocolOptions(**client_options)
    server = server_factory.buildProtocol(None)
    client = client_factory.buildProtocol(None)
    pump = iosim.connect(server, iosim.makeFakeServer(server), client, iosim.makeFakeClient(client))
    return client, server, pump


class AutobahnTests(SynchronousTestCase):
    def setUp(self) -> None:
        # autobahn's timers run on txaio's loop, the global reactor, whatever reactor the
        # factory was given: a test that leaves one behind would fail a later test
        before = set(global_reactor.getDelayedCalls())

        def nothing_left_behind() -> None:
            left = [c for c in global_reactor.getDelayedCalls() if c not in before]
            for call in left:
                call.cancel()
            self.assertEqual(left, [])

        self.addCleanup(nothing_left_behind)

    def test_message_end_sees_the_whole_message(self) -> None:
        """message_data/message_is_binary at onMessageEnd: _core/protocol.py:onMessageEnd."""
        text, binary = b'{"e":"trade","pad":"' + b"x" * 9000 + b'"}', b"\x1f\x8b\x00"
        client, _, _ = _converse([(text, False), (binary, True)], fragment_size=4096)
        self.assertEqual(len(client.ends), 2)  # once per message, not once per frame
        (chunks, is_binary, failed), (chunks2, is_binary2, _) = client.ends
        self.assertIsInstance(chunks, list)
        self.assertGreater(len(chunks), 1)  # the frames' pieces, joined by the override
        self.assertTrue(all(isinstance(chunk, bytes) for chunk in chunks))
        self.assertEqual((b"".join(chunks), is_binary, failed), (text, False, False))
        self.assertEqual((b"".join(chunks2), is_binary2), (binary, True))

    def test_base_message_end_is_what_the_override_replaces(self) -> None:
        """autobahn's onMessageEnd: join, onMessage, reset; replaced in _core/protocol.py."""
        frames = [(b"[1,2,3]", False), (b"\x00\x01", True)]
        client, _, _ = _converse(frames)
        self.assertEqual(client.messages, frames)
        self.assertEqual(client.messages, [(b"".join(c), b) for c, b, _ in client.ends])
        self.assertEqual(client.data_after_end, [None, None])

    def test_the_parser_state_the_fast_path_reads(self) -> None:
        """_core/protocol.py:dataReceived takes over between frames: it reads ``data``,
        ``current_frame`` (``length``), ``current_frame_masker.pointer()``,
        ``inside_message`` and ``maxMessagePayloadSize``, and hands bytes to
        ``_dataReceived``. Mid-frame and mid-message, they say so."""
        client, _, _ = _converse([], maxMessagePayloadSize=12345)
        self.assertEqual(client.state, WebSocketProtocol.STATE_OPEN)
        self.assertEqual(
            (client.data, client.current_frame, client.inside_message), (b"", None, False)
        )
        self.assertEqual(client.maxMessagePayloadSize, 12345)
        client._dataReceived(b"\x01\x05hel")  # a first fragment, cut inside its payload
        self.assertTrue(client.inside_message)
        self.assertEqual(client.current_frame.length, 5)
        self.assertEqual(client.current_frame_masker.pointer(), 3)
        self.assertEqual(client.data, b"")
        client._dataReceived(b"lo\x80\x01!\x81")  # its rest, the last fragment, a head byte
        self.assertEqual(client.messages, [(b"hello!", False)])
        self.assertEqual(
            (client.data, client.current_frame, client.inside_message), (b"\x81", None, False)
        )

    def test_failed_by_me_is_set_when_autobahn_fails_the_connection(self) -> None:
        """failedByMe means "autobahn failed this connection": _core/protocol.py:onMessageEnd."""
        client, _, _ = _converse([])
        self.assertFalse(client.failedByMe)
        client2, _, _ = _converse([(b"x" * 100, False)], maxMessagePayloadSize=10)
        self.assertTrue(client2.failedByMe)
        self.assertEqual(client2.messages, [])
        # autobahn's own onMessageEnd drops a message of a failed connection
        client.failedByMe = True
        client.message_data, client.message_is_binary = [b"late"], False
        WebSocketProtocol.onMessageEnd(client)
        self.assertEqual(client.messages, [])
        self.assertIsNone(client.message_data)

    def test_size_limits_call_the_hook_from_the_frame_header(self) -> None:
        """_max_message_size_exceeded(size, limit, reason) before any payload is kept, then
        _fail_connection with 1009 (a close frame, with failByDrop=False):
        _core/protocol.py:SessionProtocol._max_message_size_exceeded and too_big."""
        calls = []

        def hook(self: _Client, size: int, limit: int, reason: str) -> None:
            calls.append((size, limit, self.message_data))
            WebSocketProtocol._max_message_size_exceeded(self, size, limit, reason)

        self.patch(_Client, "_max_message_size_exceeded", hook)
        client, server, _ = _converse(
            [(b"x" * 5000, False)], maxFramePayloadSize=1000, failByDrop=False
        )
        self.assertEqual(calls, [(5000, 1000, [])])
        self.assertEqual(server.closes, [1009])
        self.assertTrue(client.wasMaxFramePayloadSizeExceeded)

    def test_close_codes_are_kept_for_both_sides(self) -> None:
        """remoteCloseCode/localCloseCode after a closing handshake: protocol.py:close_code."""
        client, server, pump = _converse([])
        client.sendClose(1000)
        pump.flush()
        self.assertEqual((client.localCloseCode, client.remoteCloseCode), (1000, 1000))
        self.assertEqual(server.closes, [1000])

    def test_connection_lost_leaves_the_close_handshake_timer_armed(self) -> None:
        """closeHandshakeTimeoutCall survives connectionLost (hence the cancel in
        _core/protocol.py:SessionProtocol.connectionLost)."""
        client, _, _ = _converse([], closeHandshakeTimeout=5)
        client.sendClose(1000)
        timer = client.closeHandshakeTimeoutCall
        self.assertIsNotNone(timer)
        client.connectionLost(Failure(ConnectionDone()))  # the peer hung up, no close reply
        self.assertIs(client.closeHandshakeTimeoutCall, timer)
        timer.cancel()

    def test_utf8_validation_of_incoming_text_can_be_switched_off(self) -> None:
        """setProtocolOptions(utf8validateIncoming=False): SessionFactory.for_policy."""
        invalid = b'{"s":"\xff\xfe"}'
        validating, _, _ = _converse([(invalid, False)])
        self.assertEqual(validating.messages, [])
        self.assertTrue(validating.failedByMe)
        trusting, _, _ = _converse([(invalid, False)], utf8validateIncoming=False)
        self.assertEqual(trusting.messages, [(invalid, False)])
        self.assertFalse(trusting.failedByMe)

    def test_state_constants_follow_the_connection(self) -> None:
        """WebSocketProtocol.STATE_OPEN/STATE_CLOSED: _core/protocol.py:close_session, send_text."""
        self.assertEqual(len({WebSocketProtocol.STATE_OPEN, WebSocketProtocol.STATE_CLOSED}), 2)
        clock = Clock()
        factory = WebSocketClientFactory("ws://127.0.0.1:9", reactor=clock)
        factory.protocol = _Client
        factory.setProtocolOptions(openHandshakeTimeout=0)  # no timer on the global reactor
        handshaking = factory.buildProtocol(None)
        handshaking.makeConnection(iosim.FakeTransport(handshaking, isServer=False))
        # mid-handshake is neither: close_session drops the transport instead of closing
        self.assertNotIn(
            handshaking.state, (WebSocketProtocol.STATE_OPEN, WebSocketProtocol.STATE_CLOSED)
        )
        client, _, pump = _converse([])
        self.assertEqual(client.state, WebSocketProtocol.STATE_OPEN)
        client.sendClose(1000)
        pump.flush()
        self.assertEqual(client.state, WebSocketProtocol.STATE_CLOSED)
        dropped, _, pump = _converse([])
        dropped.dropConnection(abort=True)
        pump.flush()
        self.assertEqual(dropped.state, WebSocketProtocol.STATE_CLOSED)


# -- Twisted: ReconnectingClientFactory -------------------------------------------------------


class _Connector:
    def __init__(self) -> None:
        self.connects = 0
        self.stopped = 0

    def connect(self) -> None:
        self.connects += 1

    def stopConnecting(self) -> None:
        self.stopped += 1


def _reconnecting(**attributes: Any) -> tuple[ReconnectingClientFactory, Clock, _Connector]:
    clock, connector = Clock(), _Connector()
    factory = ReconnectingClientFactory()
    factory.clock, factory.connector, factory.jitter = clock, connector, 0
    factory.initialDelay = factory.delay = 0.25
    factory.factor, factory.maxDelay = 2.0, 1.0
    for name, value in attributes.items():
        setattr(factory, name, value)
    return factory, clock, connector


class ReconnectingClientFactoryTests(SynchronousTestCase):
    """SessionFactory.schedule_retry (_core/protocol.py) keeps Twisted's retry state itself;
    these pin the parts of ReconnectingClientFactory it shares with Twisted."""

    def test_stop_trying_cancels_the_call_kept_in_call_id(self) -> None:
        """ReconnectingClientFactory._callID and stopTrying(): schedule_retry stores the
        pending attempt there so that stopTrying() (session close) cancels it."""
        factory, clock, connector = _reconnecting()
        self.assertIsNone(factory._callID)
        factory._callID = clock.callLater(5, connector.connect)
        pending = factory._callID
        factory.stopTrying()
        self.assertFalse(pending.active())
        self.assertIsNone(factory._callID)
        self.assertFalse(factory.continueTrying)
        self.assertEqual(connector.stopped, 1)
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_reset_delay_restores_the_first_delay_and_retry_count(self) -> None:
        """resetDelay(): delay, retries and continueTrying back to their start values
        (_core/session.py:_arm_timers, after a healthy period)."""
        factory, _, _ = _reconnecting(maxRetries=2)
        factory.delay, factory.retries = 1.0, 2
        factory.stopTrying()
        factory.resetDelay()
        self.assertEqual((factory.delay, factory.retries), (0.25, 0))
        self.assertTrue(factory.continueTrying)


# -- Twisted: the reactor's private run flags ------------------------------------------------


class ReactorFlagTests(SynchronousTestCase):
    def test_private_run_flags_track_start_and_stop(self) -> None:
        """reactor._started/_startedBefore/_stopped: legacy/reactor_thread.py:reactor_stopped."""
        reactor = SelectReactor()
        self.addCleanup(_dismantle, reactor)
        seen: dict[str, tuple[bool, bool, bool, bool]] = {}
        verdicts: list[bool] = []

        def flags() -> tuple[bool, bool, bool, bool]:
            verdicts.append(reactor_stopped(reactor))
            return (
                bool(reactor.running),
                bool(reactor._started),
                bool(reactor._startedBefore),
                bool(reactor._stopped),
            )

        def running() -> None:
            seen["running"] = flags()
            reactor.stop()
            seen["stopping"] = flags()

        seen["fresh"] = flags()
        reactor.callWhenRunning(running)
        reactor.run(installSignalHandlers=False)
        seen["stopped"] = flags()
        #                      running, _started, _startedBefore, _stopped
        self.assertEqual(seen["fresh"], (False, False, False, True))
        self.assertEqual(seen["running"], (True, True, False, False))
        self.assertEqual(seen["stopping"], (True, True, True, True))
        self.assertEqual(seen["stopped"], (False, False, True, True))
        self.assertEqual(verdicts, [False, False, True, True])  # what reactor_stopped reads


def _dismantle(reactor: SelectReactor) -> None:
    """Close what a never-installed reactor opened (its waker), as Twisted's own tests do."""
    reactor.disconnectAll()
    for reader in list(getattr(reactor, "_internalReaders", ())):
        reactor.removeReader(reader)
        reader.connectionLost(None)


# -- Twisted: TLS trust roots ----------------------------------------------------------------


@implementer(IOpenSSLTrustRoot)
class _RecordingRoot:
    def __init__(self) -> None:
        self.contexts: list[Any] = []

    def _addCACertsToContext(self, context: Any) -> None:
        self.contexts.append(context)


class TrustRootTests(SynchronousTestCase):
    def test_trust_roots_provide_the_private_interface(self) -> None:
        """twisted.internet._sslverify.IOpenSSLTrustRoot: _core/tls.py:load_trust_root."""
        self.assertIsInstance(IOpenSSLTrustRoot, InterfaceClass)
        certificate = make_test_certificate_authority().certificate
        self.assertTrue(IOpenSSLTrustRoot.providedBy(ssl.platformTrust()))
        self.assertTrue(IOpenSSLTrustRoot.providedBy(ssl.trustRootFromCertificates([certificate])))
        # a provider is what client TLS options ask to fill the verifying context with CAs
        root = _RecordingRoot()
        options = ssl.optionsForClientTLS("stream.binance.com", trustRoot=root)
        tls = TLSMemoryBIOFactory(options, True, Factory.forProtocol(Protocol))
        tls.buildProtocol(None).makeConnection(StringTransport())  # sends its ClientHello
        self.assertEqual(len(root.contexts), 1)


# -- pyOpenSSL and service-identity: why a TLS handshake failed --------------------------------


class TlsDiagnosisTests(SynchronousTestCase):
    def test_openssl_binding_reports_the_verify_result_as_text(self) -> None:
        """OpenSSL._util lib.SSL_get_verify_result / X509_verify_cert_error_string and
        Connection._ssl: _core/tls.py:_verify_result (expired versus untrusted)."""
        from OpenSSL import SSL
        from OpenSSL._util import ffi, lib

        connection = SSL.Connection(SSL.Context(SSL.TLS_CLIENT_METHOD), None)
        self.assertEqual(lib.SSL_get_verify_result(connection._ssl), 0)  # X509_V_OK
        text = ffi.string(lib.X509_verify_cert_error_string(10)).decode()
        self.assertEqual(text, "certificate has expired")

    def test_verification_error_lists_the_mismatched_identities(self) -> None:
        """service_identity VerificationError.errors[].mismatched_id: _core/tls.py:_mismatched."""
        from service_identity import VerificationError
        from service_identity.exceptions import DNSMismatch
        from service_identity.hazmat import DNS_ID
        from twisted.python.failure import Failure

        from binance_twisted._core.tls import describe_tls_failure

        error = VerificationError(errors=[DNSMismatch(mismatched_id=DNS_ID("example.org"))])
        self.assertEqual(error.errors[0].mismatched_id.hostname, b"example.org")
        text = describe_tls_failure(Failure(error))
        self.assertEqual(
            text, "TLS hostname mismatch: the server's certificate is not valid for example.org"
        )


# -- treq ------------------------------------------------------------------------------------


class _Echo(Resource):
    isLeaf = True

    def render(self, request: Request) -> bytes:
        if request.path == b"/moved":
            request.setResponseCode(302)
            request.setHeader(b"location", b"/elsewhere")
            return b""
        request.setHeader(b"content-type", b"application/json")
        key = request.requestHeaders.getRawHeaders(b"X-MBX-APIKEY", [b""])[0]
        return b'{"method":"%s","key":"%s"}' % (request.method, key)


class StubTreqTests(SynchronousTestCase):
    def test_stub_treq_takes_the_rest_clients_request(self) -> None:
        """treq.testing.StubTreq: tests/test_rest.py, as the http of rest.py:RestClient._send."""
        from treq.testing import StubTreq

        stub, clock = StubTreq(_Echo()), Clock()
        responses = []
        for path in ("/api/v3/time", "/moved"):
            d = stub.request(
                "GET",
                "https://api.binance.com" + path,
                headers=Headers({b"X-MBX-APIKEY": [b"k"]}),
                data=None,
                timeout=10,
                reactor=clock,
                allow_redirects=False,
            )
            stub.flush()
            responses.append(self.successResultOf(d))
        ok, moved = responses
        self.assertEqual(ok.code, 200)
        self.assertEqual(ok.headers.getRawHeaders(b"content-type"), [b"application/json"])
        self.assertEqual(self.successResultOf(ok.content()), b'{"method":"GET","key":"k"}')
        self.assertEqual(moved.code, 302)  # allow_redirects=False is honoured
        self.assertEqual(clock.getDelayedCalls(), [])  # the timeout was cancelled on reply


class CallableNameTests(SynchronousTestCase):
    def test_a_callback_is_named_so_its_author_finds_it(self) -> None:
        """Logs name the user's function: module.qualname; a lambda also says where it is."""
        import functools

        from binance_twisted.errors import callable_name

        def handler(message: object) -> None:
            """A user's callback."""

        anonymous = lambda message: None  # noqa: E731
        self.assertEqual(callable_name(handler), f"{__name__}.{handler.__qualname__}")
        self.assertEqual(callable_name(functools.partial(handler)), callable_name(handler))
        self.assertRegex(callable_name(anonymous), r"<lambda> \(.*test_internals\.py:\d+\)$")
        method = self.test_a_callback_is_named_so_its_author_finds_it
        self.assertEqual(callable_name(method), f"{__name__}.{method.__qualname__}")
        self.assertEqual(callable_name(print), "builtins.print")
