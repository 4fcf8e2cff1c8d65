"""The chaos suite: the library attacked as a hostile server or an unlucky operator would.

Real sockets on 127.0.0.1, the real reactor, no sleeps. Each test asserts what a user would
notice: memory bounded, other streams flowing, the right event and reason reported, nothing
lost in healthy intervals. It runs in ``tox -e chaos`` (``BINANCE_TWISTED_CHAOS=1``); the
other environments skip it, so the unit suite stays fast.
"""
