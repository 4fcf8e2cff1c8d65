"""Live control messages on a stream connection: decoding, validation, replies (pure).

Binance answers every control frame with ``{"result": …, "id": N}`` or, on the wire, with the
error wrapped as ``{"error": {"code": C, "msg": "…"}, "id": N}`` (the ``id`` is left out when
the request has none the server could read). The codes and messages follow
binance-platform.md §1.4. Checks that need connection state (the stream cap) are made by the
caller; everything that depends only on the frame is made here.
"""

from __future__ import annotations

import json
import re
from typing import Any

import attrs

from binance_twisted.testing._names import is_well_formed

__all__ = [
    "INVALID_STREAM",
    "METHODS",
    "ControlError",
    "Request",
    "decode",
    "error_frame",
    "result_frame",
]

METHODS = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY")
INVALID_STREAM = "Invalid request: invalid stream"
_PROPERTY = "combined"
_STRING_ID = re.compile(r"[A-Za-z0-9]{1,36}")
_INT64 = range(-(2**63), 2**63)

RequestId = int | str | None


class ControlError(Exception):
    """A control frame Binance answers with an error frame."""

    def __init__(self, code: int, msg: str, request_id: RequestId = None, *, has_id: bool) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.request_id = request_id
        self.has_id = has_id


@attrs.frozen
class Request:
    """A valid control request: ``params`` normalised per method (stream names deduplicated)."""

    method: str
    params: list[Any]
    id: RequestId
    message: dict[str, Any]


def decode(payload: bytes) -> Request:
    """Decode and validate one control frame.

    Raises:
        ControlError: code 3 for bad JSON; code 2 for a bad id, method, parameter count or
            stream name; code 0/1 for a bad property name/value.
    """
    message = _load(payload)
    if not isinstance(message, dict):
        raise ControlError(2, "Invalid request: expected a JSON object", has_id=False)
    if not _valid_id(message.get("id", ...)):
        msg = "Invalid request: request ID must be an unsigned integer"
        raise ControlError(2, msg, has_id=False)
    request_id = message["id"]

    def fail(code: int, msg: str) -> ControlError:
        return ControlError(code, msg, request_id, has_id=True)

    method = message.get("method")
    if method is None:
        raise fail(2, "Invalid request: missing field `method`")
    if method not in METHODS:
        expected = ", ".join(f"`{name}`" for name in METHODS)
        raise fail(2, f"Invalid request: unknown variant `{method}`, expected one of {expected}")
    params = message.get("params", [])
    if not isinstance(params, list):
        raise fail(2, "Invalid request: params must be an array")
    if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
        if not all(map(is_well_formed, params)):
            raise fail(2, INVALID_STREAM)
        params = list(dict.fromkeys(params))
    else:
        problem = _property_params_problem(method, params)
        if problem is not None:
            raise fail(*problem)
    return Request(method, params, request_id, message)


def _load(payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except UnicodeDecodeError:
        raise ControlError(3, "Invalid JSON: invalid UTF-8", has_id=False) from None
    except json.JSONDecodeError as e:
        msg = f"Invalid JSON: {e.msg.lower()} at line {e.lineno} column {e.colno}"
        raise ControlError(3, msg, has_id=False) from None


def _valid_id(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return _STRING_ID.fullmatch(value) is not None
    return isinstance(value, int) and not isinstance(value, bool) and value in _INT64


def _property_params_problem(method: str, params: list[Any]) -> tuple[int, str] | None:
    """``(code, msg)`` if the params of a LIST/GET/SET request are wrong, else ``None``."""
    allowed = {"LIST_SUBSCRIPTIONS": 0, "GET_PROPERTY": 1, "SET_PROPERTY": 2}[method]
    if len(params) > allowed:
        return 2, "Invalid request: too many parameters"
    if method == "LIST_SUBSCRIPTIONS":
        return None
    if not params or not isinstance(params[0], str):
        return 2, "Invalid request: property name must be a string"
    if params[0] != _PROPERTY:
        return 0, "Unknown property"
    if method == "SET_PROPERTY" and (len(params) < 2 or not isinstance(params[1], bool)):
        return 1, "Invalid value type: expected Boolean"
    return None


def result_frame(result: Any, request_id: RequestId) -> dict[str, Any]:
    """``{"result": result, "id": request_id}``."""
    return {"result": result, "id": request_id}


def error_frame(error: ControlError) -> dict[str, Any]:
    """The wire form ``{"error": {"code", "msg"}, "id"}``; no ``id`` if none was readable."""
    frame: dict[str, Any] = {"error": {"code": error.code, "msg": error.msg}}
    if error.has_id:
        frame["id"] = error.request_id
    return frame
