"""The connection core: one reconnecting Binance WebSocket, whatever it carries.

* :mod:`~binance_twisted._core.protocol`: one session (frame → one decode → dispatch);
* :mod:`~binance_twisted._core.session`: the connection (backoff, watchdog, events);
* :mod:`~binance_twisted._core.rotation`: make-before-break replacement of a session;
* :mod:`~binance_twisted._core.policy`, :mod:`~binance_twisted._core.pacing`,
  :mod:`~binance_twisted._core.stats`, :mod:`~binance_twisted._core.throttle`,
  :mod:`~binance_twisted._core.tls`: the rules it follows and what it counts.

Private: the wings above (``market``, ``wsapi``, ``accounts``) build on it; users meet only
:class:`~binance_twisted.ConnectionPolicy` and the events.
"""
