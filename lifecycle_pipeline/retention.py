"""Retention of the customer x day tables in the warehouse (``LIFECYCLE_CUSTOMER_DAYS_KEPT``).

A year of a million customers is 365 million rows in each customer x day table. The
warehouse keeps the newest N days of them (default 90); every day is published to the BI
layer first (``bi/published_days`` prunes only after publishing), so BI keeps the history.
Spells, transitions, stage counts, KPIs, NPS, channel economics, contact history and uplift
are small and kept forever.

A pruned day is final: recomputing it would rebuild the stage history from the pruned days
and lose every spell before them, so an asset asked to recompute a day before the kept
window fails with a clear message instead (``check_recomputable``).
"""

from __future__ import annotations

import datetime as dt

import duckdb

from lifecycle_pipeline.daily_tables import table_exists
from lifecycle_pipeline.db import transaction

# customer x day grain: pruned to the kept window
PRUNED_TABLES = (
    "scoring.customer_features",
    "scoring.rfm_scores",
    "scoring.health_scores",
    "scoring.early_warnings",
    "scoring.customer_ltv",
    "scoring.customer_clv_predicted",
    "lifecycle.customer_stage_daily",
    "outreach.outreach_list",
)
HORIZON_TABLE = "lifecycle.retention_horizon"
_HORIZON_DDL = f"""
create table if not exists {HORIZON_TABLE} (
    pruned_before date not null,
    days_kept integer not null,
    pruned_at timestamptz not null
)"""


class DayPrunedError(RuntimeError):
    """A day before the kept window was asked to be recomputed."""


def pruned_before(conn: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The first day still kept in full (days before it were pruned), or None if nothing was pruned."""
    if not table_exists(conn, HORIZON_TABLE):
        return None
    return conn.execute(f"select max(pruned_before) from {HORIZON_TABLE}").fetchall()[0][0]


def check_recomputable(conn: duckdb.DuckDBPyConnection, days: list[dt.date]) -> None:
    """Raise ``DayPrunedError`` when ``days`` include a day whose customer x day rows were pruned."""
    horizon = pruned_before(conn)
    old = [d for d in days if horizon is not None and d < horizon]
    if old:
        raise DayPrunedError(
            f"{old[0]}{f' .. {old[-1]}' if len(old) > 1 else ''}: the warehouse keeps the customer x day tables "
            f"from {horizon} on (LIFECYCLE_CUSTOMER_DAYS_KEPT); earlier days are final and published in the BI "
            "layer. To recompute them, set LIFECYCLE_CUSTOMER_DAYS_KEPT=all, drop the derived tables and backfill "
            "from the first day."
        )


def prune(conn: duckdb.DuckDBPyConnection, days_kept: int | None) -> dict[str, int]:
    """Delete the customer x day rows older than the newest ``days_kept`` days; returns rows deleted per table.

    The window ends at the newest day of ``lifecycle.customer_stage_daily``. ``None`` keeps everything.
    """
    if days_kept is None or not table_exists(conn, "lifecycle.customer_stage_daily"):
        return {}
    (newest,) = conn.execute("select max(as_of_date) from lifecycle.customer_stage_daily").fetchall()[0]
    if newest is None:
        return {}
    horizon = newest - dt.timedelta(days=days_kept - 1)
    deleted = {}
    with transaction(conn):
        conn.execute(_HORIZON_DDL)
        for table in PRUNED_TABLES:
            if table_exists(conn, table):
                (n,) = conn.execute(f"delete from {table} where as_of_date < ?", [horizon]).fetchall()[0]
                deleted[table] = n
        if any(deleted.values()):
            conn.execute(f"insert into {HORIZON_TABLE} values (?, ?, now())", [horizon, days_kept])
    return deleted
