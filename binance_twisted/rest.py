"""The few Binance REST calls a stream client needs, over treq, returning Deferreds.

:class:`RestClient` is one REST base URL with optional credentials. It signs requests the
way Binance checks them today (binance-platform.md §4.4): the payload is the percent-encoded
query string *exactly as sent*, so the URL is built here from the very string that was
signed. It maps Binance's HTTP answers to exceptions (§6, §7):

* 2xx: the decoded JSON;
* 410: :class:`~binance_twisted.errors.EndpointRemovedError` (the body is an nginx page),
  never retried;
* 429/418: :class:`~binance_twisted.errors.RateLimitedError`, and until ``Retry-After`` has
  passed every request on the client fails fast *without I/O*, so retries cannot extend a ban;
* any other non-2xx: :class:`~binance_twisted.errors.BinanceAPIError` with Binance's
  ``code``/``msg`` (``code`` is ``None`` for a non-JSON body, ``msg`` a short plain excerpt);
* ``-1021`` (INVALID_TIMESTAMP) on a SIGNED request: the server-time offset is re-synced and
  the request retried once;
* no complete answer within ``timeout``: :class:`~binance_twisted.errors.RequestTimeoutError`.

Exception texts and log events name the request as ``"METHOD /path"`` only: never the
parameters, the API key, the signature or a listen key.

Account-level calls built on it (listen keys, listen tokens) live in
:mod:`binance_twisted.accounts`. Everything here runs on the reactor thread.
"""

from __future__ import annotations

import email.utils
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from treq.client import HTTPClient
from twisted.internet import defer
from twisted.internet.defer import CancelledError, Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.client import (
    Agent,
    BrowserLikePolicyForHTTPS,
    HTTPConnectionPool,
    RequestTransmissionFailed,
    ResponseFailed,
    ResponseNeverReceived,
)
from twisted.web.http_headers import Headers

from binance_twisted._core.bodies import excerpt, read_body
from binance_twisted._core.policy import check_seconds
from binance_twisted._core.tls import TrustRoot, check_plaintext, load_trust_root
from binance_twisted._json import DECODE_ERRORS, loads
from binance_twisted.errors import (
    BinanceAPIError,
    BinanceTwistedError,
    EndpointRemovedError,
    MissingCredentialsError,
    RateLimitedError,
    RequestTimeoutError,
)
from binance_twisted.signing import Signer, rest_payload

__all__ = ["SECURITY_TYPES", "RestClient"]

log = Logger(namespace="binance_twisted.rest")

SECURITY_TYPES = ("NONE", "API_KEY", "SIGNED")
"""``NONE``: public. ``API_KEY``: the ``X-MBX-APIKEY`` header only (USER_STREAM endpoints).
``SIGNED``: the header plus ``timestamp`` (and ``recvWindow``) and ``signature``."""

_METHODS = ("GET", "POST", "PUT", "DELETE")
_API_KEY_HEADER = b"X-MBX-APIKEY"
_INVALID_TIMESTAMP = -1021
_MAX_RECV_WINDOW_MS = 60_000
_CLOCK_SLACK = 1e-3  # s; float error when telling a timeout from a caller's cancel
# Binance always sends Retry-After with 429/418; if it ever does not, still back off
# (an IP ban lasts at least 2 minutes) rather than hammer it.
_DEFAULT_RETRY_AFTER = {429: 60.0, 418: 120.0}
# Parameter values that are secrets; they are scrubbed from any error text Binance echoes.
_SECRET_PARAMS = frozenset({"listenKey", "listenToken", "signature", "apiKey"})
_MIN_SECRET_LEN = 8
_API_KEY_CHARS = re.compile(r"[\x21-\x7e]+")

Params = Sequence[tuple[str, Any]] | Mapping[str, Any] | None


