"""Exception types, and the in-band error dict that legacy callbacks receive.

Native code gets exceptions through Deferred errbacks; legacy python-binance callbacks
only ever saw dicts, so :func:`error_message` builds that flat shape afresh each time (the
legacy code passed one shared, mutable class-level dict to every callback).
"""

from __future__ import annotations

__all__ = [
    "BinanceTwistedError",
    "ClientClosedError",
    "ConnectionGaveUpError",
    "NotConnectedError",
    "StreamRequestError",
    "error_message",
]


class BinanceTwistedError(Exception):
    """Base class of every error this package raises on purpose."""


class StreamRequestError(BinanceTwistedError):
    """Binance answered a live control message (SUBSCRIBE, …) with an error frame."""

    def __init__(self, code: int | None, msg: str, method: str | None = None) -> None:
        self.code = code
        self.msg = msg
        self.method = method
        where = f" to {method}" if method else ""
        super().__init__(f"Binance rejected the request{where}: code {code}: {msg}")


class ConnectionGaveUpError(BinanceTwistedError):
    """The retry limit was reached; the connection will not try again by itself."""

    def __init__(self, connection: str, attempts: int, last_reason: str) -> None:
        self.connection = connection
        self.attempts = attempts
        self.last_reason = last_reason
        super().__init__(
            f"{connection}: gave up after {attempts} failed connection attempts; "
            f"last error: {last_reason}"
        )


class NotConnectedError(BinanceTwistedError):
    """A request needs an open connection and there is none right now."""


class ClientClosedError(BinanceTwistedError):
    """The client (or the subscription) was closed while the operation was pending."""


def error_message(error_type: str, message: str) -> dict[str, str]:
    """The legacy in-band error shape ``{'e': 'error', 'type': ..., 'm': ...}``, a new dict."""
    return {"e": "error", "type": error_type, "m": message}
