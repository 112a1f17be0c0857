"""The source declarations of `sources.yml` and what a load reports back."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SOURCES_FILE = Path(__file__).parent.parent / "sources.yml"
SUCCESS_MARKER = "_SUCCESS"

_SQL_TYPES = {
    "varchar": "VARCHAR",
    "json": "VARCHAR",
    "integer": "BIGINT",
    "decimal": "DECIMAL(18,2)",
    "number": "DOUBLE",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "boolean": "BOOLEAN",
}
# Raw rows carry lineage (`_business_date`, `_source_file`, `_line`: the record's number in
# its file), never load times: re-running a day must give identical tables.


class LoadError(Exception):
    """A day cannot be loaded at all (not ready, or the configuration is wrong)."""


class FileRejected(Exception):
    """A whole file cannot be trusted; nothing of it may load."""


@dataclass(frozen=True)
class ColumnSpec:
    header: str
    name: str
    type: str
    required: bool = False
    domain: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    scale: float | None = None
    pii: bool = False
    # a regular expression the whole value must match (ids that Excel turns into 1.75947E+15)
    pattern: str | None = None
    # a JSON list's elements: their fields, typed and checked like columns (order items)
    elements: tuple[ColumnSpec, ...] = ()

    @property
    def sql_type(self) -> str:
        return _SQL_TYPES[self.type]


@dataclass(frozen=True)
class FileSpec:
    pattern: str
    format: str
    encoding: str
    columns: tuple[ColumnSpec, ...]
    constants: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ErasureSpec:
    """An erasure request (PIPL) in a source's rows, and what it purges.

    flag               boolean column; a true value asks for the record's subject to be erased
    key                pseudonymous key column the request is recorded under (audit.erasures)
    purge              columns set to NULL in every partition of the source's raw table
    quarantine_fields  fields of audit.quarantine.raw_record (any source) holding the subject's
                       clear id; a quarantined record of an erased subject is withheld
    """

    flag: str
    key: str
    purge: tuple[str, ...]
    quarantine_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceSpec:
    name: str
    family: str
    description: str
    table: str
    files: tuple[FileSpec, ...]
    primary_key: tuple[str, ...]
    updated_at: str | None = None
    latest_by: tuple[str, ...] = ()
    record_time: str | None = None
    min_rows: int = 0
    keys: dict[str, str] = field(default_factory=dict)
    gx_suite: str | None = None
    erasure: ErasureSpec | None = None
    compact_months: bool = True

    def version_order(self) -> tuple[str, ...]:
        """Columns whose greatest values mark the latest version of a primary key."""
        return (self.updated_at,) if self.updated_at else self.latest_by

    def columns(self) -> dict[str, str]:
        """Canonical raw columns (name -> SQL type), the same for every file of the source."""
        out: dict[str, str] = {}
        for file_spec in self.files:
            for col in file_spec.columns:
                out.setdefault(col.name, col.sql_type)
            for const in file_spec.constants:
                out.setdefault(const, "VARCHAR")
        for key in self.keys:
            out.setdefault(key, "VARCHAR")
        return out


def _column(header: str, raw: dict[str, Any]) -> ColumnSpec:
    col_type = raw.get("type", "varchar")
    if col_type not in _SQL_TYPES:
        raise LoadError(f"column {header!r} has unknown type {col_type!r}")
    domain = raw.get("domain")
    return ColumnSpec(
        header=header,
        name=raw.get("name", header),
        type=col_type,
        required=bool(raw.get("required", False)),
        domain=tuple(str(v) for v in domain) if domain else None,
        min=raw.get("min"),
        max=raw.get("max"),
        scale=raw.get("scale"),
        pii=bool(raw.get("pii", False)),
        pattern=raw.get("pattern"),
        elements=tuple(_column(k, v or {}) for k, v in (raw.get("elements") or {}).items()),
    )


def _erasure(raw: dict[str, Any]) -> ErasureSpec:
    return ErasureSpec(
        flag=raw["flag"],
        key=raw["key"],
        purge=tuple(raw["purge"]),
        quarantine_fields=tuple(raw.get("quarantine_fields") or ()),
    )


def load_source_specs(path: Path = SOURCES_FILE) -> dict[str, SourceSpec]:
    """Parses the source declarations; a malformed entry fails loudly at definition time."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    specs: dict[str, SourceSpec] = {}
    for name, raw in doc["sources"].items():
        files = tuple(
            FileSpec(
                pattern=f["pattern"],
                format=f["format"],
                encoding=f.get("encoding", "utf-8").lower(),
                columns=tuple(_column(h, c or {}) for h, c in f["columns"].items()),
                constants={k: str(v) for k, v in (f.get("constants") or {}).items()},
            )
            for f in raw["files"]
        )
        spec = SourceSpec(
            name=name,
            family=raw.get("family", "other"),
            description=" ".join(raw.get("description", "").split()),
            table=raw.get("table", name),
            files=files,
            primary_key=tuple(raw["primary_key"]),
            updated_at=raw.get("updated_at"),
            latest_by=tuple(raw.get("latest_by") or ()),
            record_time=raw.get("record_time"),
            min_rows=int(raw.get("min_rows", 0)),
            keys=dict(raw.get("keys") or {}),
            gx_suite=raw.get("gx_suite"),
            erasure=_erasure(raw["erasure"]) if raw.get("erasure") else None,
            compact_months=bool(raw.get("compact_months", not raw.get("erasure"))),
        )
        if spec.erasure and spec.compact_months:
            raise LoadError(
                f"source {name!r} carries erasure requests and cannot compact its months: "
                "an erasure rewrites the data files that hold a subject's data, not copies"
            )
        known = spec.columns()
        refs = (*spec.primary_key, spec.updated_at, *spec.latest_by, spec.record_time)
        refs += (*spec.keys.values(),)
        if spec.erasure:
            refs += (spec.erasure.flag, spec.erasure.key, *spec.erasure.purge)
            if known.get(spec.erasure.flag) != "BOOLEAN" or spec.erasure.key not in spec.keys:
                raise LoadError(
                    f"source {name!r}: erasure needs a boolean flag and a pseudonymous key"
                )
        for col in refs:
            if col and col not in known:
                raise LoadError(f"source {name!r} refers to unknown column {col!r}")
        for file_spec in files:
            if file_spec.format not in ("csv", "jsonl"):
                raise LoadError(f"source {name!r} has unknown format {file_spec.format!r}")
        specs[name] = spec
    return specs