class RestClient:
    """One REST base URL with optional credentials.

    ``api_key`` goes into the ``X-MBX-APIKEY`` header of ``API_KEY`` and ``SIGNED``
    requests; ``signer`` (from :func:`binance_twisted.signing.load_signer`) signs ``SIGNED``
    ones. ``recv_window`` (ms, at most 60000) is sent with signed requests when given.
    ``timeout`` bounds each request, from sending to the last body byte, and
    ``max_body_size`` its body (32 MiB; a bigger one fails with
    :class:`~binance_twisted.errors.MessageTooBigError` and its connection is closed).

    ``http`` is a treq-like client (``treq.testing.StubTreq`` in tests). By default it is a
    ``treq.HTTPClient`` over an ``Agent`` that verifies TLS against ``trust_root`` (the
    platform store when ``None``) and keeps no idle connections. Redirects are never followed
    (the API key header must not travel to another host). ``http://`` is refused for hosts
    other than this machine unless ``allow_plaintext=True``.
    """

    def __init__(
        self,
        reactor: Any,
        base_url: str,
        *,
        api_key: str | None = None,
        signer: Signer | None = None,
        trust_root: TrustRoot = None,
        recv_window: float | None = None,
        timeout: float = 10.0,
        time_path: str = "/api/v3/time",
        http: Any = None,
        allow_plaintext: bool = False,
        max_body_size: int = 32 * 1024 * 1024,
    ) -> None:
        if not isinstance(base_url, str) or not base_url.startswith(("https://", "http://")):
            raise ValueError(f"base_url must be an http(s):// URL, not {base_url!r}")
        check_plaintext(base_url, "base_url", allow_plaintext)
        if "?" in base_url or "#" in base_url:
            raise ValueError(f"base_url must not hold a query or fragment: {base_url!r}")
        if api_key is not None and (
            not isinstance(api_key, str) or not _API_KEY_CHARS.fullmatch(api_key)
        ):
            # Never echo the value: it may be a real key with a stray newline.
            raise ValueError("api_key must be a non-empty string of printable ASCII, no spaces")
        if signer is not None and not callable(getattr(signer, "sign", None)):
            raise TypeError(
                "signer must be a Signer (see binance_twisted.signing.load_signer), "
                f"not {type(signer).__name__}"
            )
        if recv_window is not None and (
            isinstance(recv_window, bool)
            or not isinstance(recv_window, (int, float))
            or not 0 < recv_window <= _MAX_RECV_WINDOW_MS
        ):
            raise ValueError(
                f"recv_window must be None or a number of ms in (0, {_MAX_RECV_WINDOW_MS}], "
                f"not {recv_window!r}"
            )
        check_seconds("timeout", timeout)
        if (
            isinstance(max_body_size, bool)
            or not isinstance(max_body_size, int)
            or max_body_size < 1024
        ):
            raise ValueError(
                f"max_body_size must be an int of at least 1024 (bytes), not {max_body_size!r}"
            )
        _check_path(time_path, "time_path")
        self._reactor = reactor
        self._max_body_size = max_body_size
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._signer = signer
        self._recv_window = recv_window
        self._timeout = float(timeout)
        self._time_path = time_path
        self._offset_ms = 0.0
        self._blocked_until = -math.inf
        self._blocked_status = 429
        if http is None:
            agent = Agent(
                reactor,
                contextFactory=BrowserLikePolicyForHTTPS(trustRoot=load_trust_root(trust_root)),
                pool=HTTPConnectionPool(reactor, persistent=False),
            )
            http = HTTPClient(agent)
        self._http = http

    def __repr__(self) -> str:
        key = "set" if self._api_key else "none"
        signer = getattr(self._signer, "key_type", "set") if self._signer is not None else "none"
        return f"<RestClient {self._base_url} api_key={key} signer={signer}>"

    @property
    def base_url(self) -> str:
        """The REST base URL, without a trailing slash."""
        return self._base_url

    @property
    def time_offset(self) -> float:
        """Server time minus local time, in ms, as last measured by :meth:`sync_time` (0 before)."""
        return self._offset_ms

    def request(
        self, method: str, path: str, params: Params = None, *, security: str = "NONE"
    ) -> Deferred[Any]:
        """Send one request; fires with the decoded JSON of a 2xx answer.

        ``params`` (a sequence of pairs, kept in order, or a mapping) always go into the
        query string. Bad arguments and missing credentials raise here, before any I/O.
        """
        if method not in _METHODS:
            raise ValueError(f"method must be one of {', '.join(_METHODS)}, not {method!r}")
        _check_path(path, "path")
        if security not in SECURITY_TYPES:
            raise ValueError(
                f"security must be one of {', '.join(map(repr, SECURITY_TYPES))}, not {security!r}"
            )
        label = f"{method} {path}"
        self._check_credentials(label, security)
        items = _param_items(params)
        query = rest_payload(query=items)  # renders and validates every value now
        secrets = self._secrets(items)
        if security != "SIGNED":
            return self._send(method, path, label, security, lambda: query, secrets)

        def signed_query() -> str:
            payload = rest_payload(query=[*items, *self._timing_params()])
            assert self._signer is not None
            signature = self._signer.sign(payload.encode("utf-8"))
            secrets.append(signature)
            return f"{payload}&{rest_payload(query=[('signature', signature)])}"

        d = self._send(method, path, label, security, signed_query, secrets)

        def resync_and_retry(failure: Failure) -> Any:
            error = failure.value
            if (
                not isinstance(error, BinanceAPIError)
                or isinstance(error, RateLimitedError)
                or error.code != _INVALID_TIMESTAMP
            ):
                return failure
            log.info(
                "{request}: Binance rejected the timestamp (-1021); re-syncing the clock "
                "and retrying once",
                request=label,
            )
            retry = self.sync_time()
            retry.addCallback(
                lambda _: self._send(method, path, label, security, signed_query, secrets)
            )
            return retry

        return d.addErrback(resync_and_retry)

    def sync_time(self) -> Deferred[float]:
        """Measure the server-time offset (``GET time_path``), store it and fire with it (ms).

        The offset is ``serverTime`` minus the midpoint of the local send and receive times,
        and is added to the ``timestamp`` of every later signed request.
        """
        label = f"GET {self._time_path}"
        started = self._reactor.seconds()
        d = self._send("GET", self._time_path, label, "NONE", lambda: "", [])

        def measured(result: Any) -> float:
            finished = self._reactor.seconds()
            server = result.get("serverTime") if isinstance(result, dict) else None
            if isinstance(server, bool) or not isinstance(server, (int, float)):
                raise BinanceAPIError(
                    200, None, "the answer has no numeric serverTime", None, label
                )
            self._offset_ms = float(server) - (started + finished) * 500.0
            log.debug("server time offset {offset:.1f} ms", offset=self._offset_ms)
            return self._offset_ms

        return d.addCallback(measured)

    # -- internals ---------------------------------------------------------------------

    def _check_credentials(self, label: str, security: str) -> None:
        if security == "NONE":
            return
        missing = []
        if not self._api_key:
            missing.append("an API key (api_key)")
        if security == "SIGNED" and self._signer is None:
            missing.append("a signer for the secret or private key (signer)")
        if missing:
            raise MissingCredentialsError(
                f"{label} is a {security} request and needs {' and '.join(missing)}; "
                "this RestClient was created without it"
            )

    def _timing_params(self) -> list[tuple[str, Any]]:
        timestamp = round(self._reactor.seconds() * 1000 + self._offset_ms)
        timing: list[tuple[str, Any]] = [("timestamp", timestamp)]
        if self._recv_window is not None:
            timing.append(("recvWindow", _render_ms(self._recv_window)))
        return timing

    def _secrets(self, items: list[tuple[str, Any]]) -> list[str]:
        secrets = [str(value) for name, value in items if name in _SECRET_PARAMS]
        if self._api_key:
            secrets.append(self._api_key)
        return secrets

    def _send(
        self,
        method: str,
        path: str,
        label: str,
        security: str,
        build_query: Any,
        secrets: list[str],
    ) -> Deferred[Any]:
        now = self._reactor.seconds()
        if now < self._blocked_until:
            remaining = self._blocked_until - now
            return defer.fail(
                RateLimitedError(
                    self._blocked_status,
                    None,
                    f"not sent: backing off after HTTP {self._blocked_status} "
                    "until the Retry-After time has passed",
                    retry_after=remaining,
                    request=label,
                )
            )
        query = build_query()
        url = self._base_url + path + (f"?{query}" if query else "")
        headers = Headers()
        if security != "NONE":
            assert self._api_key is not None
            headers.setRawHeaders(_API_KEY_HEADER, [self._api_key.encode("ascii")])
        try:
            d = self._http.request(
                method,
                url,
                headers=headers,
                data=None,
                timeout=self._timeout,
                reactor=self._reactor,
                allow_redirects=False,
            )
        except Exception:
            return defer.fail()
        d.addCallback(self._read, label, now, secrets)
        d.addErrback(self._transport_failure, label, now)
        return d

    def _read(self, response: Any, label: str, started: float, secrets: list[str]) -> Any:
        remaining = max(self._timeout - (self._reactor.seconds() - started), 0.0)
        body = read_body(response, self._max_body_size, label)
        body.addTimeout(remaining, self._reactor)
        body.addCallback(self._decode, response.code, response.headers, label, secrets)
        return body

    def _decode(
        self, body: bytes, status: int, headers: Headers, label: str, secrets: list[str]
    ) -> Any:
        log.debug("{request} -> HTTP {status}", request=label, status=status)
        if 200 <= status < 300:
            try:
                return loads(body)
            except DECODE_ERRORS:
                msg = _scrub(excerpt(f"HTTP {status} with a body that is not JSON", body), secrets)
                raise BinanceAPIError(status, None, msg, None, label) from None
        if status == 410:
            log.warn("{request}: 410 Gone, Binance removed this endpoint", request=label)
            raise EndpointRemovedError(
                status, None, "endpoint removed by Binance (410 Gone)", None, label
            )
        code, msg = _error_body(status, body)
        msg = _scrub(msg, secrets)
        if status in _DEFAULT_RETRY_AFTER:
            retry_after = _retry_after(headers.getRawHeaders(b"retry-after"), self._reactor)
            if retry_after is None:
                retry_after = _DEFAULT_RETRY_AFTER[status]
                msg = f"{msg} (no Retry-After header; backing off {retry_after:g} s)"
            error = RateLimitedError(status, code, msg, retry_after, label)
            wait = error.retry_after
            assert wait is not None
            until = self._reactor.seconds() + wait
            if until > self._blocked_until:
                self._blocked_until = until
                self._blocked_status = status
            log.warn(
                "{request}: HTTP {status} ({what}); no request is sent for {wait:g} s{capped}",
                request=label,
                status=status,
                what="IP banned" if status == 418 else "rate limited",
                wait=wait,
                capped="" if wait == retry_after else f" (Retry-After said {retry_after:g} s)",
            )
            raise error
        raise BinanceAPIError(status, code, msg, None, label)

    def _transport_failure(self, failure: Failure, label: str, started: float) -> Failure:
        if failure.check(BinanceTwistedError):
            return failure
        elapsed = self._reactor.seconds() - started
        # treq's timer (or the body's) cancelled it, rather than the caller.
        if _cancelled(failure) and elapsed + _CLOCK_SLACK >= self._timeout:
            log.debug("{request} timed out", request=label)
            raise RequestTimeoutError(
                f"{label}: no complete response within {self._timeout:g} s (timeout=); "
                "whether Binance executed it is unknown",
                request=label,
                timeout=self._timeout,
            )
        if _cancelled(failure):
            # The caller cancelled; the agent wraps that in ResponseNeverReceived.
            raise CancelledError(f"{label} was cancelled")
        log.debug("{request} failed: {error}", request=label, error=type(failure.value).__name__)
        return failure


