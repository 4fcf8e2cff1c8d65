"""Throwaway certificate authorities for TLS tests on loopback.

The client library never disables verification (DESIGN.md), so a ``wss://`` test needs a
server certificate the client can really verify: a fresh CA per fake, passed to the client as
its trust root. A second CA made with :func:`make_test_certificate_authority` is the natural
"wrong" trust root for testing that verification actually happens.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from twisted.internet import ssl

__all__ = ["CertificateAuthority", "make_test_certificate_authority"]

_SKEW = timedelta(minutes=5)  # tolerate clocks slightly behind ours


@attrs.frozen
class CertificateAuthority:
    """A self-signed CA that issues short-lived server certificates.

    :attr:`certificate` is what a client passes as its trust root
    (``optionsForClientTLS(hostname, trustRoot=ca.certificate)``).
    """

    certificate: ssl.Certificate
    validity: timedelta
    _key: ec.EllipticCurvePrivateKey = attrs.field(repr=False, alias="key")
    _x509: x509.Certificate = attrs.field(repr=False, alias="x509_certificate")

    def issue_server_certificate(
        self,
        hostnames: Sequence[str] = ("localhost",),
        addresses: Sequence[str] = ("127.0.0.1",),
        valid_for: timedelta | None = None,
    ) -> ssl.PrivateCertificate:
        """A server certificate and key for these DNS names and IP addresses.

        ``valid_for`` (default: the CA's validity) may be negative, for a certificate that
        has already expired: a test of what a client says about one.
        """
        key = ec.generate_private_key(ec.SECP256R1())
        names: list[x509.GeneralName] = [x509.DNSName(name) for name in hostnames]
        names += [x509.IPAddress(ipaddress.ip_address(address)) for address in addresses]
        common_name = hostnames[0] if hostnames else addresses[0]
        certificate = (
            _builder(
                common_name,
                self._x509.subject,
                key.public_key(),
                self.validity if valid_for is None else valid_for,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False,
            )
            .add_extension(_key_usage(key_cert_sign=False), critical=True)
            .sign(self._key, hashes.SHA256())
        )
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ) + certificate.public_bytes(serialization.Encoding.PEM)
        return ssl.PrivateCertificate.loadPEM(pem)


def make_test_certificate_authority(
    name: str = "binance-twisted test CA", validity: timedelta = timedelta(days=1)
) -> CertificateAuthority:
    """A new CA (EC P-256) whose certificates are valid for ``validity`` from now."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    certificate = (
        _builder(name, subject, key.public_key(), validity)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True), critical=True)
        .sign(key, hashes.SHA256())
    )
    trust_root = ssl.Certificate.loadPEM(certificate.public_bytes(serialization.Encoding.PEM))
    return CertificateAuthority(trust_root, validity, key=key, x509_certificate=certificate)


def _builder(
    common_name: str,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    validity: timedelta,
) -> x509.CertificateBuilder:
    now = datetime.now(timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(min(now - _SKEW, now + validity - timedelta(days=1)))
        .not_valid_after(now + validity)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _key_usage(*, key_cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=key_cert_sign,
        encipher_only=False,
        decipher_only=False,
    )
