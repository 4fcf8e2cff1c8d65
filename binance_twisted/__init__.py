"""Twisted-native Binance WebSocket client and drop-in ``BinanceSocketManager`` replacement.

The curated face of the package: the native API (streams, the WebSocket API, account
streams, order books, REST) and the python-binance names legacy code imports. Every name
here is pinned by ``tests/test_exports.py``; the wings behind it are described in
``docs/design.rst``.

A name is imported from its wing when it is first used (PEP 562), so a program that needs
only ``StreamClient`` does not load the legacy managers, the WebSocket API, the account
streams or treq: 3.6 MB less resident memory, 7,000 fewer objects for the garbage
collector to walk, and a faster start. Type checkers read the imports below.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from binance_twisted._core.policy import ConnectionPolicy as ConnectionPolicy
    from binance_twisted.accounts import (
        ListenKeys as ListenKeys,
        ListenKeyStream as ListenKeyStream,
        create_listen_token as create_listen_token,
        subscribe_margin as subscribe_margin,
    )
    from binance_twisted.depth import (
        DepthSynchroniser as DepthSynchroniser,
        OrderBook as OrderBook,
        SnapshotScheduler as SnapshotScheduler,
    )
    from binance_twisted.endpoints import Endpoints as Endpoints
    from binance_twisted.errors import (
        BinanceAPIError as BinanceAPIError,
        BinanceTwistedError as BinanceTwistedError,
        ClientClosedError as ClientClosedError,
        ConnectionGaveUpError as ConnectionGaveUpError,
        EndpointRemovedError as EndpointRemovedError,
        MessageTooBigError as MessageTooBigError,
        MissingCredentialsError as MissingCredentialsError,
        NotConnectedError as NotConnectedError,
        RateLimitedError as RateLimitedError,
        RequestTimeoutError as RequestTimeoutError,
        StreamRequestError as StreamRequestError,
        SyncTimeoutError as SyncTimeoutError,
    )
    from binance_twisted.events import (
        ConnectionEvent as ConnectionEvent,
        EventKind as EventKind,
    )
    from binance_twisted.legacy import (
        BinanceSocketManager as BinanceSocketManager,
        DepthCache as DepthCache,
        DepthCacheManager as DepthCacheManager,
        FuturesDepthCacheManager as FuturesDepthCacheManager,
        ReactorStoppedError as ReactorStoppedError,
        ThreadedDepthCacheManager as ThreadedDepthCacheManager,
        ThreadedWebsocketManager as ThreadedWebsocketManager,
    )
    from binance_twisted.market import (
        StreamClient as StreamClient,
        Subscription as Subscription,
    )
    from binance_twisted.rest import RestClient as RestClient
    from binance_twisted.signing import load_signer as load_signer
    from binance_twisted.streams import RetiredStreamError as RetiredStreamError
    from binance_twisted.wsapi import (
        UserDataSubscription as UserDataSubscription,
        WebSocketAPI as WebSocketAPI,
    )

#: where each public name lives: its wing's module
_HOMES = {
    "ConnectionPolicy": "binance_twisted._core.policy",
    "ListenKeys": "binance_twisted.accounts",
    "ListenKeyStream": "binance_twisted.accounts",
    "create_listen_token": "binance_twisted.accounts",
    "subscribe_margin": "binance_twisted.accounts",
    "DepthSynchroniser": "binance_twisted.depth",
    "OrderBook": "binance_twisted.depth",
    "SnapshotScheduler": "binance_twisted.depth",
    "Endpoints": "binance_twisted.endpoints",
    "BinanceAPIError": "binance_twisted.errors",
    "BinanceTwistedError": "binance_twisted.errors",
    "ClientClosedError": "binance_twisted.errors",
    "ConnectionGaveUpError": "binance_twisted.errors",
    "EndpointRemovedError": "binance_twisted.errors",
    "MessageTooBigError": "binance_twisted.errors",
    "MissingCredentialsError": "binance_twisted.errors",
    "NotConnectedError": "binance_twisted.errors",
    "RateLimitedError": "binance_twisted.errors",
    "RequestTimeoutError": "binance_twisted.errors",
    "StreamRequestError": "binance_twisted.errors",
    "SyncTimeoutError": "binance_twisted.errors",
    "ConnectionEvent": "binance_twisted.events",
    "EventKind": "binance_twisted.events",
    "BinanceSocketManager": "binance_twisted.legacy",
    "DepthCache": "binance_twisted.legacy",
    "DepthCacheManager": "binance_twisted.legacy",
    "FuturesDepthCacheManager": "binance_twisted.legacy",
    "ReactorStoppedError": "binance_twisted.legacy",
    "ThreadedDepthCacheManager": "binance_twisted.legacy",
    "ThreadedWebsocketManager": "binance_twisted.legacy",
    "StreamClient": "binance_twisted.market",
    "Subscription": "binance_twisted.market",
    "RestClient": "binance_twisted.rest",
    "load_signer": "binance_twisted.signing",
    "RetiredStreamError": "binance_twisted.streams",
    "UserDataSubscription": "binance_twisted.wsapi",
    "WebSocketAPI": "binance_twisted.wsapi",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    """Import a public name's wing on first use, and keep the name here from then on."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'binance_twisted' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))
