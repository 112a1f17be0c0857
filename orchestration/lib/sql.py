"""SQL text the pipeline builds for DuckDB (and Spark's SQL, which quotes the same way)."""

from __future__ import annotations


def quoted(identifier: str) -> str:
    """`identifier` as a quoted SQL identifier: any name, a `"` inside it doubled."""
    return '"' + identifier.replace('"', '""') + '"'
