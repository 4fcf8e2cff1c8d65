"""binance-twisted's trial tests.

The thread facade forwards the package's log events to stdlib logging; a NullHandler keeps
them out of the test run's stderr (tests that check them attach their own handler).
"""

import logging

logging.getLogger("binance_twisted").addHandler(logging.NullHandler())
