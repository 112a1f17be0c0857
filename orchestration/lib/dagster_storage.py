"""Dagster's SQLite storage, with the event log kept on open connections.

Dagster's SQLite event log opens a new SQLAlchemy engine and connection for every statement
(`NullPool`) and syncs every commit to disk. Measured on a small day's run: 871 events stored
in 12.2 s of the run's 54 s, through 5,216 connections (about six an event: the run's shard,
the index's mirror, its tags, the asset's row). This storage keeps one engine per shard it
writes (the index and the latest runs') and commits under WAL with `synchronous=NORMAL`: a
crash of the process loses nothing committed, a power cut may lose the last events, and
neither corrupts the file (SQLite's documented guarantee for WAL). An event log is worth that.

The files and their layout are Dagster's default (`$DAGSTER_HOME/history`, `schedules`), so
the UI, `dagster dev` and a home written before read them as ever. `growth` writes the
`storage:` entry of a home's `dagster.yaml` (orchestration.cli).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, _event_logs_directory
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine

# Engines kept open at once: the index and the shards of the runs this process writes or the
# UI reads; past that the least recently used is closed (a UI browsing old runs would otherwise
# keep a file handle per run it ever opened).
OPEN_SHARDS = 8

INSTANCE_HEADER = "# Written by `growth`"


def instance_yaml() -> str:
    """The `dagster.yaml` of a growth home: one run at a time (the embedded warehouse is one
    DuckDB file, which allows a single writing process) on this module's storage."""
    return (
        f"{INSTANCE_HEADER}: one run at a time on the embedded DuckDB warehouse, its events\n"
        "# in Dagster's SQLite files, kept open (orchestration/lib/dagster_storage.py).\n"
        "# growth rewrites this file while this header stays; remove it to keep your own.\n"
        "storage:\n  custom:\n    module: orchestration.lib.dagster_storage\n"
        "    class: GrowthSqliteStorage\n    config:\n      base_dir:\n        env: DAGSTER_HOME\n"
        "concurrency:\n  runs:\n    max_concurrent_runs: 1\n"
        "  pools:\n    default_limit: 1\n"
        "telemetry:\n  enabled: false\n"
    )


def _sync_normal(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """SqliteEventLogStorage whose shards keep their engine (and a pooled connection)."""

    def __init__(self, base_dir: str, inst_data: Any = None) -> None:
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        super().__init__(base_dir, inst_data)

    def _engine(self, shard: str) -> Engine:
        """The shard's engine (the caller holds `_db_lock`)."""
        engine = self._engines.pop(shard, None)
        if engine is None:
            engine = create_engine(
                self.conn_string_for_shard(shard),
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            )
            event.listen(engine, "connect", _sync_normal)
        self._engines[shard] = engine
        while len(self._engines) > OPEN_SHARDS:
            _, oldest = self._engines.popitem(last=False)
            oldest.dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def _close_engines(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    def wipe(self) -> None:
        # wipe deletes the shards' files: no engine may hold them open
        self._close_engines()
        super().wipe()

    def upgrade(self) -> None:
        self._close_engines()
        super().upgrade()

    def dispose(self) -> None:
        self._close_engines()
        super().dispose()


class GrowthSqliteStorage(DagsterSqliteStorage):
    """Dagster's SQLite storage (runs, schedules, event log in `base_dir`), the event log
    pooled."""

    def __init__(self, base_dir: str, inst_data: Any = None) -> None:
        super().__init__(base_dir, inst_data)
        self._event_log_storage = PooledSqliteEventLogStorage(_event_logs_directory(base_dir))

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> GrowthSqliteStorage:
        return cls.from_local(inst_data=inst_data, **config_value)
