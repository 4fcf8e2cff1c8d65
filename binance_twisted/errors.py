"""Exception types, and the in-band error dict that legacy callbacks receive.

Native code gets exceptions through Deferred errbacks; legacy python-binance callbacks
only ever saw dicts, so :func:`error_message` builds that flat shape afresh each time (the
legacy code passed one shared, mutable class-level dict to every callback).
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

__all__ = [
    "MAX_RETRY_AFTER",
    "BinanceAPIError",
    "BinanceTwistedError",
    "ClientClosedError",
    "ConnectionGaveUpError",
    "EndpointRemovedError",
    "MessageTooBigError",
    "MissingCredentialsError",
    "NotConnectedError",
    "RateLimitedError",
    "RequestTimeoutError",
    "RetiredStreamError",
    "StreamRequestError",
    "SyncTimeoutError",
    "callable_name",
    "error_message",
    "redact",
]

#: the longest a Retry-After is obeyed, in seconds; a longer one (a bogus header, or a ban of
#: days) is capped, so a client tries again, once, every 10 minutes at most
MAX_RETRY_AFTER = 600.0

#: a name longer than any symbol, all letters and digits, is most likely a listen key
_SYMBOL_MAX = 32
_SECRET_PREFIX = 6


def redact(name: str) -> str:
    """Show a credential-looking name (a listen key) by a short prefix only."""
    secret = len(name) > _SYMBOL_MAX and name.isascii() and name.isalnum()
    return name[:_SECRET_PREFIX] + "…" if secret else name


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


def _python_binance_api_exception() -> type[Exception]:
    """python-binance's ``BinanceAPIException`` where it is installed (so ``except`` clauses
    of code migrating from it catch our API errors too), else a private stand-in."""
    try:
        if importlib.util.find_spec("binance") is not None:
            from binance.exceptions import BinanceAPIException

            if isinstance(BinanceAPIException, type) and issubclass(BinanceAPIException, Exception):
                return BinanceAPIException
    except Exception:  # another package named "binance", or a broken install
        pass

    class NoPythonBinance(Exception):
        """Stands in for python-binance's class where it is not installed."""

    return NoPythonBinance


if TYPE_CHECKING:
    _PythonBinanceAPIException = Exception
else:
    _PythonBinanceAPIException = _python_binance_api_exception()


class BinanceAPIError(BinanceTwistedError, _PythonBinanceAPIException):
    """Binance refused a REST or WebSocket API request.

    ``status`` is the HTTP (or WS API) status, ``code`` and ``msg`` Binance's error body
    (``code`` is ``None`` when the body was not Binance JSON, e.g. an nginx page), and
    ``retry_after`` the seconds to wait (429/418), if Binance said: what it asked, at most
    :data:`MAX_RETRY_AFTER` (``asked_retry_after`` keeps the original).
    The text never contains request parameters, so no key or signature can leak into it.

    python-binance's names work too: ``status_code``, ``message`` and ``code``; where
    python-binance is installed this is also an instance of its ``BinanceAPIException``,
    so ``except BinanceAPIException`` keeps catching it.
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
        self.asked_retry_after = retry_after
        self.retry_after = None if retry_after is None else min(retry_after, MAX_RETRY_AFTER)
        self.request = request
        self.status_code = status  # python-binance's names for the same facts
        self.message = msg
        self.response = None
        where = f"{request}: " if request else ""
        wait = ""
        if retry_after is not None:
            wait = f" (retry after {self.retry_after:g} s"
            if self.retry_after != retry_after:
                wait += f"; Binance asked {retry_after:g} s"
            wait += ")"
        # not super(): python-binance's __init__ (when it is a base) wants a response object
        Exception.__init__(self, f"{where}HTTP {status}, Binance code {code}: {msg}{wait}")

    def __str__(self) -> str:
        return Exception.__str__(self)  # ours, not python-binance's "APIError(code=…)"


class RateLimitedError(BinanceAPIError):
    """429 (rate limit) or 418 (IP banned): wait ``retry_after`` seconds before any retry."""


class EndpointRemovedError(BinanceAPIError):
    """410 Gone: Binance removed this endpoint (e.g. Spot listenKeys); never retried."""


class MessageTooBigError(BinanceTwistedError):
    """A message over ``ConnectionPolicy.max_message_size`` ended its session.

    Reported as an ``ERROR`` event with ``code`` 1009 (the WebSocket close code the session
    failed with; it reconnects) and, to legacy callbacks, as the legacy error dict.
    """

    #: the WebSocket close code "message too big"
    code = 1009


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


class RetiredStreamError(ValueError):
    """A stream Binance no longer serves (or never served on Spot) was requested.

    A ``ValueError`` so that callers catching bad input catch this too; its own type so
    that legacy code can tell "gone, use X" apart from a typo. ``stream`` is the name as
    given, ``replacement`` says what to use instead, and ``str()`` says what was retired,
    when, and the replacement. A listen key is shown by its prefix only.
    """

    #: The stream name as the caller gave it.
    stream: str
    #: What to use instead, for people to read.
    replacement: str
    #: What was retired and when.
    reason: str

    def __init__(self, stream: str, reason: str, replacement: str) -> None:
        self.stream = stream
        self.reason = reason
        self.replacement = replacement
        shown = redact(stream.strip())
        super().__init__(f"stream {shown!r} is retired: {reason}. Use {replacement} instead.")

    def __reduce__(self) -> tuple[type[RetiredStreamError], tuple[str, str, str]]:
        return (type(self), (self.stream, self.reason, self.replacement))


def callable_name(function: object) -> str:
    """A user's callback as a log line should name it: ``module.qualname``, and where a
    lambda was written (``<lambda>`` alone says nothing)."""
    target = getattr(function, "func", function)  # functools.partial
    qualname = getattr(target, "__qualname__", None)
    if qualname is None:
        return repr(function)
    name = f"{getattr(target, '__module__', None) or '?'}.{qualname}"
    code = getattr(target, "__code__", None)
    if "<lambda>" in qualname and code is not None:
        name += f" ({code.co_filename}:{code.co_firstlineno})"
    return name
