"""Small DuckDB helpers shared by every layer."""

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb


def quote_ident(name: str) -> str:
    """A SQL identifier, quoted (names come from code-defined contracts, never from data)."""
    return '"' + name.replace('"', '""') + '"'


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
