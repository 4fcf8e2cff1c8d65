"""The package's public face: what ``from binance_twisted import ...`` promises.

The one-line migration (``from binance_twisted import BinanceSocketManager``) and every
example in the docs depend on these names; a rename or a lost re-export must fail here,
not in a user's bot.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys

from twisted.trial.unittest import SynchronousTestCase

import binance_twisted

#: python-binance's names that legacy code imports (0.x and 1.x thread managers)
LEGACY = {
    "BinanceSocketManager",
    "DepthCache",
    "DepthCacheManager",
    "FuturesDepthCacheManager",
    "ThreadedDepthCacheManager",
    "ThreadedWebsocketManager",
    "ReactorStoppedError",
}
#: the native, Twisted API
NATIVE = {
    "StreamClient",
    "Subscription",
    "ConnectionPolicy",
    "ConnectionEvent",
    "EventKind",
    "Endpoints",
    "WebSocketAPI",
    "UserDataSubscription",
    "RestClient",
    "ListenKeyStream",
    "ListenKeys",
    "subscribe_margin",
    "create_listen_token",
    "OrderBook",
    "DepthSynchroniser",
    "SnapshotScheduler",
    "load_signer",
}
ERRORS = {
    "BinanceTwistedError",
    "BinanceAPIError",
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
}
#: each wing's own public names, importable from the wing as the docs cite them
WINGS = {
    "binance_twisted.market": {"StreamClient", "StreamConnection", "Subscription"},
    "binance_twisted.wsapi": {"METHODS", "UserDataSubscription", "WebSocketAPI", "WsApiMethod"},
    "binance_twisted.accounts": {
        "LISTEN_KEY_PRODUCTS",
        "KeepaliveService",
        "ListenKeyProduct",
        "ListenKeyStream",
        "ListenKeys",
        "create_listen_token",
        "listen_key_stream_url",
        "subscribe_margin",
    },
    "binance_twisted.depth": {
        "DepthSynchroniser",
        "FuturesSequencer",
        "OrderBook",
        "SnapshotScheduler",
        "SpotSequencer",
        "Verdict",
        "snapshot_weight",
    },
    "binance_twisted.legacy": LEGACY,
    "binance_twisted.bus": {
        "BusAddress",
        "PublisherStats",
        "RedisPublisher",
        "RedisStreamSource",
        "stream_key",
    },
    "binance_twisted.testing": {
        "CertificateAuthority",
        "FakeAccount",
        "FakeBinance",
        "LogEntry",
        "make_test_certificate_authority",
    },
}


class ExportTests(SynchronousTestCase):
    def test_all_is_exactly_the_curated_face(self) -> None:
        """__all__ lists the legacy names, the native API and the errors, nothing else."""
        self.assertEqual(sorted(binance_twisted.__all__), sorted(LEGACY | NATIVE | ERRORS))

    def test_every_exported_name_imports_from_the_root(self) -> None:
        """Each name in __all__ is bound on the package (star-import works)."""
        namespace: dict[str, object] = {}
        exec("from binance_twisted import *", namespace)
        self.assertEqual(set(namespace) - {"__builtins__"}, set(binance_twisted.__all__))

    def test_each_wing_exports_its_names(self) -> None:
        """binance_twisted.market, .wsapi, .accounts… re-export what the docs cite."""
        for name, expected in WINGS.items():
            wing = importlib.import_module(name)
            self.assertTrue(expected <= set(wing.__all__), name)
            for attribute in wing.__all__:
                self.assertTrue(hasattr(wing, attribute), f"{name}.{attribute}")

    def test_root_and_wing_names_are_the_same_objects(self) -> None:
        """A class re-exported at the root is the wing's class, not a copy."""
        from binance_twisted.legacy.manager import BinanceSocketManager
        from binance_twisted.market.client import StreamClient

        self.assertIs(binance_twisted.BinanceSocketManager, BinanceSocketManager)
        self.assertIs(binance_twisted.StreamClient, StreamClient)


class LazyFaceTests(SynchronousTestCase):
    """The root imports a name's wing only when the name is first used."""

    def test_a_stream_client_program_does_not_load_the_other_wings(self) -> None:
        """``from binance_twisted import StreamClient`` in a fresh interpreter leaves the
        legacy managers, the WebSocket API, the account streams and treq unloaded (the
        memory and start-up a market-data bot does not pay for), and a legacy name still
        loads its wing on use."""
        script = (
            "import sys\n"
            "from binance_twisted import StreamClient, Endpoints\n"
            "heavy = ('binance_twisted.legacy', 'binance_twisted.wsapi',\n"
            "         'binance_twisted.accounts', 'binance_twisted.rest', 'treq')\n"
            "print(sorted(m for m in heavy if m in sys.modules))\n"
            "from binance_twisted import BinanceSocketManager\n"
            "print('binance_twisted.legacy' in sys.modules, BinanceSocketManager.__name__)\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        ).stdout.splitlines()
        self.assertEqual(out, ["[]", "True BinanceSocketManager"])

    def test_an_unknown_name_fails_as_an_attribute_error_naming_it(self) -> None:
        with self.assertRaisesRegex(AttributeError, "'NoSuchThing'"):
            binance_twisted.NoSuchThing  # noqa: B018
        with self.assertRaises(ImportError):
            exec("from binance_twisted import NoSuchThing", {})

    def test_the_type_checkers_imports_match_the_lazy_table(self) -> None:
        """Each name is imported under ``TYPE_CHECKING`` from the module the runtime
        table names, so what mypy sees is what a user gets."""
        tree = ast.parse(inspect.getsource(binance_twisted))
        guarded = next(node for node in tree.body if isinstance(node, ast.If))
        seen = {
            alias.name: node.module
            for node in guarded.body
            if isinstance(node, ast.ImportFrom)
            for alias in node.names
        }
        self.assertEqual(seen, binance_twisted._HOMES)

    def test_dir_lists_every_public_name_before_first_use(self) -> None:
        self.assertTrue(set(binance_twisted.__all__) <= set(dir(binance_twisted)))
