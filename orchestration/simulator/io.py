"""Deterministic file writers and small numpy helpers shared by the generators."""

from __future__ import annotations

import csv
import gzip
import io
import os
import shutil
import threading
from collections.abc import Sequence
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

NAT = np.int64(-(2**62))  # "no timestamp" (in the past) in int64 local-epoch seconds
NEVER = np.int64(2**62)  # "never happens" for planned future events; compares after any time
DAY = 86_400

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def mix64(x: np.ndarray | int, salt: int = 0) -> np.ndarray:
    """splitmix64 finaliser: stable pseudo-random ids (device fingerprints, hashes) from ints."""
    a = np.asarray(x).astype(np.uint64) + np.uint64(
        (salt * 0x9E3779B97F4A7C15 + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    )
    a ^= a >> np.uint64(30)
    a *= _M1
    a ^= a >> np.uint64(27)
    a *= _M2
    a ^= a >> np.uint64(31)
    return a


def ts_array(t: np.ndarray) -> pa.Array:
    """int64 local seconds -> naive arrow timestamp[s] (Asia/Shanghai); NAT/NEVER -> null."""
    t = np.asarray(t, dtype=np.int64)
    null = (t == NAT) | (t == NEVER)
    return pa.array(np.where(null, 0, t).astype("datetime64[s]"), mask=null)


def dict_array(codes: np.ndarray, values: Sequence[str | None]) -> pa.Array:
    """Categorical codes -> arrow dictionary strings; negative codes become null."""
    codes = np.asarray(codes)
    vals = ["" if v is None else v for v in values]
    idx = pa.array(codes.astype(np.int32), mask=codes < 0)
    return pa.DictionaryArray.from_arrays(idx, pa.array(vals, pa.string()))


def int_array(x: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.asarray(x, dtype=np.int64), mask=null)


def connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    # Insertion order must be kept for byte-identical output across runs.
    con.sql("SET preserve_insertion_order=true")
    con.sql("SET threads=2")
    con.sql("SET memory_limit='384MB'")
    return con


def _gzip_file(src: Path, dst: Path, level: int) -> None:
    # mtime=0 and an empty name in the header keep the archive byte-identical across runs.
    with (
        open(src, "rb") as f,
        open(dst, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=level) as g,
    ):
        shutil.copyfileobj(f, g, 16 << 20)
    src.unlink()


class GzipPool:
    """Compresses finished JSON parts on a background thread while DuckDB renders the next one.

    zlib and DuckDB both release the GIL, so on two cores rendering and compressing overlap.
    """

    def __init__(self) -> None:
        self._threads: list[threading.Thread] = []
        self._errors: list[BaseException] = []

    def submit(self, src: Path, dst: Path, level: int) -> None:
        def run() -> None:
            try:
                _gzip_file(src, dst, level)
            except BaseException as exc:  # surfaced in join()
                self._errors.append(exc)

        # At most one compression in flight: bounded temp-disk use and memory.
        self.join()
        th = threading.Thread(target=run, daemon=True)
        th.start()
        self._threads.append(th)

    def join(self) -> None:
        for th in self._threads:
            th.join()
        self._threads.clear()
        if self._errors:
            raise self._errors[0]


def copy_jsonl(con: duckdb.DuckDBPyConnection, sql: str, path: Path) -> None:
    con.sql(f"COPY ({sql}) TO '{path}' (FORMAT json, COMPRESSION 'uncompressed')")


def write_jsonl_gz(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    path: Path,
    level: int = 6,
    pool: GzipPool | None = None,
) -> None:
    tmp = path.with_name("." + path.name.replace(".gz", "") + ".part")
    copy_jsonl(con, sql, tmp)
    if pool is None:
        _gzip_file(tmp, path, level)
    else:
        pool.submit(tmp, path, level)


def write_csv(con: duckdb.DuckDBPyConnection, sql: str, path: Path) -> None:
    con.sql(f"COPY ({sql}) TO '{path}' (FORMAT csv, HEADER true, DELIMITER ',', QUOTE '\"')")


def write_csv_rows(
    path: Path,
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    encoding: str = "utf-8",
    bom: bool = False,
) -> None:
    """Small files whose encoding DuckDB cannot produce (BOM, GBK)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow(["" if v is None else v for v in r])
    data = buf.getvalue().encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    path.write_bytes(data)


def touch_success(folder: Path) -> None:
    (folder / "_SUCCESS").write_bytes(b"")


def fmt_money(cents: int) -> str:
    return f"{cents / 100:.2f}"


def ensure_dir(p: Path) -> Path:
    os.makedirs(p, exist_ok=True)
    return p
