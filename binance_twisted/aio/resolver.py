"""Host names resolved by the asyncio loop, for the reactor the asyncio surface starts.

Twisted resolves names in its reactor's thread pool, whose threads stop only when the
reactor shuts down. Under ``asyncio.run()`` the reactor never shuts down (the loop just
ends), so the first REST request would leave a thread that keeps the process from
exiting. The loop's own ``getaddrinfo`` runs in the loop's default executor, which
``asyncio.run()`` shuts down on the way out.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence
from typing import Any, Literal

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import (
    IAddress,
    IHostnameResolver,
    IHostResolution,
    IResolutionReceiver,
)
from zope.interface import implementer

__all__ = ["LoopResolver"]

_FAMILIES = {
    frozenset({IPv4Address}): socket.AF_INET,
    frozenset({IPv6Address}): socket.AF_INET6,
}
_SOCKET_TYPES = {"TCP": socket.SOCK_STREAM, "UDP": socket.SOCK_DGRAM}
_SEMANTICS: dict[int, Literal["TCP", "UDP"]] = {
    socket.SOCK_STREAM: "TCP",
    socket.SOCK_DGRAM: "UDP",
}


@implementer(IHostResolution)
class _Resolution:
    def __init__(self, name: str, future: asyncio.Future) -> None:
        self.name = name
        self._future = future

    def cancel(self) -> None:
        self._future.cancel()


@implementer(IHostnameResolver)
class LoopResolver:
    """An ``IHostnameResolver`` over ``loop.getaddrinfo`` (see the module)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def resolveHostName(
        self,
        resolutionReceiver: IResolutionReceiver,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[type[IAddress]] | None = None,
        transportSemantics: str = "TCP",
    ) -> IHostResolution:
        family = _FAMILIES.get(frozenset(addressTypes or ()), socket.AF_UNSPEC)
        kind = _SOCKET_TYPES[transportSemantics]
        future = asyncio.ensure_future(
            self._loop.getaddrinfo(hostName, portNumber, family=family, type=kind),
            loop=self._loop,
        )
        resolution = _Resolution(hostName, future)
        resolutionReceiver.resolutionBegan(resolution)

        def resolved(done: asyncio.Future) -> None:
            found: list[Any] = [] if done.cancelled() or done.exception() else done.result()
            for address_family, socket_type, _, _, address in found:
                make = IPv6Address if address_family == socket.AF_INET6 else IPv4Address
                semantics = _SEMANTICS.get(socket_type, "TCP")
                resolutionReceiver.addressResolved(make(semantics, address[0], address[1]))
            resolutionReceiver.resolutionComplete()

        future.add_done_callback(resolved)
        return resolution
