"""The installed stack works in every kind of process that runs the pipeline's code."""

from __future__ import annotations

import subprocess
import sys


def test_great_expectations_imports_where_main_has_no_file():
    """Dagster's run workers start with a `__main__` that has no file, as `python -c` does.
    With pyspark installed (the spark extra), GX imports pyspark.sql.connect, which exits such
    a process (it takes it for a doctest run) unless Spark Connect's dependencies are there."""
    result = subprocess.run(
        [sys.executable, "-c", "import great_expectations; print('imported')"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0 and result.stdout.strip() == "imported", result.stderr[-2000:]
