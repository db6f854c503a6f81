"""The DuckDB warehouse resource."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster_duckdb import DuckDBResource


class WarehouseResource(DuckDBResource):
    """The DuckDB warehouse file, opened in the business time zone (dagster-duckdb's DuckDBResource)."""

    timezone: str = "UTC"

    @classmethod
    def _is_dagster_maintained(cls) -> bool:
        return False

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection; closed even when the body raises.

        DuckDBResource retries a locked file with backoff; its own context manager does
        not close the connection on an exception, so this one does. ``TimeZone`` makes
        ``timestamptz::date`` and naive timestamps use the business calendar.
        """
        if self.database != ":memory:":
            Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        with super().get_connection() as conn:
            try:
                conn.execute("set TimeZone = ?", [self.timezone])
                yield conn
            finally:
                conn.close()
