"""Import a business's own history: exports + column mapping -> landing layout by day.

The mapping is a YAML file (see ``examples/import_mapping.yaml``)::

    timezone: America/New_York      # how to read timestamps without an offset
    sources:
      orders:
        file: orders_export.csv     # CSV or Parquet, relative to the mapping file
        columns:                    # contract column: column in your file
          order_id: id
          customer_id: buyer
        values:                     # optional recoding, per contract column
          status: {paid: completed, returned: refunded}
      customers:
        constants:                  # optional: one value for every row (logged by the import)
          email_opt_in: "true"      # e.g. an export of opted-in customers only

Contract columns not listed are taken from a file column of the same name when there
is one. Only ``customers`` and ``orders`` must be present. Each source is split by its
contract day columns, read in the business time zone, so that a backfill over the
printed date range rebuilds history. Timestamps are written as UTC ISO-8601.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
import numpy as np
import pyarrow as pa
import yaml

from lifecycle_pipeline import sql
from lifecycle_pipeline.contracts import SOURCES, TIMESTAMP, SourceContract
from lifecycle_pipeline.db import quote_ident
from lifecycle_pipeline.landing_files import write_landing_days
from lifecycle_pipeline.loading import file_kind

REQUIRED_SOURCES = tuple(c.name for c in SOURCES.values() if c.required_for_business)


class ImportMappingError(ValueError):
    """The mapping file or an export does not fit the source contracts."""


@dataclass(frozen=True)
class SourceMapping:
    source: str
    file: Path
    columns: dict[str, str]
    values: dict[str, dict[str, str]]
    constants: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ImportMapping:
    timezone: str | None
    sources: dict[str, SourceMapping]


@dataclass(frozen=True)
class ImportResult:
    source: str
    rows: int
    days: int
    first_day: dt.date | None
    last_day: dt.date | None
    columns: tuple[str, ...] = ()  # contract columns filled from the export (or a constant)


def load_mapping(path: Path) -> ImportMapping:
    """Parse and validate a mapping file; errors name the source and the key at fault."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ImportMappingError(f"cannot read mapping {path}: {exc}") from exc
    return parse_mapping(raw, base_dir=path.parent)


def parse_mapping(raw: dict, base_dir: Path) -> ImportMapping:
    if not isinstance(raw, dict) or not isinstance(raw.get("sources"), dict):
        raise ImportMappingError("mapping must have a 'sources' section: {source: {file: ..., columns: {...}}}")
    timezone = raw.get("timezone")
    if timezone is not None:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ImportMappingError(f"mapping timezone {timezone!r} is not an IANA time zone") from None
    sources = {}
    for name, spec in raw["sources"].items():
        if name not in SOURCES:
            raise ImportMappingError(f"unknown source {name!r} in mapping; known sources: {', '.join(SOURCES)}")
        if not isinstance(spec, dict) or "file" not in spec:
            raise ImportMappingError(f"source {name!r}: 'file' is required")
        contract = SOURCES[name]
        columns = dict(spec.get("columns") or {})
        unknown = [c for c in columns if c not in contract.column_names]
        if unknown:
            raise ImportMappingError(
                f"source {name!r}: {', '.join(unknown)} not in the {name} contract; "
                f"contract columns: {', '.join(contract.column_names)}"
            )
        values = {k: {str(a): str(b) for a, b in (v or {}).items()} for k, v in (spec.get("values") or {}).items()}
        bad_values = [c for c in values if c not in contract.column_names]
        if bad_values:
            raise ImportMappingError(f"source {name!r}: 'values' names unknown columns {', '.join(bad_values)}")
        constants = _constants(name, contract, spec.get("constants"), columns)
        file = Path(spec["file"])
        sources[name] = SourceMapping(name, file if file.is_absolute() else base_dir / file, columns, values, constants)
    missing = [s for s in REQUIRED_SOURCES if s not in sources]
    if missing:
        raise ImportMappingError(f"mapping lacks required sources: {', '.join(missing)}")
    return ImportMapping(timezone=timezone, sources=sources)


