"""One writer per warehouse: an advisory lock beside the DuckDB file, naming who holds it.

DuckDB lets one process write a file, and finds out only when a second one opens it, deep inside
a step and long after the run began. Every run that opens the warehouse therefore takes this lock
first: the CLI before it launches a run (so a second `growth run` refuses at once), and the
`WarehouseResource` when a run starts (so runs launched by the UI, the schedule or a sensor obey
the same rule). The lock is `fcntl.flock` on `<warehouse>.lock`: the kernel releases it when its
holder exits, even by SIGKILL, so there is never a stale lock to clear by hand. The file itself
stays; while held it records the holder (run id, pid, command, since when), so the refusal can
name it.

Standard library only: the CLI imports it before Dagster, so a refusal costs no start-up time.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import json
import os
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

LOCK_SUFFIX = ".lock"

# A holder writes its record just after it takes the lock; a refused process may read the file
# in between and waits this long for the record before saying it does not know who holds it.
_RECORD_WAIT_SECONDS = 1.0


class WarehouseLockError(RuntimeError):
    """The warehouse lock cannot be taken: another run holds it, or its file cannot be opened."""


class WarehouseBusyError(WarehouseLockError):
    """Another run is writing the warehouse."""

    def __init__(self, warehouse: Path, holder: Holder | None) -> None:
        self.warehouse = warehouse
        self.holder = holder
        who = holder.describe() if holder else "another process (it has not said which yet)"
        super().__init__(
            f"the warehouse {warehouse} is being written by {who}; wait for it to finish or stop it"
        )


@dataclass(frozen=True)
class Holder:
    """Who writes the warehouse: what the lock file records while the lock is held."""

    pid: int
    since: str  # ISO 8601 with the local offset
    run_id: str | None = None
    job: str | None = None
    partitions: str | None = None  # "2026-03-01..2026-03-07"
    command: str | None = None  # the command line, for runs started by `growth`
    launched_by: str | None = None  # "sensor landing_zone_sensor", "the UI", ...
    host: str = field(default_factory=socket.gethostname)

    def describe(self) -> str:
        """`run 1a2b3c4d (growth run --start 2026-03-01, pid 4242, since 10:02:11)`."""
        if self.command:
            what = self.command
        else:
            what = " ".join(part for part in (self.job, self.partitions) if part) or "a run"
            if self.launched_by:
                what += f" launched by {self.launched_by}"
        details = [what, f"pid {self.pid}"]
        if self.host != socket.gethostname():
            details[-1] += f" on {self.host}"
        details.append(f"since {_clock(self.since)}")
        run = f"run {self.run_id[:8]}" if self.run_id else "a process"
        return f"{run} ({', '.join(details)})"


def _clock(since: str) -> str:
    try:
        moment = dt.datetime.fromisoformat(since).astimezone()
    except ValueError:
        return since
    if moment.date() == dt.datetime.now().astimezone().date():
        return moment.strftime("%H:%M:%S")
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def lock_path(warehouse: Path) -> Path:
    """`<warehouse>.lock`, beside the file, so every process that names the warehouse finds it."""
    warehouse = Path(warehouse).resolve()
    return warehouse.with_name(warehouse.name + LOCK_SUFFIX)


@dataclass
class _Held:
    fd: int
    holder: Holder


# The locks this process holds, by lock file. flock conflicts between two open files even within
# one process, so a second taker here (the run's resource inside the CLI that took the lock for
# it) must reuse the first one's file instead of locking again.
_held: dict[Path, _Held] = {}
_guard = threading.Lock()


def read_holder(warehouse: Path) -> Holder | None:
    """The holder recorded in the lock file, or None when the file holds no record."""
    try:
        text = lock_path(warehouse).read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        record = json.loads(text)
        return Holder(**record)
    except (ValueError, TypeError):  # empty (free, or a holder about to write) or foreign
        return None


def is_held(warehouse: Path) -> bool:
    """Whether some process holds the lock now (a probe: takes and drops it if free)."""
    path = lock_path(warehouse)
    if path in _held:
        return True
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops a lock this probe took
    return False


def _open(warehouse: Path, path: Path) -> int:
    try:
        try:
            return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError:  # a new home: its folder comes first
            path.parent.mkdir(parents=True, exist_ok=True)
            return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        # Names the OS's reason: a read-only or missing folder shows here, before any work.
        reason = exc.strerror or errno.errorcode.get(exc.errno or 0, str(exc))
        where = exc.filename or path
        raise WarehouseLockError(
            f"cannot take the write lock of the warehouse {warehouse}: {reason} ({where})"
        ) from exc


def _busy(warehouse: Path) -> WarehouseBusyError:
    deadline = time.monotonic() + _RECORD_WAIT_SECONDS
    holder = read_holder(warehouse)
    while holder is None and time.monotonic() < deadline:
        time.sleep(0.05)
        holder = read_holder(warehouse)
    return WarehouseBusyError(Path(warehouse), holder)


def _write(fd: int, holder: Holder) -> None:
    data = json.dumps(asdict(holder), ensure_ascii=False).encode("utf-8")
    os.ftruncate(fd, 0)
    os.pwrite(fd, data + b"\n", 0)


@contextmanager
def hold_warehouse(
    warehouse: Path,
    *,
    run_id: str | None = None,
    job: str | None = None,
    partitions: str | None = None,
    command: str | None = None,
    launched_by: str | None = None,
) -> Iterator[Holder]:
    """Holds the warehouse's write lock for the block, or raises WarehouseBusyError at once,
    naming the holder. Re-entrant within one process for the same run (or a holder that named
    no run), so the CLI can take it before the run and the run's resource again inside it."""
    warehouse = Path(warehouse).resolve()
    path = lock_path(warehouse)
    with _guard:
        held = _held.get(path)
        if held is not None:
            if run_id is not None and held.holder.run_id not in (None, run_id):
                # A second run in the process that is writing: the same rule as across processes.
                raise WarehouseBusyError(warehouse, held.holder)
            if held.holder.run_id is None and run_id is not None:
                held.holder = Holder(
                    **{**asdict(held.holder), "run_id": run_id, "job": job or held.holder.job}
                )
                _write(held.fd, held.holder)
            entered = held.holder
        else:
            entered = None
    if entered is not None:
        # Nested inside the block that took the lock, which releases it when it ends.
        yield entered
        return

    fd = _open(warehouse, path)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise _busy(warehouse) from None
    except OSError:
        os.close(fd)
        raise
    holder = Holder(
        pid=os.getpid(),
        since=dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        run_id=run_id,
        job=job,
        partitions=partitions,
        command=command,
        launched_by=launched_by,
    )
    state = _Held(fd=fd, holder=holder)
    try:
        _write(fd, holder)
        with _guard:
            _held[path] = state
        yield holder
    finally:
        with _guard:
            _held.pop(path, None)
        try:
            os.ftruncate(fd, 0)  # a free lock's file names nobody
        finally:
            os.close(fd)  # closing releases the flock


def run_holder_fields(
    run_id: str | None, job: str | None, tags: Mapping[str, str]
) -> dict[str, str | None]:
    """What a Dagster run records as holder: its job, partition range and who launched it."""
    start = tags.get("dagster/asset_partition_range_start")
    end = tags.get("dagster/asset_partition_range_end")
    partitions = tags.get("dagster/partition") or (
        (start if start == end else f"{start}..{end}") if start and end else None
    )
    if tags.get("dagster/schedule_name"):
        launched_by = f"schedule {tags['dagster/schedule_name']}"
    elif tags.get("dagster/sensor_name"):
        launched_by = f"sensor {tags['dagster/sensor_name']}"
    elif tags.get("dagster/backfill"):
        launched_by = f"backfill {tags['dagster/backfill']}"
    elif tags.get("growth/launched_by") == "cli":
        launched_by = "growth"
    else:
        launched_by = "the UI"
    return {"run_id": run_id, "job": job, "partitions": partitions, "launched_by": launched_by}
