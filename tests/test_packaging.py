"""The wheel ships the twistd plugin: built from this checkout, installed into a fresh venv.

A plugin file missing from the wheel is the most common way Twisted plugins break in the
field: ``twistd --help`` then simply does not list ``binance``. Offline: the fresh venv gets
the wheel alone (``--no-deps``) and borrows this environment's Twisted through a ``.pth``.
"""

from __future__ import annotations

import sys
import sysconfig
from pathlib import Path

from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial.unittest import TestCase

from tests.support import asynchronous

ROOT = Path(__file__).resolve().parent.parent


def _setuptools_too_old() -> str | None:
    """Why the wheel cannot be built offline here (pyproject needs setuptools >= 77)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        major = int(version("setuptools").split(".")[0])
    except PackageNotFoundError:
        return "no setuptools in this environment (tox's environments have it)"
    return None if major >= 77 else f"setuptools {major} here; building needs >= 77 (tox has it)"


class WheelTests(TestCase):
    timeout = 240
    skip = _setuptools_too_old()

    async def call(self, *argv: str, cwd: Path = ROOT) -> bytes:
        """Run ``argv``; its output, after checking it exited 0."""
        out, err, code = await getProcessOutputAndValue(argv[0], argv[1:], path=str(cwd))
        self.assertEqual(code, 0, (argv, out[-2000:], err[-2000:]))
        return out + err

    @asynchronous
    async def test_the_wheel_carries_the_plugin_and_twistd_lists_it(self) -> None:
        """Build the wheel, install it alone in a fresh venv: the plugin file is there (and
        no twisted/__init__.py shadowing Twisted), and twistd --help lists binance."""
        work = Path(self.mktemp()).resolve()
        work.mkdir(parents=True)
        await self.call(
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "-w",
            str(work / "dist"),
            str(ROOT),
        )
        (wheel,) = (work / "dist").glob("binance_twisted-*.whl")
        venv = work / "venv"
        await self.call(sys.executable, "-m", "venv", str(venv))

        async def fresh(*argv: str) -> str:
            """Run the fresh venv's python outside the checkout (no cwd imports)."""
            return (await self.call(str(venv / "bin" / "python"), *argv, cwd=work)).decode()

        await fresh("-m", "pip", "install", "--quiet", "--no-deps", str(wheel))
        site = Path(
            (await fresh("-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")).strip()
        )
        (site / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
        self.assertTrue((site / "twisted" / "plugins" / "binance_twisted_plugin.py").is_file())
        self.assertFalse((site / "twisted" / "__init__.py").exists())
        where = await fresh("-c", "import binance_twisted; print(binance_twisted.__file__)")
        self.assertTrue(where.startswith(str(site)), where)
        listing = await fresh(
            "-c",
            "import sys; from twisted.scripts.twistd import run; "
            "sys.argv = ['twistd', '--help']; run()",
        )
        self.assertIn("binance", listing)
        self.assertIn("Record Binance market data", listing)
