"""Small DuckDB helpers shared by every layer."""

import re
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from lifecycle_pipeline import sql


def quote_ident(name: str) -> str:
    """A SQL identifier, quoted (names come from code-defined contracts, never from data)."""
    return '"' + name.replace('"', '""') + '"'


_COMMENT = re.compile(r"--[^\n]*")
_NAMED_PARAMETER = re.compile(r"\$([A-Za-z_]\w*)")


def bind(statement: str, params: dict | None) -> dict | None:
    """The named parameters ``statement`` uses, taken from ``params`` (which may hold more, e.g. all settings).

    DuckDB rejects named parameters a statement does not reference, so callers can pass one
    dict of everything a family of queries needs and each query gets its own part.
    """
    if not params:
        return None
    used = set(_NAMED_PARAMETER.findall(_COMMENT.sub("", statement)))
    return {name: value for name, value in params.items() if name in used} or None


def execute_file(conn: duckdb.DuckDBPyConnection, name: str, params: dict) -> None:
    """Run every statement of ``sql/<name>.sql`` in order, each with the parameters it uses."""
    for statement in sql.statements(name):
        conn.execute(statement, bind(statement, params))


@contextmanager
def transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Run the block in one transaction: all of its writes land, or none do."""
    conn.execute("begin transaction")
    try:
        yield conn
    except BaseException:
        conn.execute("rollback")
        raise
    conn.execute("commit")
