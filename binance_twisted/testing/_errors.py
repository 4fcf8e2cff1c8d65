"""Binance's error answers, shared by the fake's REST side and its WebSocket API (pure).

An :class:`ApiError` carries the HTTP-like status and Binance's ``{"code", "msg"}`` (plus
``data`` on the WebSocket API for 429/418). Codes and messages follow ``errors.md`` as quoted
in binance-platform.md §7.3; where Binance documents no message for a situation the fake
picks the closest documented one (listed in ``docs/testing.rst``).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ApiError",
    "fault_error",
    "illegal_characters",
    "invalid_key",
    "invalid_signature",
    "mandatory",
]

INVALID_KEY_MSG = "Invalid API-key, IP, or permissions for action."
INVALID_SIGNATURE_MSG = "Signature for this request is not valid."
UNKNOWN_ERROR_MSG = "An unknown error occured while processing the request."  # sic, as Binance


class ApiError(Exception):
    """An error answer: ``status`` (HTTP semantics), Binance ``code`` and ``msg``, ``data``."""

    def __init__(self, status: int, code: int, msg: str, data: dict[str, Any] | None = None):
        super().__init__(msg)
        self.status = status
        self.code = code
        self.msg = msg
        self.data = data

    def error(self) -> dict[str, Any]:
        """``{"code", "msg"}`` plus ``data`` when there is any (the WebSocket API's shape)."""
        error: dict[str, Any] = {"code": self.code, "msg": self.msg}
        if self.data is not None:
            error["data"] = self.data
        return error


def invalid_key() -> ApiError:
    """401 -2015: unknown key, or a key without the permission the endpoint needs."""
    return ApiError(401, -2015, INVALID_KEY_MSG)


def invalid_signature() -> ApiError:
    """400 -1022."""
    return ApiError(400, -1022, INVALID_SIGNATURE_MSG)


def mandatory(name: str) -> ApiError:
    """400 -1102 for a missing or empty parameter."""
    msg = f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    return ApiError(400, -1102, msg)


def illegal_characters(name: str) -> ApiError:
    """400 -1100 for a parameter that must be a decimal integer."""
    msg = f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'."
    return ApiError(400, -1100, msg)


def fault_error(status: int, server_ms: int, retry_after: float | None) -> ApiError:
    """The error an injected fault answers with, chosen by ``status``.

    429 and 418 are -1003 (418 names the ban's end) with ``data`` ``{"retryAfter": ms,
    "serverTime": ms}`` (the WebSocket API's shape; REST drops ``data``), 401 -2015, 403
    -1002, 500 -1001, 503 -1008, other 5xx -1007 (status unknown), other 4xx -1000.
    """
    until = server_ms + int((retry_after or 0) * 1000)
    data = {"retryAfter": until, "serverTime": server_ms}
    if status == 429:
        msg = (
            "Too much request weight used; current limit is 6000 request weight per 1 MINUTE. "
            "Please use WebSocket Streams for live updates to avoid polling the API."
        )
        return ApiError(status, -1003, msg, data)
    if status == 418:
        msg = (
            f"Way too much request weight used; IP banned until {until}. "
            "Please use WebSocket Streams for live updates to avoid bans."
        )
        return ApiError(status, -1003, msg, data)
    if status == 401:
        return ApiError(status, -2015, INVALID_KEY_MSG)
    if status == 403:
        return ApiError(status, -1002, "You are not authorized to execute this request.")
    if status == 500:
        return ApiError(
            status, -1001, "Internal error; unable to process your request. Please try again."
        )
    if status == 503:
        msg = (
            "Server is currently overloaded with other requests. Please try again in a few minutes."
        )
        return ApiError(status, -1008, msg)
    if status >= 500:
        msg = (
            "Timeout waiting for response from backend server. "
            "Send status unknown; execution status unknown."
        )
        return ApiError(status, -1007, msg)
    return ApiError(status, -1000, UNKNOWN_ERROR_MSG)
