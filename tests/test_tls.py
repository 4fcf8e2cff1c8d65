"""Trust roots: every accepted form loads, bad input fails clearly, SSL_CERT_FILE is honoured."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from OpenSSL import SSL
from twisted.internet import reactor, ssl
from twisted.internet.protocol import Factory, Protocol
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase

from binance_twisted import ConnectionGaveUpError, ConnectionPolicy, Endpoints, StreamClient
from binance_twisted._core.tls import describe_tls_failure, load_trust_root
from binance_twisted.testing import FakeBinance, make_test_certificate_authority
from tests.support import asynchronous


class TrustRootTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.ca = make_test_certificate_authority()
        self.pem = self.ca.certificate.dumpPEM()

    def test_none_means_the_platform_store(self) -> None:
        """trust_root=None trusts the platform store (where SSL_CERT_FILE points)."""
        self.assertIsInstance(load_trust_root(None), type(ssl.platformTrust()))

    def test_certificate_pem_bytes_and_pem_file_are_accepted(self) -> None:
        """A Certificate, PEM bytes and a PEM file path all become the same kind of root."""
        path = self.mktemp()
        with open(path, "wb") as pem_file:
            pem_file.write(self.pem + self.pem)
        roots = [load_trust_root(x) for x in (self.ca.certificate, self.pem, path)]
        expected = type(ssl.trustRootFromCertificates([self.ca.certificate]))
        for root in roots:
            self.assertIsInstance(root, expected)

    def test_a_twisted_trust_root_passes_through(self) -> None:
        """An object providing IOpenSSLTrustRoot is used as is."""
        root = ssl.trustRootFromCertificates([self.ca.certificate])
        self.assertIs(load_trust_root(root), root)

    def test_bad_inputs_fail_with_a_clear_message(self) -> None:
        """Bytes without a certificate, or a wrong type, are refused naming trust_root."""
        with self.assertRaisesRegex(ValueError, "trust_root holds no PEM certificate"):
            load_trust_root(b"not a certificate")
        with self.assertRaisesRegex(TypeError, "trust_root must be"):
            load_trust_root(42)  # type: ignore[arg-type]
        with self.assertRaises(FileNotFoundError):
            load_trust_root(self.mktemp())

    def test_tls_failures_are_described_others_are_not(self) -> None:
        """An OpenSSL verify error becomes a sentence naming TLS; other errors give None."""
        error = SSL.Error([("SSL routines", "", "certificate verify failed")])
        text = describe_tls_failure(Failure(error))
        self.assertEqual(
            text,
            "TLS handshake failed: the server's certificate is not trusted "
            "(certificate verify failed)",
        )
        self.assertIsNone(describe_tls_failure(Failure(ValueError("x"))))


class CertificateProblemTests(TestCase):
    """What a user reads when the server's certificate is wrong (it used to read "peer
    dropped the TCP connection")."""

    async def failure_reason(self, certificate: ssl.PrivateCertificate, trust: object) -> str:
        """The reason a one-attempt client gives up with against a TLS server using it."""
        port = reactor.listenSSL(
            0, Factory.forProtocol(Protocol), certificate.options(), interface="127.0.0.1"
        )
        self.addCleanup(port.stopListening)
        endpoints = Endpoints.for_tld("com").replace(
            stream_url=f"wss://127.0.0.1:{port.getHost().port}"
        )
        client = StreamClient(
            reactor, endpoints, policy=ConnectionPolicy(max_retries=0), trust_root=trust
        )
        self.addCleanup(client.close)
        with self.assertRaises(ConnectionGaveUpError) as caught:
            await client.subscribe(["btcusdt@trade"], lambda s, d: None)
        return str(caught.exception)

    @asynchronous
    async def test_a_certificate_for_another_host_is_a_hostname_mismatch(self) -> None:
        """A trusted certificate for example.org, served on 127.0.0.1: "hostname mismatch"."""
        ca = make_test_certificate_authority()
        certificate = ca.issue_server_certificate(hostnames=("example.org",), addresses=())
        reason = await self.failure_reason(certificate, ca.certificate)
        self.assertIn("TLS hostname mismatch", reason)
        self.assertIn("127.0.0.1", reason)

    @asynchronous
    async def test_an_expired_certificate_is_called_expired(self) -> None:
        """A certificate from a trusted CA that expired yesterday: "has expired"."""
        ca = make_test_certificate_authority()
        certificate = ca.issue_server_certificate(valid_for=timedelta(days=-1))
        reason = await self.failure_reason(certificate, ca.certificate)
        self.assertIn("certificate has expired", reason)

    @asynchronous
    async def test_an_unknown_issuer_is_called_untrusted(self) -> None:
        """A certificate from a CA the client does not trust: "not trusted", and why."""
        ca, other = make_test_certificate_authority(), make_test_certificate_authority()
        reason = await self.failure_reason(ca.issue_server_certificate(), other.certificate)
        self.assertIn("certificate is not trusted", reason)
        self.assertIn("local issuer", reason)


class EnvironmentTrustTests(TestCase):
    @asynchronous
    async def test_ssl_cert_file_is_honoured_by_default(self) -> None:
        """With no trust_root, a CA named by SSL_CERT_FILE is trusted (platform store)."""
        fake = FakeBinance(reactor, tls=True, event_interval=0.02)
        await fake.start()
        self.addCleanup(fake.stop)
        path = self.mktemp()
        with open(path, "wb") as pem_file:
            pem_file.write(fake.trust_root.dumpPEM())
        previous = os.environ.get("SSL_CERT_FILE")
        os.environ["SSL_CERT_FILE"] = path
        self.addCleanup(_restore, "SSL_CERT_FILE", previous)
        client = StreamClient(reactor, fake.endpoints, policy=ConnectionPolicy(max_retries=0))
        self.addCleanup(client.close)
        received = []
        await client.subscribe(["btcusdt@trade"], lambda s, d: received.append(d))
        await fake.wait_for(lambda: len(received) >= 2)
        # the socket under the TLS layer reads 256 KiB per wakeup, as a ws:// one does
        # (Twisted's default, 64 KiB, cost 6 % more CPU per depth diff over TLS)
        (connection,) = client._connections
        session: Any = connection._session
        self.assertEqual(session.transport.transport.bufferSize, 256 * 1024)


def _restore(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value
