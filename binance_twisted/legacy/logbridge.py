"""Copy this package's Twisted log events to stdlib :mod:`logging`.

The native API logs with ``twisted.logger`` like any Twisted library. Legacy programs
configure :mod:`logging`, not Twisted, so the thread facade forwards our events (and only
ours: namespace ``binance_twisted…``) to ``logging.getLogger(<namespace>)``, where
``logging.basicConfig`` and friends see them.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from twisted.logger import ILogObserver, LogLevel, formatEvent, globalLogPublisher
from zope.interface import provider

__all__ = ["forward_to_stdlib"]

_LEVELS = {
    LogLevel.debug: logging.DEBUG,
    LogLevel.info: logging.INFO,
    LogLevel.warn: logging.WARNING,
    LogLevel.error: logging.ERROR,
    LogLevel.critical: logging.CRITICAL,
}
_installed = False
_lock = threading.Lock()


def forward_to_stdlib() -> None:
    """Install the forwarding observer once per process (later calls do nothing)."""
    global _installed
    with _lock:
        if not _installed:
            globalLogPublisher.addObserver(_forward)
            _installed = True


@provider(ILogObserver)
def _forward(event: dict[str, Any]) -> None:
    namespace = event.get("log_namespace") or ""
    if not namespace.startswith("binance_twisted"):
        return
    level = _LEVELS.get(event.get("log_level", LogLevel.info), logging.INFO)
    logger = logging.getLogger(namespace)
    if not logger.isEnabledFor(level):
        return
    failure = event.get("log_failure")
    exc_info = None
    if failure is not None:
        exc_info = (failure.type, failure.value, failure.getTracebackObject())
    logger.log(level, "%s", formatEvent(event), exc_info=exc_info)
