"""A fake Binance for tests: :class:`FakeBinance` serves streams, WS API and REST on 127.0.0.1.

Use it in this project's integration tests and in your own trial tests to run a real client,
over real sockets, against a server that behaves like Binance and fails on demand. See
``docs/testing.rst``.
"""

from binance_twisted.testing._server import FakeBinance
from binance_twisted.testing._state import LogEntry
from binance_twisted.testing._tls import CertificateAuthority, make_test_certificate_authority
from binance_twisted.testing._userdata import FakeAccount

__all__ = [
    "CertificateAuthority",
    "FakeAccount",
    "FakeBinance",
    "LogEntry",
    "make_test_certificate_authority",
]
