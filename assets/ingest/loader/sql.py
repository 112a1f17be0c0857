"""The SQL that types, checks and hashes a landing file's records in one scan."""

from __future__ import annotations

from assets.ingest.loader.specs import (
    ColumnSpec,
    FileSpec,
    SourceSpec,
)
from orchestration.lib.sql import literal, quoted


def _hmac_sql(expr: str) -> str:
    """HMAC-SHA256 in SQL, so hashing millions of ids stays inside DuckDB.

    `$ipad`/`$opad` are the key's inner and outer pads (RFC 2104), bound as blobs.
    """
    return (
        f"case when nullif({expr}, '') is null then null else "
        f"sha256($opad || unhex(sha256($ipad || encode({expr})))) end"
    )


def _hmac_pads(key: bytes) -> dict[str, bytes]:
    import hashlib

    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return {"ipad": bytes(b ^ 0x36 for b in key), "opad": bytes(b ^ 0x5C for b in key)}


_q = quoted  # the loader's short name for it


_lit = literal


def _text(col: ColumnSpec, raw: str, is_json: bool) -> str:
    """A column's cleaned text: NULL when missing.

    CSV has no null, so an empty or padded field is trimmed and an empty one is missing. JSON
    has null: its free-form strings are kept as sent (normalising every string of a large JSON
    day costs a tenth of its load), and only the values the contract constrains (typed,
    required or with a domain) are trimmed or read as missing when empty."""
    if not is_json or col.type != "varchar":
        return f"nullif(trim({raw}), '')"
    if col.required or col.domain:
        return f"nullif({raw}, '')"
    return raw


def _typed_expr(col: ColumnSpec, text: str) -> str:
    """The typed value of a column from its cleaned text (`_text`, a column of an inner query:
    DuckDB does not share a repeated subexpression); NULL when empty or unparseable."""
    if col.type in ("varchar",):
        return text
    if col.type == "json" and col.elements:
        # Written back with its declared element types (qty 2, not "2"), so no model ever
        # meets an uncastable value; undeclared element fields are not kept.
        fields = ", ".join(
            f"{_lit(e.name)}: {_typed_expr(e, _element_text(e))}" for e in col.elements
        )
        return (
            f"case when json_valid({text}) then case when json_type({text}) = 'ARRAY' then "
            f"to_json(list_transform(json_extract({text}, '$[*]'), lambda x: {{{fields}}}))"
            "::varchar end end"
        )
    if col.type == "json":
        return f"case when json_valid({text}) then {text} end"
    if col.type == "timestamp":
        # Raw keeps naive Asia/Shanghai (business) time. The two shapes of sources.md are cast
        # directly (naive CSV time; JSON with +08:00); any other offset goes through the time
        # zone library, which is several times slower.
        return (
            f"case when length({text}) = 19 then try_cast({text} as timestamp) "
            f"when length({text}) = 25 and suffix({text}, '+08:00') "
            f"then try_cast(left({text}, 19) as timestamp) "
            f"else timezone('Asia/Shanghai', try_cast({text} as timestamptz)) end"
        )
    expr = f"try_cast({text} as {col.sql_type})"
    if col.scale is not None:
        expr = f"cast({expr} * {col.scale!r} as {col.sql_type})"
    return expr


def _element_text(element: ColumnSpec) -> str:
    """An element field's cleaned text, inside a lambda over the list's elements `x`."""
    return f"nullif(trim(json_extract_string(x, {_lit('$.' + element.header)})), '')"


def _element_reasons(col: ColumnSpec, text: str) -> list[str]:
    """The reasons of a JSON list whose elements break their declaration: one record (an
    order) is quarantined for one bad element, with the field named (`items[].qty`)."""
    elements = (
        f"case when json_valid({text}) then case when json_type({text}) = 'ARRAY' then "
        f"json_extract({text}, '$[*]') end end"
    )
    reasons = [
        f"case when list_bool_or(list_transform({elements}, lambda x: json_type(x) <> 'OBJECT')) "
        f"then 'an element of {col.name} is not an object' end"
    ]
    for element in col.elements:
        label = f"{col.name}[].{element.name}"
        value = _typed_expr(element, _element_text(element))
        for reason in _reason_exprs(element, _element_text(element), value):
            # each per-element reason becomes "does any element have it"
            condition = reason.removeprefix("case when ").rsplit(" then ", 1)
            message = (
                condition[1].removesuffix(" end").replace(f" in {element.name}'", f" in {label}'")
            )
            reasons.append(
                f"case when list_bool_or(list_transform({elements}, "
                f"lambda x: coalesce({condition[0]}, false))) then {message} end"
            )
    return reasons


