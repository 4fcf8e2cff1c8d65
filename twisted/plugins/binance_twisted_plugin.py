"""The ``binance`` twistd plugin: ``twistd -n binance record|replay ...`` (binance_twisted.twistd).

Lazy: twistd lists it without importing binance_twisted until the command is chosen.
"""

from twisted.application.service import ServiceMaker

binance = ServiceMaker(
    "binance-twisted",
    "binance_twisted.twistd.plugin",
    "Record Binance market data into crash-safe files, and replay it",
    "binance",
)
