"""Recordings of Binance market data: crash-safe files of frames as received, and reading
them back.

:mod:`~binance_twisted.recording.format` defines the bytes (records in zstd blocks, a
checksummed header, a sealing index), :mod:`~binance_twisted.recording.files` writes and
recovers files, :mod:`~binance_twisted.recording.reader` reads them. Needs the ``record``
extra (``zstandard``) unless Python has ``compression.zstd``.
"""

from binance_twisted.recording.files import RecordFileWriter, recording_path, recover_part
from binance_twisted.recording.format import CorruptRecordError, FrameRun, Kind, Record, Recorded
from binance_twisted.recording.reader import (
    FileSummary,
    count_frames,
    inspect_file,
    read_records,
)

__all__ = [
    "CorruptRecordError",
    "FileSummary",
    "FrameRun",
    "Kind",
    "Record",
    "RecordFileWriter",
    "Recorded",
    "count_frames",
    "inspect_file",
    "read_records",
    "recording_path",
    "recover_part",
]
