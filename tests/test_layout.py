"""The rules of the tree (docs/design.rst), checked over the source's imports.

In the spirit of klein's export test: the layering is only real if a test fails when a
module reaches across it. Every ``import`` counts, including those inside functions and
under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

import binance_twisted

PACKAGE = Path(binance_twisted.__file__).parent
GROUND = {"errors", "events", "endpoints", "venues", "streams", "signing", "enums", "_json"}
#: what the ground may import of ours
GROUND_DEPS = {"errors", "events"}
#: native wings above the core, and what each may import besides the ground and ``_core``
NATIVE_UPPER = {
    "market": set(),
    "wsapi": set(),
    "rest": set(),
    "accounts": {"rest", "wsapi", "market"},
    "depth": {"rest", "market"},
    "recording": {"rest", "market", "depth"},
    "bus": {"market", "recording"},
}
FACADES = {"legacy", "aio", "twistd"}
#: the fake's wire modules (sockets, HTTP, TLS); the rest of testing/ simulates the exchange
TESTING_WIRE = {
    "_protocol",
    "_wsapi",
    "_wsapi_userdata",
    "_rest",
    "_site",
    "_tls",
    "_server",
    "_faults",
    "_loopback",
    "memory",
    "serve",
    "redis",
}
#: data tables may be long; every other module stays readable in one sitting
DATA_TABLES = {"wsapi/table.py", "enums.py"}
MAX_LINES = 500


def modules() -> Iterator[tuple[str, Path]]:
    """``(dotted name, path)`` of every module of the package."""
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def wing(module: str) -> str:
    """``_core``, ``market``… for wing modules; the module's own name for root modules."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in it (functions, TYPE_CHECKING included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            # ``from binance_twisted import venues`` imports the module binance_twisted.venues
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    known = {name for name, _ in modules()}
    return {name for name in found if not name.startswith("binance_twisted") or name in known}


def ours(path: Path) -> set[str]:
    """The wings (or root modules) of this package that ``path`` imports."""
    return {wing(m) for m in imports(path) if m.startswith("binance_twisted.")}


class ImportRuleTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.graph = {name: (path, ours(path)) for name, path in modules()}

    def violations(self, allowed: dict[str, set[str]]) -> list[str]:
        """``module -> wing`` pairs that break ``allowed`` (wing → wings it may import)."""
        found = []
        for name, (_path, used) in self.graph.items():
            own = wing(name)
            if own in allowed and name != "binance_twisted":
                found += [f"{name} -> {w}" for w in sorted(used - allowed[own] - {own})]
        return found

    def test_ground_imports_only_errors_and_events(self) -> None:
        """Rule 1: ground modules build on errors/events only, and never on twisted.internet."""
        self.assertEqual(self.violations({g: GROUND_DEPS for g in GROUND}), [])
        reactor_users = [
            name
            for name, (path, _) in self.graph.items()
            if wing(name) in GROUND and any(m.startswith("twisted.internet") for m in imports(path))
        ]
        self.assertEqual(reactor_users, [])

    def test_core_imports_only_ground(self) -> None:
        """Rule 2: _core builds on the ground alone."""
        self.assertEqual(self.violations({"_core": GROUND}), [])

    def test_native_wings_import_down_only(self) -> None:
        """Rule 2: market, wsapi and rest use _core and ground, not each other; the rest
        (accounts, depth, recording, bus) may use them too, and nothing native uses a facade
        or testing."""
        allowed = {w: GROUND | {"_core"} | extra for w, extra in NATIVE_UPPER.items()}
        self.assertEqual(self.violations(allowed), [])

    def test_every_wing_is_placed(self) -> None:
        """A new wing must be given its place in these rules (and in docs/design.rst)."""
        wings = {wing(name) for name in self.graph} - {"__init__", "__main__"}
        placed = GROUND | {"_core", "testing"} | set(NATIVE_UPPER) | FACADES
        self.assertEqual(sorted(wings - placed), [])

    def test_testing_imports_only_ground(self) -> None:
        """Rule 4: the fake is an independent oracle of Binance's rules."""
        self.assertEqual(self.violations({"testing": GROUND}), [])

    def test_the_fakes_simulation_never_imports_its_wire(self) -> None:
        """Rule 4: FakeBinance's exchange simulation is pure; only the wire serves it."""
        wire = {f"binance_twisted.testing.{m}" for m in TESTING_WIRE}
        found = [
            f"{name} -> {m}"
            for name, (path, _) in self.graph.items()
            if name.startswith("binance_twisted.testing.") and name not in wire
            for m in sorted(imports(path) & wire)
        ]
        self.assertEqual(found, [])
        self.assertLessEqual(wire, set(self.graph))  # every wire module named still exists

    def test_the_asyncio_wing_shares_the_legacy_sockets_not_their_threads(self) -> None:
        """aio/ reuses legacy/'s socket plans, venue and sockets (one python-binance core,
        two front doors) but none of its thread machinery; no other facade imports aio/."""
        threaded = {
            f"binance_twisted.legacy.{m}"
            for m in ("manager", "threaded", "reactor_thread", "blocking", "depthcache")
        }
        found = [
            f"{name} -> {m}"
            for name, (path, used) in self.graph.items()
            for m in sorted(imports(path))
            if (wing(name) == "aio" and m in threaded)
            or (wing(name) in FACADES - {"aio"} and "aio" in used)
        ]
        self.assertEqual(found, [])
        self.assertLessEqual(threaded, set(self.graph))

    def test_threading_lives_in_the_legacy_wing(self) -> None:
        """Rule 3: only legacy/ starts or waits on threads."""
        users = [
            name
            for name, (path, _) in self.graph.items()
            if "threading" in imports(path) and wing(name) != "legacy"
        ]
        self.assertEqual(users, [])

    def test_no_import_loops(self) -> None:
        """Rule 5: the module graph (TYPE_CHECKING imports included) has no cycle."""
        edges = {
            name: {m for m in imports(path) if m.startswith("binance_twisted.")}
            for name, (path, _) in self.graph.items()
        }
        state: dict[str, int] = {}
        cycles: list[list[str]] = []

        def visit(node: str, trail: list[str]) -> None:
            state[node] = 1
            for nxt in sorted(edges.get(node, ())):
                if nxt == node or _is_parent(nxt, node):
                    continue  # a package's __init__ re-exports its own modules
                if state.get(nxt) == 1:
                    cycles.append([*trail[trail.index(nxt) :], nxt])
                elif nxt not in state:
                    visit(nxt, [*trail, nxt])
            state[node] = 2

        for name in sorted(edges):
            if name not in state:
                visit(name, [name])
        self.assertEqual(cycles, [])

    def test_modules_stay_readable(self) -> None:
        """Rule 5: no module over 500 lines, except data tables."""
        long = {
            str(path.relative_to(PACKAGE)): len(path.read_text().splitlines())
            for _, path in modules()
        }
        too_long = {
            name: lines
            for name, lines in long.items()
            if lines > MAX_LINES and name not in DATA_TABLES
        }
        self.assertEqual(too_long, {})

    def test_the_layout_test_sees_a_violation(self) -> None:
        """The checker itself: a ground module importing the market wing is reported."""
        self.graph["binance_twisted.streams"] = (PACKAGE / "streams.py", {"market"})
        self.assertEqual(
            self.violations({g: GROUND_DEPS for g in GROUND}), ["binance_twisted.streams -> market"]
        )


class SingleHandOverTests(SynchronousTestCase):
    """Where state changes hands, it does so at one documented place."""

    def source(self) -> dict[str, str]:
        return {str(p.relative_to(PACKAGE)): p.read_text() for _, p in modules()}

    def test_deliver_is_assigned_only_by_the_protocol(self) -> None:
        """A session's payload destination changes only through SessionProtocol.deliver_to."""
        assigned = [
            name
            for name, text in self.source().items()
            for line in text.splitlines()
            if ".deliver = " in line
        ]
        self.assertEqual(assigned, ["_core/protocol.py"])

    def test_twisted_pending_retry_is_touched_in_one_place(self) -> None:
        """ReconnectingClientFactory._callID lives in SessionFactory.schedule_retry only."""
        files = {name for name, text in self.source().items() if "_callID" in text}
        self.assertEqual(files, {"_core/protocol.py"})


def _is_parent(package: str, module: str) -> bool:
    return module.startswith(f"{package}.")