def _constants(name: str, contract: SourceContract, raw, columns: dict[str, str]) -> dict[str, str]:
    """``constants``: contract columns set to one value for every row (an explicit choice, logged)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ImportMappingError(f"source {name!r}: 'constants' must map contract columns to values")
    problems = [c for c in raw if c not in contract.column_names]
    problems += [f"{c} (also mapped under 'columns')" for c in raw if c in columns]
    problems += [f"{c} (a timestamp)" for c in raw if c in contract.column_names and contract.column(c).type == TIMESTAMP]
    if problems:
        raise ImportMappingError(f"source {name!r}: 'constants' cannot set {', '.join(problems)}")
    return {c: str(v).lower() if isinstance(v, bool) else str(v) for c, v in raw.items()}


# customer columns without which outreach excludes everyone (no_consent) on that channel
CONSENT_COLUMNS = ("email_opt_in", "sms_opt_in")


def mapping_notes(mapping: ImportMapping, results: list[ImportResult]) -> list[str]:
    """What a user must know about a mapping before trusting the import: constants applied and
    consent columns left unmapped (every customer would then be excluded from that channel)."""
    notes = []
    for m in mapping.sources.values():
        notes += [f"note: {m.source}.{c} is set to {v!r} for every row (mapping 'constants')"
                  for c, v in m.constants.items()]
    customers = mapping.sources.get("customers")
    if customers is not None:
        filled = next((set(r.columns) for r in results if r.source == "customers"), set())
        unmapped = [c for c in CONSENT_COLUMNS if c not in filled]
        if unmapped:
            notes.append(
                f"warning: customers.{' and customers.'.join(unmapped)} not mapped: outreach will exclude every "
                f"customer from those channels (reason no_consent). Map the opt-in column(s) under 'columns', or, "
                f"if your export holds only customers who opted in, set them under 'constants' "
                f"(e.g. constants: {{{unmapped[0]}: \"true\"}})."
            )
    return notes


def _reader(kind: str) -> str:
    if kind == "csv":
        return "read_csv(?, header = true, all_varchar = true, auto_detect = true)"
    return "(select columns(*)::varchar from read_parquet(?))"


def _column_expr(contract: SourceContract, column: str, file_column: str | None, recode: dict[str, str], params: list):
    if file_column is None:
        return None
    value = f"nullif(trim({quote_ident(file_column)}), '')"
    if recode:
        cases = []
        for old, new in recode.items():
            cases.append("when ? then ?")
            params.extend([old, new])
        value = f"(case {value} {' '.join(cases)} else {value} end)"
    if contract.column(column).type == TIMESTAMP:
        value = f"strftime(try_cast({value} as timestamptz) at time zone 'UTC', '%Y-%m-%dT%H:%M:%SZ')"
    return f"{value} as {quote_ident(column)}"


def import_source(
    conn: duckdb.DuckDBPyConnection,
    mapping: SourceMapping,
    source_timezone: str,
    business_timezone: str,
) -> pa.Table:
    """The export mapped onto the contract, with each row's landing day in ``_day``."""
    contract = SOURCES[mapping.source]
    if not mapping.file.is_file():
        raise ImportMappingError(f"source {mapping.source!r}: export file {mapping.file} does not exist")
    kind = file_kind(mapping.file)
    header = [r[0] for r in conn.execute(f"describe select * from {_reader(kind)}", [str(mapping.file)]).fetchall()]
    columns = {c: c for c in contract.column_names if c in header}
    columns.update(mapping.columns)
    absent = [f"{c} -> {f}" for c, f in mapping.columns.items() if f not in header]
    if absent:
        raise ImportMappingError(
            f"source {mapping.source!r}: mapped columns not in {mapping.file}: {', '.join(absent)}; "
            f"file columns: {', '.join(header)}"
        )
    missing = [c for c in contract.required_columns if c not in columns and c not in mapping.constants]
    if missing:
        raise ImportMappingError(
            f"source {mapping.source!r}: no column for required {', '.join(missing)} in {mapping.file}; "
            f"map them under 'columns' (file columns: {', '.join(header)})"
        )
    # projection: timestamps parsed in the source time zone, normalised to UTC text
    params: list = []
    exprs = []
    for c in contract.column_names:
        if c in mapping.constants:
            exprs.append(f"?::varchar as {quote_ident(c)}")
            params.append(mapping.constants[c])
        elif (e := _column_expr(contract, c, columns.get(c), mapping.values.get(c, {}), params)) is not None:
            exprs.append(e)
    day_sources = []
    for c in contract.day_columns:
        if c not in columns:
            continue
        if contract.column(c).type == TIMESTAMP:
            day_sources.append(f"try_cast(nullif(trim({quote_ident(columns[c])}), '') as timestamptz)")
        else:
            day_sources.append(f"try_cast(nullif(trim({quote_ident(columns[c])}), '') as date)")
    # The landing day is computed after switching to the business time zone, so the
    # timestamps are materialised first (as instants) under the source time zone.
    conn.execute("set TimeZone = ?", [source_timezone])
    day_instant = f"coalesce({', '.join(day_sources)})" if len(day_sources) > 1 else day_sources[0]
    conn.execute(
        "create or replace temp table import_rows as "
        + sql.load("ingestion/import_export_rows").format(
            mapped_columns=",\n    ".join(exprs), day_expression=day_instant, reader=_reader(kind)
        ),
        [*params, str(mapping.file)],
    )
    conn.execute("set TimeZone = ?", [business_timezone])
    (bad,) = conn.execute("select count(*) from import_rows where _landing_day is null").fetchall()[0]
    if bad:
        raise ImportMappingError(
            f"source {mapping.source!r}: {bad} rows of {mapping.file} have no parsable "
            f"{' / '.join(contract.day_columns)}, so their day is unknown; fix or drop them before importing"
        )
    table = conn.sql(
        "select * exclude (_landing_day, _export_row), _landing_day::date as _day from import_rows order by _day, _export_row"
    ).to_arrow_table()
    conn.execute("drop table import_rows")
    return table


