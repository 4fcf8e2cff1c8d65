"""What type checkers and IDEs know of the generated ``ws_*`` methods.

The methods are generated at import time from :data:`~binance_twisted.wsapi.table.METHODS`,
so a type checker reading the source sees none of them. ``declarations.pyi`` declares every
one with its keyword parameters (so ``api.ws_get_order_book(symbl="X")`` is flagged before it
runs); at run time the classes below are empty bases. The Deferred-returning and the
blocking methods share one generic declaration. The stub is rendered from the same table by
``scripts/render_ws_stubs.py``, and a test fails if the committed file differs.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from twisted.internet.defer import Deferred

__all__ = ["Declarations", "SyncWsApiDeclarations", "WsApiDeclarations"]

Result = TypeVar("Result")


class Declarations(Generic[Result]):
    """Every ``ws_*`` method, returning ``Result`` (declared in the stub only)."""


class WsApiDeclarations(Declarations[Deferred[Any]]):
    """Base of :class:`~binance_twisted.wsapi.methods.WsApiMethods` (Deferred-returning)."""


class SyncWsApiDeclarations(Declarations[Any]):
    """Base of :class:`~binance_twisted.legacy.blocking.SyncWsApiMethods` (blocking)."""
