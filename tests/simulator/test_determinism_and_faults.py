"""Same seed -> byte-identical files; bad arguments; every injected fault is really there."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import zlib
from pathlib import Path

import pytest

from orchestration.simulator import SCALES, simulate

from .readers import day_folders, read_csv
from .test_truth import recompute_daily


def digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    start = dt.date(2026, 11, 9)
    a = digest_run(tmp_path / "a", start, 0)
    b = digest_run(tmp_path / "b", start, 0)
    c = digest_run(tmp_path / "c", start, 1)
    assert a == b
    assert a.keys() == c.keys()
    for name in (
        "orders/2026-11-09/orders.jsonl.gz",
        "events/2026-11-10/events.jsonl.gz",
        "products/2026-11-09/products.csv",
        "ads/2026-11-10/tencent_ads.csv",
    ):
        assert a[name] != c[name], name
    raw = (tmp_path / "a" / "orders/2026-11-09/orders.jsonl.gz").read_bytes()
    assert raw[4:8] == b"\0\0\0\0" and raw[3] & 0x08 == 0  # gzip mtime 0, no file name


def digest_run(out: Path, start: dt.date, seed: int) -> dict[str, str]:
    simulate(out, start, 2, "small", seed=seed)
    return digest(out)


def test_bad_arguments(tmp_path: Path) -> None:
    assert set(SCALES) == {"small", "medium", "large"}
    with pytest.raises(ValueError, match="scale"):
        simulate(tmp_path, dt.date(2026, 1, 1), 1, "huge")
    with pytest.raises(ValueError, match="days"):
        simulate(tmp_path, dt.date(2026, 1, 1), 0)


def test_progress_lines(tmp_path: Path) -> None:
    lines: list[str] = []
    simulate(tmp_path, dt.date(2026, 1, 1), 1, progress=lines.append)
    assert len(lines) >= 2 and all(line.startswith("day 1/1 2026-01-01") for line in lines)
    assert all("phone" not in line for line in lines)


def test_every_fault_is_present(faulty_zone: tuple[Path, dict]) -> None:
    root, truth = faulty_zone
    kinds = {f["kind"]: f for f in truth["faults"]}
    assert set(kinds) == {
        "truncated_gzip",
        "missing_column",
        "extra_column",
        "bad_number",
        "bad_date",
        "out_of_domain",
        "missing_success",
        "empty_file",
        "wrong_encoding",
    }
    assert len({(f["source"]) for f in truth["faults"]}) == 9
    assert len({(f["date"]) for f in truth["faults"]}) == 9
    for f in truth["faults"]:
        assert f["expected"] in {
            "file_quarantined",
            "rows_quarantined",
            "drift_recorded",
            "not_ingested",
        }
        folder = root / f["source"] / f["date"]
        path = folder / f["file"]
        kind = f["kind"]
        if kind == "truncated_gzip":
            with pytest.raises((EOFError, zlib.error, gzip.BadGzipFile)):
                gzip.decompress(path.read_bytes())
        elif kind == "missing_column":
            header, _ = read_csv(path)
            assert "channel" not in header and "touch_id" in header
        elif kind == "extra_column":
            header, rows = read_csv(path)
            assert header[-1] == "ext_trace_id" and len(rows) == f["rows"]
        elif kind in ("bad_number", "bad_date"):
            _, rows = read_csv(path)
            (line,) = f["lines"]
            r = rows[line - 1]
            if kind == "bad_number":
                with pytest.raises(ValueError):
                    int(r["points_delta"])
            else:
                with pytest.raises(ValueError):
                    dt.datetime.strptime(r["shipped_at"], "%Y-%m-%d %H:%M:%S")
            good = [x for k, x in enumerate(rows) if k != line - 1]
            assert good, "the rest of the file is valid"
        elif kind == "out_of_domain":
            lines = path.read_text(encoding="utf-8").splitlines()
            (line,) = f["lines"]
            assert json.loads(lines[line - 1])["member_tier"] == "diamond"
        elif kind == "missing_success":
            assert not (folder / "_SUCCESS").exists() and path.exists()
        elif kind == "empty_file":
            assert path.stat().st_size == 0
        elif kind == "wrong_encoding":
            raw = path.read_bytes()
            with pytest.raises(UnicodeDecodeError):
                raw.decode("utf-8")
            assert raw.decode("gbk").startswith("date,campaign_id")
        if kind != "missing_success":
            assert (folder / "_SUCCESS").exists()
    # Everything else is still complete.
    for source in ("orders", "events", "products", "customers"):
        assert all((d / "_SUCCESS").exists() for d in day_folders(root, source))


def test_truth_excludes_faulted_records(faulty_zone: tuple[Path, dict]) -> None:
    root, truth = faulty_zone
    got = recompute_daily(root, truth)
    for d, t in truth["daily"].items():
        assert t["orders"] == got[d]["orders"], d
        assert round(got[d]["gmv"], 2) == t["gmv"], d
        assert round(got[d]["gmv"] - got[d]["refund"], 2) == t["net_revenue"], d
        assert t["new_customers"] == got[d]["new"], d
    bad = next(f for f in truth["faults"] if f["kind"] == "wrong_encoding")
    folder = root / "ads" / bad["date"]
    spend = sum(float(r["消耗(元)"]) for r in read_csv(folder / "qianchuan.csv")[1])
    spend += sum(int(r["花费(分)"]) for r in read_csv(folder / "tencent_ads.csv")[1]) / 100
    assert round(spend, 2) == truth["daily"][bad["date"]]["spend"]
