"""The DuckDB warehouse resource."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster_duckdb import DuckDBResource

from lifecycle_pipeline.daily_tables import layouts_checked_once

# write-ahead log DuckDB lets grow before a checkpoint (see get_connection)
CHECKPOINT_THRESHOLD = "256MB"


class WarehouseResource(DuckDBResource):
    """The DuckDB warehouse file, opened in the business time zone (dagster-duckdb's DuckDBResource)."""

    timezone: str = "UTC"
    memory_limit: str | None = None  # DuckDB's buffer pool cap (LIFECYCLE_DUCKDB_MEMORY_LIMIT); None: DuckDB's default

    @classmethod
    def _is_dagster_maintained(cls) -> bool:
        return False

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection; closed even when the body raises.

        DuckDBResource retries a locked file with backoff; its own context manager does
        not close the connection on an exception, so this one does. ``TimeZone`` makes
        ``timestamptz::date`` and naive timestamps use the business calendar. A day's write
        is one transaction; a checkpoint after every few days (the default 16 MB of
        write-ahead log) cost a backfill 0.4 s a day, so the log may grow to
        ``CHECKPOINT_THRESHOLD`` before DuckDB folds it into the file (and on close).
        ``memory_limit`` caps DuckDB's buffer pool: work beyond it spills to ``<database>.tmp``,
        which DuckDB removes when the connection closes. A step writes many days on one connection:
        each table's layout is checked on its first day only (``daily_tables.layouts_checked_once``).
        """
        if self.database != ":memory:":
            Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        with super().get_connection() as conn:
            try:
                conn.execute("set TimeZone = ?", [self.timezone])
                conn.execute(f"set checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")
                if self.memory_limit is not None:
                    conn.execute("set memory_limit = ?", [self.memory_limit])
                with layouts_checked_once(conn):
                    yield conn
            finally:
                conn.close()
