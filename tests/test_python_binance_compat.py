"""Code migrating from python-binance keeps catching what it caught: our API errors carry
its attribute names always, and are instances of its ``BinanceAPIException`` wherever
python-binance is installed (a stand-in package here; the real one in ``tox -e latest``)."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial.unittest import SkipTest, SynchronousTestCase, TestCase

from binance_twisted.errors import BinanceAPIError, RateLimitedError
from tests.support import asynchronous
from tests.test_operator import ENV

# python-binance's exceptions module as far as this matters: its __init__ wants a response
STAND_IN = """
class BinanceAPIException(Exception):
    def __init__(self, response, status_code, text):
        self.status_code, self.response, self.code, self.message = status_code, response, 0, text

    def __str__(self):
        return "APIError(code=%s): %s" % (self.code, self.message)
"""

SCRIPT = """
from binance.exceptions import BinanceAPIException  # what 1.x code imports
from binance_twisted.errors import RateLimitedError

try:
    raise RateLimitedError(429, -1003, "Too many requests.", retry_after=5, request="GET /x")
except BinanceAPIException as error:  # a 1.x handler, unchanged
    print(error.status_code, error.code, error.message)
    print(error)
"""


class AttributeTests(SynchronousTestCase):
    def test_python_binance_attribute_names(self) -> None:
        error = BinanceAPIError(400, -1121, "Invalid symbol.", request="GET /api/v3/depth")
        self.assertEqual(
            (error.status_code, error.code, error.message), (400, -1121, "Invalid symbol.")
        )
        self.assertEqual((error.status, error.msg), (400, "Invalid symbol."))
        self.assertEqual(
            str(error), "GET /api/v3/depth: HTTP 400, Binance code -1121: Invalid symbol."
        )

    def test_with_the_real_python_binance_where_installed(self) -> None:
        try:
            from binance.exceptions import BinanceAPIException
        except ImportError:
            raise SkipTest("python-binance is not installed here (tox -e latest has it)") from None
        error = RateLimitedError(418, -1003, "Way too many requests; IP banned.")
        self.assertIsInstance(error, BinanceAPIException)
        self.assertEqual(error.status_code, 418)


class InstalledTests(TestCase):
    @asynchronous
    async def test_except_binance_api_exception_catches_ours(self) -> None:
        """With a python-binance on the path, its except clauses catch our errors, and the
        text stays ours (it names the request and the wait)."""
        site = Path(self.mktemp())
        (site / "binance").mkdir(parents=True)
        (site / "binance" / "__init__.py").write_text("")
        (site / "binance" / "exceptions.py").write_text(textwrap.dedent(STAND_IN))
        script = site / "script.py"
        script.write_text(textwrap.dedent(SCRIPT))
        env = {**ENV, "PYTHONPATH": f"{site}:{ENV['PYTHONPATH']}"}
        out, err, code = await getProcessOutputAndValue(sys.executable, [str(script)], env=env)
        self.assertEqual(code, 0, err.decode())
        self.assertEqual(
            out.decode().splitlines(),
            [
                "429 -1003 Too many requests.",
                "GET /x: HTTP 429, Binance code -1003: Too many requests. (retry after 5 s)",
            ],
        )