def _reason_exprs(col: ColumnSpec, text: str, typed: str) -> list[str]:
    name = col.name
    reasons = _element_reasons(col, text) if col.elements else []
    if col.required:
        reasons.append(f"case when {text} is null then 'missing value in {name}' end")
    if col.type not in ("varchar",):
        reasons.append(
            f"case when {text} is not null and {typed} is null "
            f"then 'unparseable {col.type} in {name}' end"
        )
    if col.domain:
        allowed = ", ".join(_lit(v) for v in col.domain)
        reasons.append(
            f"case when {typed} is not null and cast({typed} as varchar) not in ({allowed}) "
            f"then 'value out of domain in {name}' end"
        )
    if col.pattern:
        reasons.append(
            f"case when {typed} is not null and not regexp_full_match({typed}, "
            f"{_lit(col.pattern)}) then 'value not of the form of {name}' end"
        )
    if col.min is not None:
        reasons.append(
            f"case when {typed} < {col.min!r} then 'value below {col.min} in {name}' end"
        )
    if col.max is not None:
        reasons.append(
            f"case when {typed} > {col.max!r} then 'value above {col.max} in {name}' end"
        )
    return reasons


def _mask_record_sql(file_spec: FileSpec, raw_of: dict[str, str]) -> str:
    """The quarantined row as JSON of its text values, personal data replaced by its keyed
    hash."""
    parts = []
    for col in file_spec.columns:
        value = raw_of[col.name]
        if col.pii:
            value = _hmac_sql(value)
        parts.append(f"{_lit(col.name)}, {value}")
    return f"to_json(json_object({', '.join(parts)}))::varchar"


# Temp tables of a load. Some hold values before hashing, so none outlives the load: the
def _file_select(spec: SourceSpec, file_spec: FileSpec, relation: str, lines: bool) -> str:
    """The SELECT that types, checks and hashes every record of one file, in file order.

    Every record the reader could split is kept, valid or not, so a record's position in the
    data file is its position in the landing file; `_reason` marks the invalid ones, which
    the raw view leaves out and the quarantine lists with their masked text. `lines`: the
    relation is a JSON file read line by line, with `_valid` and `_text`.

    Each cleaned text and typed value is computed once, in an inner query, and referenced by
    name: DuckDB does not share a repeated subexpression, and the timestamp cast alone names
    its text five times.
    """
    is_json = file_spec.format == "jsonl"
    raw_of = {c.name: _q(c.header) for c in file_spec.columns}
    text_of: dict[str, str] = {}
    value_of: dict[str, str] = {}
    texts, typed_cols = [], []
    for i, c in enumerate(file_spec.columns):
        texts.append(f"{_text(c, raw_of[c.name], is_json)} as _s{i}")
        text_of[c.name] = value_of[c.name] = f"_s{i}"
        if c.type != "varchar":
            typed_cols.append(f"{_typed_expr(c, f'_s{i}')} as _t{i}")
            value_of[c.name] = f"_t{i}"
    reasons = [
        r for c in file_spec.columns for r in _reason_exprs(c, text_of[c.name], value_of[c.name])
    ]
    reason_sql = f"concat_ws('; ', {', '.join(reasons)})" if reasons else "''"
    masked = _mask_record_sql(file_spec, raw_of)
    if lines:
        # A line that is not a JSON object has no values to check. (Only this path carries
        # `_valid`: a constant column on the fast path costs a tenth of a large day's load.)
        reason_sql = f"case when not _valid then 'unparseable JSON line' else {reason_sql} end"
        unparsed = (
            "'<unparseable line withheld: this source carries personal data>'"
            if any(c.pii for c in file_spec.columns)
            else "left(_text, 2000)"
        )
        masked = f"case when not _valid then {unparsed} else {masked} end"

    typed = {c.name: c for c in file_spec.columns}
    # An erasure request's own record is written purged: rewriting the file for it afterwards
    # would cost a second pass over the day. Other records of erased subjects are purged by
    # `_record_erasures`.
    purged_now: dict[str, str] = {}
    if spec.erasure and spec.erasure.flag in value_of:
        purged_now = {
            c: f"coalesce({value_of[spec.erasure.flag]}, false)" for c in spec.erasure.purge
        }
    select = []
    for name, sql_type in spec.columns().items():
        if name in typed:
            value = value_of[name]
            expr = _hmac_sql(value) if typed[name].pii else value
        elif name in file_spec.constants:
            expr = _lit(file_spec.constants[name])
        elif name in spec.keys:
            expr = _hmac_sql(value_of[spec.keys[name]])
        else:
            expr = f"cast(null as {sql_type})"
        if name in purged_now:
            expr = f"case when {purged_now[name]} then null else {expr} end"
        select.append(f"{expr} as {_q(name)}")
    typed_sql = ", ".join(["*", *typed_cols])
    return (
        f"select {', '.join(select)}, cast($business_date as date) as _business_date, "
        "$file as _source_file, _reason, "
        f"case when _reason is not null then {masked} end as _quarantine_record "
        f"from (select *, nullif({reason_sql}, '') as _reason "
        f"from (select {typed_sql} from (select src.*, {', '.join(texts)} "
        f"from ({relation}) src)))"
    )
