"""`--faults`: one of each deviation of sources.md's final table, injected on purpose."""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path

import numpy as np

# kind, source, file, expected
FAULT_KINDS: tuple[tuple[str, str, str, str], ...] = (
    ("truncated_gzip", "orders", "orders.jsonl.gz", "file_quarantined"),
    ("missing_column", "crm_touches", "touches.csv", "file_quarantined"),
    ("extra_column", "content", "posts.csv", "drift_recorded"),
    ("bad_number", "loyalty", "points.csv", "rows_quarantined"),
    ("bad_date", "shipments", "shipments.csv", "rows_quarantined"),
    ("out_of_domain", "customers", "customers.jsonl", "rows_quarantined"),
    ("missing_success", "surveys", "responses.csv", "not_ingested"),
    ("empty_file", "inventory", "inventory.csv", "file_quarantined"),
    ("wrong_encoding", "ads", "juguang.csv", "file_quarantined"),
)


def plan(days: int, rng: np.random.Generator) -> dict[tuple[str, int], dict]:
    """Spreads the faults over the window's days (distinct days while there are enough)."""
    order = rng.permutation(days)
    out = {}
    for k, (kind, source, file, expected) in enumerate(FAULT_KINDS):
        day = int(order[k % days])
        out[(source, day)] = {
            "kind": kind,
            "source": source,
            "file": file,
            "expected": expected,
            "day": day,
        }
    return out


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    return rows[0], rows[1:]


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode("utf-8"))


def _insert(rows: list, rng: np.random.Generator, bad: object) -> int:
    line = int(rng.integers(1, len(rows) + 2))  # 1-based data line of the bad row
    rows.insert(line - 1, bad)
    return line


def inject(folder: Path, f: dict, date: str, rng: np.random.Generator) -> dict:
    """Applies fault f to a day folder already written; returns its _truth.json record."""
    kind, path = f["kind"], folder / f["file"]
    rec = {
        "kind": kind,
        "source": f["source"],
        "date": date,
        "file": f["file"],
        "expected": f["expected"],
        "rows": None,
        "lines": [],
    }
    if kind == "truncated_gzip":
        data = path.read_bytes()
        with gzip.open(path, "rb") as g:
            n = sum(1 for _ in g)
        rec["rows"] = n
        path.write_bytes(data[: max(24, int(len(data) * 0.6))])
    elif kind == "missing_column":
        header, rows = _read_csv(path)
        j = header.index("channel")
        _write_csv(path, header[:j] + header[j + 1 :], [r[:j] + r[j + 1 :] for r in rows])
        rec["rows"] = len(rows)
        rec["column"] = "channel"
    elif kind == "extra_column":
        header, rows = _read_csv(path)
        ext = [f"tr{int(x):08x}" for x in rng.integers(0, 2**31, len(rows))]
        _write_csv(
            path, [*header, "ext_trace_id"], [[*r, e] for r, e in zip(rows, ext, strict=True)]
        )
        rec["rows"] = len(rows)
        rec["column"] = "ext_trace_id"
    elif kind == "bad_number":
        header, rows = _read_csv(path)
        bad = (
            list(rows[0])
            if rows
            else ["L99999999999", "C000000001", f"{date} 12:00:00", "0", "review"]
        )
        bad[0] = "L9" + bad[0][2:]
        bad[header.index("points_delta")] = "12O"
        rec["lines"] = [_insert(rows, rng, bad)]
        rec["rows"] = 1
        _write_csv(path, header, rows)
    elif kind == "bad_date":
        header, rows = _read_csv(path)
        bad = (
            list(rows[0])
            if rows
            else [
                "SP999999999999",
                "TM999999999999",
                "WH_SH",
                "sf",
                f"{date} 09:00:00",
                "",
                date,
                "",
                "created",
                f"{date} 09:00:00",
            ]
        )
        bad[0] = "SP9" + bad[0][3:]
        bad[header.index("shipped_at")] = f"{date[:8]}31 25:61:00"
        bad[header.index("status")] = "in_transit"
        rec["lines"] = [_insert(rows, rng, bad)]
        rec["rows"] = 1
        _write_csv(path, header, rows)
    elif kind == "out_of_domain":
        lines = path.read_text(encoding="utf-8").splitlines()
        src = (
            lines[0]
            if lines
            else (
                '{"customer_id":"C999999999","updated_at":"' + date + 'T12:00:00+08:00",'
                '"phone":null,"wechat_unionid":null,"gender":"female","birth_year":1990,'
                '"province":"上海","city":"上海","registered_at":"' + date + 'T12:00:00+08:00",'
                '"register_channel":"own_site","member_tier":"none","wecom_added":false,'
                '"opt_out_marketing":false,"deleted":false}'
            )
        )
        obj = json.loads(src)
        obj["customer_id"] = "C9" + obj["customer_id"][2:]
        obj["phone"] = obj["wechat_unionid"] = None  # a fake record carries no real PII
        obj["member_tier"] = "diamond"
        bad = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
        rec["lines"] = [_insert(lines, rng, bad)]
        rec["rows"] = 1
        path.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
    elif kind == "missing_success":
        (folder / "_SUCCESS").unlink()
        rec["rows"] = max(0, len(path.read_text(encoding="utf-8").splitlines()) - 1)
    elif kind == "empty_file":
        rec["rows"] = max(0, len(path.read_text(encoding="utf-8").splitlines()) - 1)
        path.write_bytes(b"")
    elif kind == "wrong_encoding":
        text = path.read_text(encoding="utf-8")
        rec["rows"] = max(0, len(text.splitlines()) - 1)
        path.write_bytes(text.encode("gbk"))
        rec["encoding"] = "gbk"
    return rec
