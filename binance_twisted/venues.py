"""What differs between Binance's venues and markets, in one place (pure).

Native clients and the legacy facades need the same facts, so they live here and nowhere
else (binance-platform.md §2, §3):

* **ping cadence → stall limit.** Spot servers ping every 20 s, USD-M and COIN-M futures every
  3 minutes. A session that heard nothing (no data, no ping) for longer than a few missed pings
  is dead; a shorter limit would redial every quiet futures socket forever.
* **USD-M routes.** Since 2026 the USD-M stream host serves book data under ``/public``,
  everything else public under ``/market`` and user data under ``/private``.
* **Spot user data per venue.** binance.com, its testnet and demo removed Spot listenKeys
  on 2026-02-20 (the WebSocket API replaces them); Binance.US last documented listenKeys.
* **Listen-key products**: which market each product's user-data socket belongs to.

A *venue* is an :class:`~binance_twisted.endpoints.Endpoints` name (``"binance.com"``,
``"binance.us"``, ``"testnet"``, ``"demo"``, ``"market-data-only"``; anything else, such as a
local fake, is treated as binance.com). A *market* is ``"spot"``, ``"usdm"`` or ``"coinm"``.
"""

from __future__ import annotations

import types
from collections.abc import Mapping

import attrs

__all__ = [
    "MARKETS",
    "SPOT_LISTEN_KEYS_REMOVED",
    "SPOT_LISTEN_KEY_VENUES",
    "MarketProfile",
    "futures_route",
    "listen_key_market",
    "profile",
    "spot_user_data",
]

#: The markets whose streams this package serves.
MARKETS = ("spot", "usdm", "coinm")

_BOOK_KINDS = ("depth", "bookTicker", "rpiDepth")


@attrs.frozen
class MarketProfile:
    """The WebSocket facts of one market on one venue."""

    market: str
    venue: str
    #: seconds between the server's pings
    server_ping: float
    #: default silence limit of a session: more than two missed pings
    stall_timeout: float
    #: streams Binance allows on one connection
    max_streams: int = 1024
    #: whether streams are routed to ``/public`` and ``/market`` (USD-M since 2026)
    routed: bool = False


_SPOT = MarketProfile("spot", "binance.com", server_ping=20.0, stall_timeout=60.0)
_FUTURES_PING = 180.0
_FUTURES_STALL = 400.0
_PROFILES: Mapping[str, MarketProfile] = types.MappingProxyType(
    {
        "spot": _SPOT,
        "usdm": MarketProfile("usdm", "binance.com", _FUTURES_PING, _FUTURES_STALL, routed=True),
        "coinm": MarketProfile("coinm", "binance.com", _FUTURES_PING, _FUTURES_STALL),
    }
)


def profile(market: str = "spot", venue: str = "binance.com") -> MarketProfile:
    """The profile of ``market`` on ``venue``; ``ValueError`` names the markets otherwise.

    Binance.US last documented a 3-minute ping (2023; unverified since): its sessions get the
    futures-like limit, so a quiet Binance.US socket is not redialled every minute.
    """
    if market not in _PROFILES:
        raise ValueError(f"market must be one of {', '.join(map(repr, MARKETS))}, not {market!r}")
    found = _PROFILES[market]
    if venue == "binance.us":
        return attrs.evolve(
            found, venue=venue, server_ping=_FUTURES_PING, stall_timeout=_FUTURES_STALL
        )
    return found if venue == found.venue else attrs.evolve(found, venue=venue)


def futures_route(stream: str) -> str:
    """USD-M: ``"public"`` for book data (depth, bookTicker), ``"market"`` for the rest."""
    name = stream.lstrip("!")
    kind = name.split("@")[1] if "@" in name and not stream.startswith("!") else name
    return "public" if kind.startswith(_BOOK_KINDS) else "market"


#: venues where Spot user data still comes from a listenKey by default
SPOT_LISTEN_KEY_VENUES = frozenset({"binance.us"})
#: venues that removed Spot listenKeys on 2026-02-20 (asking them for one is an error);
#: other venues (a proxy, a local fake) may be asked for one explicitly
SPOT_LISTEN_KEYS_REMOVED = frozenset({"binance.com", "testnet", "demo", "market-data-only"})


def spot_user_data(venue: str) -> str:
    """``"listen_key"`` on venues that still document Spot listenKeys, else ``"ws_api"``."""
    return "listen_key" if venue in SPOT_LISTEN_KEY_VENUES else "ws_api"


#: listen-key product → the market its user-data socket belongs to
_LISTEN_KEY_MARKETS: Mapping[str, str] = types.MappingProxyType(
    {
        "futures": "usdm",
        "coin_futures": "coinm",
        "portfolio_margin": "usdm",
        "margin_risk": "spot",
        "us_spot": "spot",
    }
)


def listen_key_market(product: str) -> str:
    """The market of a listen-key product's stream (its ping cadence follows it)."""
    try:
        return _LISTEN_KEY_MARKETS[product]
    except KeyError:
        allowed = ", ".join(map(repr, _LISTEN_KEY_MARKETS))
        raise ValueError(f"product must be one of {allowed}, not {product!r}") from None
