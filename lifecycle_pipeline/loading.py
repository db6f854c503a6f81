"""Loading landing files into the warehouse: contract checks, typed casts, quarantine.

Pure functions over a DuckDB connection, usable without Dagster. The ingestion assets
call :func:`load_partition` once per partition day.

Every landed row ends up either in ``raw.<source>`` or in ``quality.quarantine`` (stage
``ingestion``) with its reason: ``type_cast`` (a value does not cast), ``csv_format`` (a
line that is not a row of the file: unbalanced quote, too few or too many fields) or
``encoding`` (a line that is not UTF-8). A file that cannot be read at all (header not
matching the contract, wrong delimiter, corrupt Parquet, truncated gzip) fails the day
with the file, line and column, and the day keeps its previous state. An empty or
header-only file means "no rows today".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from lifecycle_pipeline import sql
from lifecycle_pipeline.contracts import Column, SourceContract
from lifecycle_pipeline.db import quote_ident, transaction
from lifecycle_pipeline.landing_files import (
    SUPPORTED_SUFFIXES,
    LandingFileError,
    ParsedLines,
    complete_lines,
    delimiter_hint,
    file_kind,
    parse_csv_lines,
    read_csv_header,
    unreadable_file_error,
)

__all__ = [
    "SUPPORTED_SUFFIXES", "FileLoad", "LandingFileError", "LandingSchemaError", "PartitionLoad", "ensure_clean_tables",
    "ensure_warehouse", "file_kind", "load_partition", "match_columns", "raw_table_ddl", "read_file_columns",
]
TRUE_WORDS = ("true", "t", "1", "yes", "y")
FALSE_WORDS = ("false", "f", "0", "no", "n")


class LandingSchemaError(LandingFileError):
    """A landing file's columns do not match its source contract."""


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


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _csv_reader_sql(header: list[str]) -> str:
    """DuckDB's strict CSV reader with the landing dialect spelled out (no sniffing) and the header's columns."""
    columns = ", ".join(f"{_sql_text(name)}: 'VARCHAR'" for name in header)
    return (
        "(select *, row_number() over () as _source_row from read_csv($path, header = true, auto_detect = false, "
        f"delim = ',', quote = '\"', escape = '\"', strict_mode = true, columns = {{{columns}}}))"
    )


PARQUET_READER = "(select columns(*)::varchar, row_number() over () as _source_row from read_parquet($path))"


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
    """Column names of a landing file, as written in its header ([] for a file without content)."""
    kind = file_kind(path)
    if path.stat().st_size == 0:
        return []
    if kind == "csv":
        return read_csv_header(path)
    try:
        rows = conn.execute("describe select * from read_parquet(?)", [str(path)]).fetchall()
    except duckdb.Error as exc:
        first_line = str(exc).splitlines()[0]
        raise LandingFileError(f"landing file {path} is not a readable Parquet file: {first_line}",
                               f"{path.name}: not a readable Parquet file") from None
    return [r[0] for r in rows]


def match_columns(contract: SourceContract, path: Path, file_columns: list[str]) -> dict[str, str]:
    """Map contract column -> file column (case and surrounding blanks ignored).

    Raises :class:`LandingSchemaError` naming the file, line 1 (the header), the missing and
    unexpected columns (with their position) and the expected schema when the file does not
    fit the contract.
    """
    by_normal: dict[str, str] = {}
    duplicated = []
    for name in file_columns:
        normal = name.strip().lower()
        if normal in by_normal:
            duplicated.append(name)
        by_normal[normal] = name
    missing = [c for c in contract.required_columns if c not in by_normal]
    unexpected = [
        f"{name or '(empty name)'} (column {position})"
        for position, name in enumerate(file_columns, 1)
        if name.strip().lower() not in contract.column_names
    ]
    if missing or unexpected or duplicated:
        problems = [delimiter_hint(file_columns)] if delimiter_hint(file_columns) else []
        if missing:
            problems.append(f"missing required columns: {', '.join(missing)}")
        if unexpected:
            problems.append(f"unexpected columns: {', '.join(unexpected)}")
        if duplicated:
            problems.append(f"duplicated columns: {', '.join(duplicated)}")
        raise LandingSchemaError(
            f"{contract.name} landing file {path} line 1 (header) does not match the {contract.name} contract: "
            f"{'; '.join(problems)}. Expected schema: {contract.describe_schema()}",
            f"{path.name}: line 1 (header) does not match the contract: {problems[0]}",
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


def _load_file_sql(contract: SourceContract, reader: str, mapping: dict[str, str]) -> str:
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
        reader=reader,
        typed_columns=",\n        ".join(typed_columns),
        reject_reason=reject_reason,
        column_list=", ".join(quote_ident(c) for c in contract.column_names),
    )


def _create_typed_staging(conn: duckdb.DuckDBPyConnection, contract: SourceContract) -> None:
    columns = [f"{quote_ident(c.name)} {c.type}" for c in contract.columns]
    columns += ["_source_file VARCHAR", "_source_row BIGINT", "_reject_rule VARCHAR", "_reject_reason VARCHAR",
                "_original_row JSON"]
    conn.execute("create or replace temp table landing_typed (" + ", ".join(columns) + ")")