def _write_source(source: str, table, first: dt.date, last: dt.date, landing_root: Path, fmt: str) -> ImportResult:
    """Write one file per day of the import's whole range (header-only where no rows)."""
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    day_col = table.column("_day").to_numpy(zero_copy_only=False).astype("datetime64[D]")
    day_index = (day_col - np.datetime64(first, "D")).astype(np.int64)
    written = write_landing_days(table.drop_columns(["_day"]), day_index, days, source, landing_root, fmt, "import")
    own = (day_col.min().astype(dt.date), day_col.max().astype(dt.date)) if table.num_rows else (None, None)
    columns = tuple(c for c in table.column_names if c != "_day")
    return ImportResult(source, table.num_rows, written, *own, columns)


def import_history(
    mapping: ImportMapping, landing_root: Path, business_timezone: str, fmt: str = "parquet"
) -> list[ImportResult]:
    """Import every mapped source; returns rows and day range per source.

    Every source gets a file for every day of the import's overall range, so that a day
    without signups reads as "arrived, no rows" rather than as a missing delivery.
    """
    source_timezone = mapping.timezone or business_timezone
    with duckdb.connect() as conn:
        tables = {
            name: import_source(conn, m, source_timezone, business_timezone)
            for name, m in mapping.sources.items()
        }
    days = np.concatenate([t.column("_day").to_numpy(zero_copy_only=False).astype("datetime64[D]") for t in tables.values()])
    if len(days) == 0:
        return [ImportResult(name, 0, 0, None, None, tuple(t.column_names[:-1])) for name, t in tables.items()]
    first, last = days.min().astype(dt.date), days.max().astype(dt.date)
    return [_write_source(name, table, first, last, landing_root, fmt) for name, table in tables.items()]
