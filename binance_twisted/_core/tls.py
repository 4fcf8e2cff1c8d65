"""Verified TLS for every connection: certificate chain, hostname (SNI + service-identity).

The legacy manager used ``ClientContextFactory`` (no verification, no SNI). Here the only
knob is *which* roots to trust: the platform store by default (so ``SSL_CERT_FILE`` and
``SSL_CERT_DIR`` work, as OpenSSL reads them), or an explicit root given by the caller.
Nothing turns verification off.
"""

from __future__ import annotations

import os
import re
from typing import TypeAlias
from urllib.parse import urlsplit

from OpenSSL import SSL
from service_identity.exceptions import VerificationError
from twisted.internet import ssl
from twisted.internet._sslverify import IOpenSSLTrustRoot
from twisted.internet.interfaces import IOpenSSLClientConnectionCreator
from twisted.python.failure import Failure

__all__ = [
    "TrustRoot",
    "check_plaintext",
    "client_tls_options",
    "describe_tls_failure",
    "is_loopback",
    "load_trust_root",
]

TrustRoot: TypeAlias = "IOpenSSLTrustRoot | ssl.Certificate | str | bytes | os.PathLike[str] | None"
"""What callers may pass as ``trust_root``: ``None`` (platform store), a Twisted trust root,
a :class:`~twisted.internet.ssl.Certificate`, a path to a PEM file, or PEM bytes."""

_PEM_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----\s.+?\s-----END CERTIFICATE-----", re.DOTALL)


def load_trust_root(trust_root: TrustRoot) -> IOpenSSLTrustRoot:
    """Turn any accepted ``trust_root`` form into a Twisted trust root."""
    if trust_root is None:
        return ssl.platformTrust()
    if isinstance(trust_root, ssl.Certificate):
        return ssl.trustRootFromCertificates([trust_root])
    if isinstance(trust_root, (str, os.PathLike)):
        with open(trust_root, "rb") as pem_file:
            trust_root = pem_file.read()
    if isinstance(trust_root, bytes):
        blocks = _PEM_BLOCK.findall(trust_root)
        if not blocks:
            raise ValueError("trust_root holds no PEM certificate (BEGIN CERTIFICATE block)")
        return ssl.trustRootFromCertificates([ssl.Certificate.loadPEM(b) for b in blocks])
    if IOpenSSLTrustRoot.providedBy(trust_root):
        return trust_root
    raise TypeError(
        "trust_root must be None, an IOpenSSLTrustRoot, a Certificate, a PEM file path "
        f"or PEM bytes, not {type(trust_root).__name__}"
    )


def client_tls_options(
    hostname: str, trust_root: IOpenSSLTrustRoot
) -> IOpenSSLClientConnectionCreator:
    """Options that verify the chain against ``trust_root`` and the name ``hostname``."""
    return ssl.optionsForClientTLS(hostname, trustRoot=trust_root)


def describe_tls_failure(reason: Failure, connection: object = None) -> str | None:
    """A readable sentence for a TLS failure, or ``None`` if it is not one.

    A certificate for another host is a hostname mismatch (service-identity's
    ``VerificationError``); for a failed chain, the peer certificate on ``connection`` (the
    pyOpenSSL connection, if known) tells an expired certificate from an untrusted one.
    """
    if reason.check(VerificationError):
        errors = getattr(reason.value, "errors", ())
        names = ", ".join(_mismatched(e) for e in errors) or "this host"
        return f"TLS hostname mismatch: the server's certificate is not valid for {names}"
    if not reason.check(SSL.Error):
        return None
    details = []
    args = reason.value.args if reason.value is not None else ()
    for entry in args[0] if args else []:
        if isinstance(entry, tuple) and entry:
            details.append(str(entry[-1]))
    detail = "; ".join(d for d in details if d) or reason.getErrorMessage()
    why = _verify_result(connection)
    if why == "certificate has expired":
        return f"TLS handshake failed: the server's certificate has expired ({detail})"
    if why is not None:
        detail = f"{detail}: {why}"
    return f"TLS handshake failed: the server's certificate is not trusted ({detail})"


def _verify_result(connection: object) -> str | None:
    """OpenSSL's verdict on the peer's chain (``certificate has expired``…), if it failed.

    pyOpenSSL has no public call for it; its cffi binding is pinned by
    tests/test_internals.py, and any surprise here only costs the detail.
    """
    if not isinstance(connection, SSL.Connection):
        return None
    try:
        from OpenSSL._util import ffi, lib

        code = lib.SSL_get_verify_result(connection._ssl)
        if code == 0:
            return None
        return str(ffi.string(lib.X509_verify_cert_error_string(code)).decode())
    except Exception:
        return None


def _mismatched(error: object) -> str:
    """The name the certificate did not cover, from a service-identity mismatch."""
    identity = getattr(error, "mismatched_id", None)
    for field in ("ip", "hostname", "pattern"):
        value = getattr(identity, field, None)
        if isinstance(value, bytes):
            return value.decode("ascii", "replace")
        if value is not None:
            return str(value)
    return str(identity or error)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine, where plain ``ws://`` and ``http://`` are acceptable."""
    return host in ("localhost", "::1") or host.startswith("127.")


def check_plaintext(url: str, argument: str, allowed: bool) -> None:
    """Refuse an unencrypted ``ws://``/``http://`` URL to another machine unless ``allowed``.

    Loopback (a local fake) is always fine; anything else must be ``wss://``/``https://``,
    or opted into by name, so a typo never sends keys and orders in clear text.
    """
    scheme = url.partition("://")[0]
    if scheme not in ("ws", "http") or allowed:
        return
    host = urlsplit(url).hostname or ""
    if not is_loopback(host):
        raise ValueError(
            f"{argument} {scheme}://{host}… is unencrypted and not this machine: use "
            f"{scheme}s://, or pass allow_plaintext=True to send it in clear text anyway"
        )