# -- helpers ---------------------------------------------------------------------------


def _check_path(path: str, name: str) -> None:
    if not isinstance(path, str) or not path.startswith("/") or "?" in path or "#" in path:
        raise ValueError(
            f"{name} must start with '/' and hold no query (pass params instead), not {path!r}"
        )


def _param_items(params: Params) -> list[tuple[str, Any]]:
    if params is None:
        return []
    if isinstance(params, Mapping):
        items = list(params.items())
    elif isinstance(params, (str, bytes)) or not isinstance(params, Sequence):
        raise TypeError(
            "params must be a mapping or a sequence of (name, value) pairs, "
            f"not {type(params).__name__}"
        )
    else:
        items = list(params)
    for item in items:
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
            raise TypeError("params must hold (name, value) pairs with str names")
    return items


def _render_ms(value: float) -> str:
    """``5000`` → ``"5000"``, ``5000.5`` → ``"5000.5"`` (Binance takes up to 3 decimals)."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return text


def _error_body(status: int, body: bytes) -> tuple[int | None, str]:
    """Binance's ``{"code", "msg"}``, or ``(None, "HTTP <status>: excerpt")``."""
    try:
        decoded = loads(body)
    except DECODE_ERRORS:
        decoded = None
    if isinstance(decoded, dict):
        code, msg = decoded.get("code"), decoded.get("msg")
        if isinstance(code, int) and not isinstance(code, bool):
            return code, msg if isinstance(msg, str) else f"HTTP {status}"
    return None, excerpt(f"HTTP {status}", body)


def _scrub(msg: str, secrets: list[str]) -> str:
    for secret in secrets:
        if len(secret) >= _MIN_SECRET_LEN:
            msg = msg.replace(secret, "<redacted>")
    return msg


def _retry_after(values: Sequence[bytes] | None, reactor: Any) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not values:
        return None
    text = values[0].decode("latin-1").strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - reactor.seconds()
    if not math.isfinite(seconds):
        return None
    return max(seconds, 0.0)


def _cancelled(failure: Failure) -> bool:
    """Whether the failure is a cancellation (treq's timeout cancels the request)."""
    if failure.check(CancelledError, defer.TimeoutError):
        return True
    error = failure.value
    if isinstance(error, (ResponseNeverReceived, ResponseFailed, RequestTransmissionFailed)):
        return any(
            isinstance(reason, Failure) and reason.check(CancelledError) for reason in error.reasons
        )
    return False
