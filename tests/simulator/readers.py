"""Plain readers of the landing zone (csv / json / gzip), independent of the simulator."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from pathlib import Path

ENCODING = {"tencent_ads.csv": "gbk", "qianchuan.csv": "utf-8-sig"}


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    text = path.read_bytes().decode(ENCODING.get(path.name, "utf-8"))
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    return header, [dict(zip(header, r, strict=True)) for r in rows[1:]]


def read_jsonl(path: Path) -> Iterator[dict]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def day_folders(root: Path, source: str) -> list[Path]:
    return sorted(p for p in (root / source).iterdir() if p.is_dir())


def data_files(folder: Path, name: str) -> list[Path]:
    """The file, or its parts (events-0001.jsonl.gz, ...)."""
    if (folder / name).exists():
        return [folder / name]
    stem = name.split(".")[0]
    return sorted(folder.glob(f"{stem}-[0-9][0-9][0-9][0-9].*"))
