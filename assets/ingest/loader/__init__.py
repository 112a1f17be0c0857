"""One loader for every landing-zone source, driven by `sources.yml`.

The package follows the seams of a load: `specs` (the declarations and what a load reports),
`reader` (landing files as relations), `sql` (typing, checks and hashes in one scan), `lake`
(Parquet data files, audit tables, raw views), `erasure` (PIPL) and `load` (one day of one
source, end to end). `load.py`'s docstring tells the steps.
"""

from assets.ingest.loader.erasure import ERASED_RECORD
from assets.ingest.loader.lake import raw_lake
from assets.ingest.loader.load import load_day
from assets.ingest.loader.specs import (
    SUCCESS_MARKER,
    ColumnSpec,
    DayResult,
    ErasureSpec,
    FileRejected,
    FileResult,
    FileSpec,
    LoadError,
    SourceSpec,
    day_folder,
    is_ready,
    load_source_specs,
)

__all__ = [
    "ERASED_RECORD",
    "SUCCESS_MARKER",
    "ColumnSpec",
    "DayResult",
    "ErasureSpec",
    "FileRejected",
    "FileResult",
    "FileSpec",
    "LoadError",
    "SourceSpec",
    "day_folder",
    "is_ready",
    "load_day",
    "load_source_specs",
    "raw_lake",
]
