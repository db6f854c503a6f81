"""Loading landing files into the warehouse: contract checks, typed casts, quarantine.

Pure functions over a DuckDB connection, usable without Dagster. The ingestion assets
call :func:`load_partition` once per partition day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from lifecycle_pipeline import sql
from lifecycle_pipeline.contracts import Column, SourceContract
from lifecycle_pipeline.db import quote_ident, transaction

SUPPORTED_SUFFIXES = (".csv", ".csv.gz", ".parquet")
TRUE_WORDS = ("true", "t", "1", "yes", "y")
FALSE_WORDS = ("false", "f", "0", "no", "n")


class LandingSchemaError(ValueError):
    """A landing file's columns do not match its source contract."""


class LandingFileError(ValueError):
    """A landing file cannot be read (unsupported type, malformed content)."""


@dataclass
class FileLoad:
    path: str
    rows_read: int = 0
    rows_quarantined: int = 0


@dataclass
class PartitionLoad:
    """What one partition day's load did; becomes the materialization metadata."""

    source: str
    day: dt.date
    files: list[FileLoad] = field(default_factory=list)
    rows_loaded: int = 0
    rows_quarantined: int = 0

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def file_found(self) -> bool:
        return bool(self.files)


def file_kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith(".csv") or name.endswith(".csv.gz"):
        return "csv"
    raise LandingFileError(
        f"landing file {path} has an unsupported type; expected one of {', '.join(SUPPORTED_SUFFIXES)}"
    )


def _reader_sql(kind: str) -> str:
    if kind == "csv":
        return "read_csv(?, header = true, all_varchar = true, auto_detect = true)"
    return "(select columns(*)::varchar from read_parquet(?))"


def ensure_warehouse(conn: duckdb.DuckDBPyConnection, contracts: list[SourceContract]) -> None:
    """Create the schemas, the quarantine table and one raw table per contract."""
    conn.execute(sql.load("ingestion/create_warehouse"))
    for contract in contracts:
        conn.execute(raw_table_ddl(contract))


# sources with a point-in-time table macro clean.<source>_as_of(as_of, as_of_end) in sql/clean/
AS_OF_MACROS = ("customers", "orders")


def ensure_clean_tables(conn: duckdb.DuckDBPyConnection, contracts: list[SourceContract]) -> None:
    """``clean.<source>`` tables with the raw schema (created empty when missing), and the
    ``clean.customers_as_of`` / ``clean.orders_as_of`` table macros (``sql/clean/``)."""
    conn.execute("create schema if not exists clean")
    for contract in contracts:
        name = quote_ident(contract.name)
        conn.execute(f"create table if not exists clean.{name} as select * from raw.{name} limit 0")
        if contract.name in AS_OF_MACROS:
            conn.execute(sql.load(f"clean/{contract.name}_as_of"))


def raw_table_ddl(contract: SourceContract) -> str:
    columns = [f"{quote_ident(c.name)} {c.type}" for c in contract.columns]
    columns += ["_partition_date DATE NOT NULL", "_source_file VARCHAR", "_source_row BIGINT"]
    return f"create table if not exists raw.{quote_ident(contract.name)} (\n    " + ",\n    ".join(columns) + "\n)"


