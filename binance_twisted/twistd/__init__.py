"""The operator's wing: ``twistd -n binance record`` and ``python -m binance_twisted record``.

:mod:`~binance_twisted.twistd.record` is the recording service, and
:mod:`~binance_twisted.twistd.plugin` its twistd options (the plugin file lives in
``twisted/plugins/``).
"""

from binance_twisted.twistd.record import RecordService

__all__ = ["RecordService"]
