"""Exception types, and the in-band error dict that legacy callbacks receive.

Native code gets exceptions through Deferred errbacks; legacy python-binance callbacks
only ever saw dicts, so :func:`error_message` builds that flat shape afresh each time (the
legacy code passed one shared, mutable class-level dict to every callback).
"""

from __future__ import annotations

__all__ = [
    "BinanceAPIError",
    "BinanceTwistedError",
    "ClientClosedError",
    "ConnectionGaveUpError",
    "EndpointRemovedError",
    "MissingCredentialsError",
    "NotConnectedError",
    "RateLimitedError",
    "RequestTimeoutError",
    "StreamRequestError",
    "SyncTimeoutError",
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


class BinanceAPIError(BinanceTwistedError):
    """Binance refused a REST or WebSocket API request.

    ``status`` is the HTTP (or WS API) status, ``code`` and ``msg`` Binance's error body
    (``code`` is ``None`` when the body was not Binance JSON, e.g. an nginx page), and
    ``retry_after`` the seconds Binance asked us to wait (429/418), if it said.
    The text never contains request parameters, so no key or signature can leak into it.
    """

    def __init__(
        self,
        status: int,
        code: int | None,
        msg: str,
        retry_after: float | None = None,
        request: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.msg = msg
        self.retry_after = retry_after
        self.request = request
        where = f"{request}: " if request else ""
        wait = f" (retry after {retry_after:g} s)" if retry_after is not None else ""
        super().__init__(f"{where}HTTP {status}, Binance code {code}: {msg}{wait}")


class RateLimitedError(BinanceAPIError):
    """429 (rate limit) or 418 (IP banned): wait ``retry_after`` seconds before any retry."""


class EndpointRemovedError(BinanceAPIError):
    """410 Gone: Binance removed this endpoint (e.g. Spot listenKeys); never retried."""


class MissingCredentialsError(BinanceTwistedError, ValueError):
    """An account operation was asked for without the API key or secret it needs."""


class ClientClosedError(BinanceTwistedError):
    """The client (or the subscription) was closed while the operation was pending."""


def error_message(error_type: str, message: str) -> dict[str, str]:
    """The legacy in-band error shape ``{'e': 'error', 'type': ..., 'm': ...}``, a new dict."""
    return {"e": "error", "type": error_type, "m": message}


class RequestTimeoutError(BinanceTwistedError, TimeoutError):
    """No (complete) reply within the request timeout; the request's outcome is unknown.

    ``request`` names the request (``"METHOD /path"`` for REST, never its parameters) and
    ``timeout`` is the limit in seconds, when the raiser knows them.
    """

    def __init__(
        self, message: str, *, request: str | None = None, timeout: float | None = None
    ) -> None:
        self.request = request
        self.timeout = timeout
        super().__init__(message)


class SyncTimeoutError(BinanceTwistedError, TimeoutError):
    """A local order book did not reach ``synced`` within the time the caller would wait."""
