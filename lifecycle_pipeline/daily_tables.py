"""Writing the derived daily tables: one as_of_date replaced at a time, in one transaction.

Every derived table has an entry in the data dictionary (``dictionary.py``). Its layout
is checked against that entry before a day is written, so a database built by an older
version fails with a clear message instead of shifting values into the wrong columns.
An asset step writes many days and checks its tables before each; on a connection opened
with :func:`layouts_checked_once` (``WarehouseResource.get_connection``) a table checked
once is not looked up again (catalog queries took ~40 s of a 365-day run).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from zoneinfo import ZoneInfo

import duckdb

from lifecycle_pipeline.db import bind, quote_ident, transaction
from lifecycle_pipeline.dictionary import TABLES, apply_comments, describe_columns


def end_of_day(day: dt.date, timezone: str) -> dt.datetime:
    """The first instant after business day ``day`` (local midnight; DST-exact)."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=ZoneInfo(timezone))


class TableLayoutError(RuntimeError):
    """A derived table's columns differ from its data-dictionary entry."""


# id(connection) -> the tables it has checked, while the connection is open (see layouts_checked_once)
_CHECKED: dict[int, set[str]] = {}


@contextmanager
def layouts_checked_once(conn: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """While open, :func:`ensure_table` checks each table on ``conn`` once, not once per day written.

    For a connection only this process writes to (the project's single writer) whose code
    never drops a checked table: a table replaced behind its back would not be noticed.
    """
    _CHECKED[id(conn)] = set()
    try:
        yield conn
    finally:
        _CHECKED.pop(id(conn), None)


def layout_checked(conn: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether ``table`` was already checked on ``conn`` inside :func:`layouts_checked_once`."""
    return table in _CHECKED.get(id(conn), ())


def _note_checked(conn: duckdb.DuckDBPyConnection, table: str) -> None:
    if (checked := _CHECKED.get(id(conn))) is not None:
        checked.add(table)


def table_exists(conn: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether ``schema.table`` exists (table or view)."""
    return conn.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", table.split(".")
    ).fetchall()[0][0] > 0


def _documented_columns(table: str) -> list[tuple[str, str]]:
    return [(name, type_) for name, type_, _ in TABLES[table].columns]


def layout_matches(conn: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether the existing ``table`` has exactly the columns (names, types, order) of its dictionary entry."""
    return describe_columns(conn, table) == _documented_columns(table)


def _add_new_columns(conn: duckdb.DuckDBPyConnection, table: str) -> None:
    """Upgrade a table of an older version whose columns are a prefix of the documented ones: add the new
    trailing columns (NULL in the rows already written, until their days are recomputed). Any other
    difference is left for ``ensure_table`` to report."""
    actual, expected = describe_columns(conn, table), _documented_columns(table)
    if len(actual) < len(expected) and expected[: len(actual)] == actual:
        for name, type_ in expected[len(actual):]:
            conn.execute(f"alter table {table} add column {quote_ident(name)} {type_}")
        apply_comments(conn, table)


def ensure_table(
    conn: duckdb.DuckDBPyConnection, table: str, select_sql: str | None = None, params: dict | None = None
) -> None:
    """Create ``table`` if missing (from ``select_sql``'s columns, or else from its dictionary entry),
    add the columns a newer version appended to it, then check it against the dictionary."""
    if layout_checked(conn, table):
        return
    conn.execute(f"create schema if not exists {table.split('.')[0]}")
    if not table_exists(conn, table):
        if select_sql is None:
            columns = ", ".join(f"{quote_ident(name)} {type_}" for name, type_, _ in TABLES[table].columns)
            conn.execute(f"create table {table} ({columns})")
        else:
            statement = f"create table {table} as {select_sql} limit 0"
            conn.execute(statement, bind(statement, params))
        apply_comments(conn, table)
    _add_new_columns(conn, table)
    if not layout_matches(conn, table):
        actual, expected = describe_columns(conn, table), _documented_columns(table)
        missing = [c for c in expected if c not in actual]
        extra = [c for c in actual if c not in expected]
        raise TableLayoutError(
            f"{table} does not have the documented layout (missing or changed: {missing}; unexpected: {extra}). "
            f"It is derived data: drop it (`drop table {table}`) and backfill its asset to rebuild it."
        )
    _note_checked(conn, table)


def write_day(conn: duckdb.DuckDBPyConnection, table: str, day: dt.date, select_sql: str, params: dict) -> int:
    """Delete ``table``'s rows of ``as_of_date = day`` and insert ``select_sql`` (inside the caller's transaction).

    ``params`` may hold more than the query uses (``bind``).
    """
    conn.execute(f"delete from {table} where as_of_date = ?", [day])
    statement = f"insert into {table} {select_sql}"
    conn.execute(statement, bind(statement, params))
    return conn.execute(f"select count(*) from {table} where as_of_date = ?", [day]).fetchall()[0][0]


def replace_day(conn: duckdb.DuckDBPyConnection, table: str, day: dt.date, select_sql: str, params: dict) -> int:
    """Replace ``table``'s rows of ``as_of_date = day`` with ``select_sql`` in one transaction; returns the row count."""
    ensure_table(conn, table, select_sql, params)
    with transaction(conn):
        return write_day(conn, table, day, select_sql, params)
