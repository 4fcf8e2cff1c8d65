"""Reading WebSocket API ``params`` the way Binance's servers do (pure).

A :class:`Reader` hands out typed values and remembers which names were read; at the end,
:meth:`Reader.finish` answers -1104 for anything sent but never read (Binance's "Not all sent
parameters were read"). Amounts become integers in units of 1e-8, like the simulated market
(:mod:`binance_twisted.testing._market`). Error codes and messages follow ``errors.md``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from binance_twisted.testing._errors import ApiError, illegal_characters, mandatory

__all__ = ["AUTH", "Reader", "either", "not_required", "too_much_precision"]

#: The security parameters, read by the signature check rather than by a method.
AUTH = ("apiKey", "signature", "timestamp", "recvWindow")
#: Never counted as sent: it only shapes the response.
_IGNORED = frozenset({"returnRateLimits"})
_DECIMAL = re.compile(r"[0-9]{1,20}(?:\.[0-9]{1,20})?")
_DECIMAL_RANGE = r"^([0-9]{1,20})(\.[0-9]{1,20})?$"
_SYMBOL = re.compile(r"[A-Za-z0-9\-_.]{1,20}")
_SYMBOL_RANGE = "^[A-Z0-9-_.]{1,20}$"
_E8 = 100_000_000


def not_required(name: str) -> ApiError:
    """400 -1106."""
    return ApiError(400, -1106, f"Parameter '{name}' sent when not required.")


def either(first: str, second: str) -> ApiError:
    """400 -1102 when neither of two alternatives was sent."""
    return ApiError(
        400, -1102, f"Param '{first}' or '{second}' must be sent, but both were empty/null!"
    )


def too_much_precision(name: str) -> ApiError:
    """400 -1111."""
    return ApiError(400, -1111, f"Parameter '{name}' has too much precision.")


def invalid(name: str) -> ApiError:
    """400 -1130."""
    return ApiError(400, -1130, f"Data sent for parameter '{name}' is not valid.")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Reader:
    """Typed access to one request's params; :meth:`finish` refuses unread ones."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.params = params
        self._read: set[str] = set()

    def mark(self, *names: str) -> None:
        """Count ``names`` as read (the security parameters, checked elsewhere)."""
        self._read.update(names)

    def raw(self, name: str) -> Any:
        """The value, or ``None`` when absent, ``null`` or empty."""
        self._read.add(name)
        value = self.params.get(name)
        return None if value is None or value == "" else value

    def has(self, name: str) -> bool:
        """Whether ``name`` was sent with a value (it counts as read)."""
        return self.raw(name) is not None

    def string(self, name: str, required: bool = False) -> str | None:
        value = self.raw(name)
        if value is None:
            if required:
                raise mandatory(name)
            return None
        return _text(value)

    def integer(self, name: str, required: bool = False, default: int | None = None) -> int | None:
        """A non-negative integer (a JSON number or a string of digits); else -1100."""
        value = self.raw(name)
        if value is None:
            if required:
                raise mandatory(name)
            return default
        if isinstance(value, bool):
            raise illegal_characters(name)
        text = _text(value)
        if not re.fullmatch(r"[0-9]{1,20}", text):
            raise illegal_characters(name)
        return int(text)

    def amount(self, name: str, required: bool = False) -> int | None:
        """A positive decimal in units of 1e-8 (-1100 for junk, -1111 past 8 decimals)."""
        value = self.raw(name)
        if value is None:
            if required:
                raise mandatory(name)
            return None
        if isinstance(value, bool):
            raise ApiError(
                400,
                -1100,
                f"Illegal characters found in parameter '{name}'; legal range is "
                f"'{_DECIMAL_RANGE}'.",
            )
        text = _text(value)
        if isinstance(value, float):
            text = format(Decimal(repr(value)), "f")
        if not _DECIMAL.fullmatch(text):
            raise ApiError(
                400,
                -1100,
                f"Illegal characters found in parameter '{name}'; legal range is "
                f"'{_DECIMAL_RANGE}'.",
            )
        try:
            scaled = Decimal(text) * _E8
        except InvalidOperation:  # pragma: no cover - the pattern excludes it
            raise invalid(name) from None
        if scaled != scaled.to_integral_value():
            raise too_much_precision(name)
        return int(scaled)

    def choice(
        self,
        name: str,
        choices: Iterable[str],
        error: ApiError | None = None,
        *,
        required: bool = False,
        default: str | None = None,
    ) -> str | None:
        """One of ``choices`` (case-sensitive, as on Binance); else ``error`` or -1130."""
        value = self.string(name, required=required)
        if value is None:
            return default
        if value not in set(choices):
            raise error if error is not None else invalid(name)
        return value

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        text = _text(value).lower()
        if text not in ("true", "false"):
            raise invalid(name)
        return text == "true"

    def symbol(self, name: str = "symbol", required: bool = True) -> str | None:
        """An upper-cased symbol name (-1100 for characters Binance never uses)."""
        value = self.string(name, required=required)
        if value is None:
            return None
        if not _SYMBOL.fullmatch(value):
            raise ApiError(
                400,
                -1100,
                f"Illegal characters found in parameter '{name}'; legal range is "
                f"'{_SYMBOL_RANGE}'.",
            )
        return value.upper()

    def symbols(self, name: str = "symbols") -> list[str] | None:
        """A list of symbols: a JSON array, or a string holding one; -1151 for repeats."""
        value = self.raw(name)
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise ApiError(
                    400, -1135, f"JSON sent for parameter '{name}' is not valid"
                ) from None
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise invalid(name)
        names = []
        for item in value:
            if not _SYMBOL.fullmatch(item):
                raise ApiError(400, -1121, "Invalid symbol.")
            names.append(item.upper())
        if len(set(names)) != len(names):
            raise ApiError(400, -1151, "Symbol is present multiple times in the list.")
        return names

    def finish(self) -> None:
        """-1104 if any sent parameter was not read (``returnRateLimits`` aside)."""
        sent = [name for name in self.params if name not in _IGNORED]
        unread = [name for name in sent if name not in self._read]
        if unread:
            read = len(sent) - len(unread)
            msg = (
                f"Not all sent parameters were read; read '{read}' parameter(s) "
                f"but was sent '{len(sent)}'."
            )
            raise ApiError(400, -1104, msg)
