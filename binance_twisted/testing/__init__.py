"""A fake Binance for tests: :class:`FakeBinance` serves streams, WS API and REST on 127.0.0.1.

Use it in this project's integration tests and in your own trial tests to run a real client,
over real sockets, against a server that behaves like Binance and fails on demand; pass
``clock=`` to drive its timers with a ``task.Clock``. :mod:`binance_twisted.testing.memory`
pairs the same server with your clients in memory: no sockets, no real time. See
``docs/testing.rst``.

The modules come in two kinds, and the first never imports the second:

* the exchange simulation, pure (no sockets, no HTTP; time only from the clock it is
  given): ``_market`` and ``_market_records``, ``_marketdata``, ``_events``, ``_trading``,
  ``_trading_reports``, ``_exchange_rules``, ``_exchange``, ``_futures``,
  ``_futures_matching``, ``_futures_wallet``, ``_userdata``, ``_userevents``,
  ``_bookfaults``, ``_names``, ``_params``, ``_control``, ``_auth``, ``_errors``,
  ``_limits``, ``_ticker``, ``_subscriptions``, the WebSocket API methods (``_wsapi_call``,
  ``_wsapi_market``, ``_wsapi_account``, ``_wsapi_orders``, ``_wsapi_futures`` and their
  tables in ``_wsapi_calls``), and ``_state``, which ties them together;
* the wire: ``_protocol``, ``_wsapi`` and ``_wsapi_userdata`` (WebSocket connections),
  ``_rest`` (the REST resource), ``_site`` (the web site and connection tracking), ``_tls``
  (the test CA), ``_server`` and ``_faults`` (:class:`FakeBinance`), ``_loopback`` and
  ``memory`` (the in-memory pairing), ``serve`` (``python -m binance_twisted fake``),
  ``redis`` (a throwaway ``redis-server`` for the bus: :class:`~.redis.RedisServer`).
``tests/test_layout.py`` checks the split.
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