def _stage_parsed_lines(
    conn: duckdb.DuckDBPyConnection, contract: SourceContract, path: Path, parsed: ParsedLines, mapping: dict[str, str]
) -> None:
    """Stage a file read line by line: its good rows typed like any file, its bad lines as rejects."""
    conn.register("landing_lines", parsed.table())
    try:
        conn.execute(_load_file_sql(contract, "landing_lines", mapping), {"path": str(path)})
    finally:
        conn.unregister("landing_lines")
    if parsed.bad:
        conn.executemany(
            "insert into landing_typed (_source_file, _source_row, _reject_rule, _reject_reason, _original_row) "
            "values (?, ?, ?, ?, json_object('line', ?::bigint, 'text', ?::varchar))",
            [[str(path), b.record, b.rule, b.reason, b.line, b.text] for b in parsed.bad],
        )


def _stage_csv(conn: duckdb.DuckDBPyConnection, contract: SourceContract, path: Path, header: list[str]) -> None:
    """Stage a CSV file: DuckDB's strict reader, or line by line when it rejects the file."""
    mapping = match_columns(contract, path, header)
    try:
        conn.execute(_load_file_sql(contract, _csv_reader_sql(header), mapping), {"path": str(path)})
    except duckdb.IOException as exc:  # e.g. a gzip stream that breaks off
        raise unreadable_file_error(path, exc, complete_lines(path)) from None
    except duckdb.Error:
        # malformed lines (quotes, field counts, encoding): read the file line by line instead
        _stage_parsed_lines(conn, contract, path, parse_csv_lines(path, header), mapping)


def _stage_file(conn: duckdb.DuckDBPyConnection, contract: SourceContract, path: Path) -> FileLoad:
    """Read one landing file into ``landing_typed``; an empty or header-only file stages no rows."""
    file_load = FileLoad(path=str(path))
    columns = read_file_columns(conn, path)
    if not columns:
        return file_load
    if file_kind(path) == "csv":
        _stage_csv(conn, contract, path, columns)
    else:
        try:
            conn.execute(_load_file_sql(contract, PARQUET_READER, match_columns(contract, path, columns)),
                         {"path": str(path)})
        except duckdb.Error as exc:
            first_line = str(exc).splitlines()[0]
            raise LandingFileError(f"landing file {path} is not a readable Parquet file: {first_line}",
                                   f"{path.name}: not a readable Parquet file") from None
    counts = conn.execute(
        "select count(*), count(_reject_reason) from landing_typed where _source_file = ?", [str(path)]
    ).fetchall()[0]
    file_load.rows_read, file_load.rows_quarantined = counts
    return file_load


def _stage_file_or_explain(conn: duckdb.DuckDBPyConnection, contract: SourceContract, path: Path) -> FileLoad:
    """``_stage_file``; a file that cannot be read fails with what the contract expects."""
    try:
        return _stage_file(conn, contract, path)
    except LandingSchemaError:
        raise
    except LandingFileError as exc:
        raise LandingFileError(
            f"{str(exc).rstrip('.')}. Expected: a {contract.name} file ({', '.join(SUPPORTED_SUFFIXES)}) with the "
            f"schema {contract.describe_schema()}",
            exc.summary,
        ) from None


def load_partition(
    conn: duckdb.DuckDBPyConnection,
    contract: SourceContract,
    day: dt.date,
    files: list[Path],
) -> PartitionLoad:
    """Replace the ``day`` partition of ``raw.<source>`` with the rows of ``files``.

    Every file is read and checked against the contract before anything is written. Rows
    that cannot be loaded go to ``quality.quarantine`` (rules ``type_cast``, ``csv_format``,
    ``encoding``) with the reason and the original text, so rows read = rows loaded + rows
    quarantined for every file. The delete of the old partition and the inserts run in one
    transaction: a failure (or a killed process) leaves the previous state of the day
    untouched. No files, empty files or header-only files = an empty partition.
    """
    result = PartitionLoad(source=contract.name, day=day)
    _create_typed_staging(conn, contract)
    try:
        for path in files:
            result.files.append(_stage_file_or_explain(conn, contract, path))
        result.rows_quarantined = sum(f.rows_quarantined for f in result.files)
        result.rows_loaded = result.rows_read - result.rows_quarantined
        table = f"raw.{quote_ident(contract.name)}"
        column_list = ", ".join(quote_ident(c) for c in contract.column_names)
        with transaction(conn):
            conn.execute(sql.load("ingestion/delete_raw_partition").format(table=table), [day])
            conn.execute(
                sql.load("ingestion/insert_raw_partition").format(table=table, column_list=column_list), [day]
            )
            conn.execute(sql.load("ingestion/delete_quarantine_partition"), [contract.name, day, "ingestion"])
            conn.execute(sql.load("ingestion/insert_quarantine_rows"), [contract.name, day])
            conn.execute(
                sql.load("ingestion/record_landing_load"),
                [contract.name, day, len(result.files), result.rows_read, result.rows_loaded, result.rows_quarantined],
            )
    finally:
        conn.execute("drop table if exists landing_typed")
    return result