def read_file_columns(conn: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    """Column names of a landing file, as written in its header."""
    kind = file_kind(path)
    try:
        rows = conn.execute(f"describe select * from {_reader_sql(kind)}", [str(path)]).fetchall()
    except duckdb.Error as exc:
        raise LandingFileError(f"cannot read landing file {path}: {exc}") from exc
    return [r[0] for r in rows]


def match_columns(contract: SourceContract, path: Path, file_columns: list[str]) -> dict[str, str]:
    """Map contract column -> file column (case and surrounding blanks ignored).

    Raises :class:`LandingSchemaError` naming the file, the missing and unexpected
    columns and the expected schema when the file does not fit the contract.
    """
    by_normal: dict[str, str] = {}
    duplicated = []
    for name in file_columns:
        normal = name.strip().lower()
        if normal in by_normal:
            duplicated.append(name)
        by_normal[normal] = name
    missing = [c for c in contract.required_columns if c not in by_normal]
    unexpected = [by_normal[n] for n in by_normal if n not in contract.column_names]
    if missing or unexpected or duplicated:
        problems = []
        if missing:
            problems.append(f"missing required columns: {', '.join(missing)}")
        if unexpected:
            problems.append(f"unexpected columns: {', '.join(unexpected)}")
        if duplicated:
            problems.append(f"duplicated columns: {', '.join(duplicated)}")
        raise LandingSchemaError(
            f"{contract.name} landing file {path} does not match the {contract.name} contract: "
            f"{'; '.join(problems)}. Expected schema: {contract.describe_schema()}"
        )
    return {c: by_normal[c] for c in contract.column_names if c in by_normal}


def _typed_expr(column: Column, file_column: str | None) -> tuple[str, str | None]:
    """(typed expression, rejection condition) for one contract column."""
    if file_column is None:
        return f"null::{column.type}", None
    text = f"nullif(trim(landed.{quote_ident(file_column)}), '')"
    if column.type == "VARCHAR":
        return text, None
    if column.type == "BOOLEAN":
        true_words = ", ".join(f"'{w}'" for w in TRUE_WORDS)
        false_words = ", ".join(f"'{w}'" for w in FALSE_WORDS)
        typed = f"(case when lower({text}) in ({true_words}) then true when lower({text}) in ({false_words}) then false end)"
    else:
        typed = f"try_cast({text} as {column.type})"
    return typed, f"{text} is not null and {typed} is null"


def _load_file_sql(contract: SourceContract, kind: str, mapping: dict[str, str]) -> str:
    typed_columns, reasons = [], []
    for column in contract.columns:
        typed, rejected = _typed_expr(column, mapping.get(column.name))
        typed_columns.append(f"{typed} as {quote_ident(column.name)}")
        if rejected:
            file_col = quote_ident(mapping[column.name])
            reasons.append(
                f"case when {rejected} then '{column.name}: ' || landed.{file_col} || ' is not a valid {column.type}' end"
            )
    reject_reason = f"nullif(concat_ws('; ', {', '.join(reasons)}), '')" if reasons else "null::varchar"
    return sql.load("ingestion/load_landing_file").format(
        reader=_reader_sql(kind),
        typed_columns=",\n        ".join(typed_columns),
        reject_reason=reject_reason,
        column_list=", ".join(quote_ident(c) for c in contract.column_names),
    )


def _create_typed_staging(conn: duckdb.DuckDBPyConnection, contract: SourceContract) -> None:
    columns = [f"{quote_ident(c.name)} {c.type}" for c in contract.columns]
    columns += ["_source_file VARCHAR", "_source_row BIGINT", "_reject_reason VARCHAR", "_original_row JSON"]
    conn.execute("create or replace temp table landing_typed (" + ", ".join(columns) + ")")


def load_partition(
    conn: duckdb.DuckDBPyConnection,
    contract: SourceContract,
    day: dt.date,
    files: list[Path],
) -> PartitionLoad:
    """Replace the ``day`` partition of ``raw.<source>`` with the rows of ``files``.

    Every file is checked against the contract before anything is written. Rows whose
    values cannot be cast to the contract types go to ``quality.quarantine`` (rule
    ``type_cast``) with the reason and the original text. The delete of the old
    partition and the inserts run in one transaction: a failure (or a killed process)
    leaves the previous state of the day untouched. No files = an empty partition.
    """
    result = PartitionLoad(source=contract.name, day=day)
    _create_typed_staging(conn, contract)
    try:
        for path in files:
            kind = file_kind(path)
            mapping = {} if path.stat().st_size == 0 else match_columns(contract, path, read_file_columns(conn, path))
            file_load = FileLoad(path=str(path))
            if mapping:
                try:
                    conn.execute(_load_file_sql(contract, kind, mapping), [str(path), str(path)])
                except duckdb.Error as exc:
                    raise LandingFileError(f"cannot load landing file {path}: {exc}") from exc
                counts = conn.execute(
                    "select count(*), count(_reject_reason) from landing_typed where _source_file = ?",
                    [str(path)],
                ).fetchall()[0]
                file_load.rows_read, file_load.rows_quarantined = counts
            result.files.append(file_load)

        table = f"raw.{quote_ident(contract.name)}"
        column_list = ", ".join(quote_ident(c) for c in contract.column_names)
        with transaction(conn):
            conn.execute(sql.load("ingestion/delete_raw_partition").format(table=table), [day])
            conn.execute(
                sql.load("ingestion/insert_raw_partition").format(table=table, column_list=column_list), [day]
            )
            conn.execute(sql.load("ingestion/delete_quarantine_partition"), [contract.name, day, "ingestion"])
            conn.execute(sql.load("ingestion/insert_quarantine_rows"), [contract.name, day])
            rows_read = sum(f.rows_read for f in result.files)
            rows_quarantined = sum(f.rows_quarantined for f in result.files)
            conn.execute(
                sql.load("ingestion/record_landing_load"),
                [contract.name, day, len(result.files), rows_read, rows_read - rows_quarantined, rows_quarantined],
            )
    finally:
        conn.execute("drop table if exists landing_typed")
    result.rows_quarantined = sum(f.rows_quarantined for f in result.files)
    result.rows_loaded = result.rows_read - result.rows_quarantined
    return result