@dataclass
class FileResult:
    file: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    duplicates_dropped: int = 0
    status: str = "loaded"
    reason: str | None = None
    drift: list[str] = field(default_factory=list)
    bytes: int = 0

    def reconciles(self) -> bool:
        return self.rows_read == self.rows_loaded + self.rows_quarantined + self.duplicates_dropped


@dataclass
class DayResult:
    source: str
    business_date: dt.date
    files: list[FileResult]
    record_dates: list[dt.date]
    seconds: float

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    @property
    def duplicates_dropped(self) -> int:
        return sum(f.duplicates_dropped for f in self.files)

    @property
    def drift(self) -> list[str]:
        return sorted({d for f in self.files for d in f.drift})

    @property
    def quarantined_files(self) -> list[str]:
        """Files set aside whole (see audit.quarantine)."""
        return [f.file for f in self.files if f.status == "quarantined"]

    @property
    def files_not_loaded(self) -> list[dict[str, str]]:
        """Files the loader did not take (unexpected or refused), with the reason."""
        return [
            {"file": f.file, "status": f.status, "reason": f.reason}
            for f in self.files
            if f.status in ("unexpected", "refused")
        ]

    @property
    def late_dates(self) -> list[dt.date]:
        """Own dates of records that arrived in a later folder: their marts need a rebuild."""
        return [d for d in self.record_dates if d != self.business_date]


def day_folder(landing: Path, source: str, business_date: dt.date) -> Path:
    return landing / source / business_date.isoformat()


def is_ready(landing: Path, source: str, business_date: dt.date) -> bool:
    return (day_folder(landing, source, business_date) / SUCCESS_MARKER).exists()
