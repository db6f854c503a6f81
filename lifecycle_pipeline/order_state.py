"""Per-customer order state (``scoring.customer_order_state``), updated day by day.

The order-derived features (lifetime orders and revenue, first and last order, the last
two order days, purchase rhythm, favourite category, the 365/30/90-day order windows) are
a function of every version of every order a customer ever placed. Recomputing them from
all order versions each day costs a sort of the whole order history, so a backfill would
be quadratic in days. Instead, a day's state is yesterday's state plus the day's changes:

* customers with an order version that became visible today (a new order, a refund, a
  late or restated file for today) are recomputed from all of their own orders;
* every other customer keeps yesterday's row, with the three window edges moved on by
  one day (only the orders placed on those edge days are read).

The result equals a from-scratch computation column for column (``tests/test_order_state.py``
checks it on every day of bursty histories with late refunds and restated days). The day is
computed from scratch instead when yesterday's state is missing, was computed with other
settings or another time zone, or is older than a reload of an earlier clean orders
partition (a restated day); ``scoring.order_state_days`` records which way each day went.
"""

from __future__ import annotations

import datetime as dt
import json

import duckdb

from lifecycle_pipeline import sql
from lifecycle_pipeline.daily_tables import end_of_day, ensure_table, write_day
from lifecycle_pipeline.db import bind
from lifecycle_pipeline.rule_settings import ScoringSettings

STATE_TABLE = "scoring.customer_order_state"
LOG_TABLE = "scoring.order_state_days"
LOADS_TABLE = "clean.partition_loads"
# days of state kept behind the newest one: re-running any of the last week's days starts
# from its day before; an older day is recomputed from scratch (same result, slower)
STATE_DAYS_KEPT = 7
# the settings the state depends on (the window lengths) and the business time zone
_STATE_SETTINGS = ("rfm_window_days", "recent_days", "baseline_days")

_LOG_DDL = f"""
create table if not exists {LOG_TABLE} (
    as_of_date date primary key,
    settings varchar not null,
    mode varchar not null,
    changed_customers bigint,
    computed_at timestamptz not null
)"""

_LOADS_DDL = f"""
create table if not exists {LOADS_TABLE} (
    source varchar not null,
    partition_date date not null,
    loaded_at timestamptz not null,
    primary key (source, partition_date)
)"""


def ensure_loads_table(conn: duckdb.DuckDBPyConnection) -> None:
    """``clean.partition_loads``: when each clean partition was last (re)written."""
    conn.execute("create schema if not exists clean")
    conn.execute(_LOADS_DDL)


def record_clean_load(conn: duckdb.DuckDBPyConnection, source: str, first_day: dt.date, last_day: dt.date) -> None:
    """Note that ``clean.<source>`` was rewritten for ``first_day..last_day`` (inside the clean write's transaction)."""
    conn.execute(
        f"insert or replace into {LOADS_TABLE} "
        "select ?, d::date, now() from range(?::date, ?::date + 1, interval 1 day) as t(d)",
        [source, first_day, last_day],
    )


def _settings_key(settings: ScoringSettings, timezone: str) -> str:
    return json.dumps({"timezone": timezone, **{k: getattr(settings, k) for k in _STATE_SETTINGS}}, sort_keys=True)


def incremental_basis(
    conn: duckdb.DuckDBPyConnection, as_of: dt.date, timezone: str, settings: ScoringSettings
) -> bool:
    """Whether ``as_of`` can start from the day before's state (see the module docstring)."""
    previous = as_of - dt.timedelta(days=1)
    rows = conn.execute(f"select settings, computed_at from {LOG_TABLE} where as_of_date = ?", [previous]).fetchall()
    if not rows or rows[0][0] != _settings_key(settings, timezone):
        return False
    (reloaded,) = conn.execute(
        f"select max(loaded_at) from {LOADS_TABLE} where source = 'orders' and partition_date <= ?", [previous]
    ).fetchall()[0]
    return reloaded is None or reloaded <= rows[0][1]


def update_order_state(
    conn: duckdb.DuckDBPyConnection, as_of: dt.date, timezone: str, settings: ScoringSettings, full: bool = False
) -> str:
    """Write ``as_of``'s order state (inside the caller's transaction); returns "incremental" or "full".

    ``full`` computes it from all order versions even when yesterday's state could be used.
    """
    previous = as_of - dt.timedelta(days=1)
    params = {
        "as_of": as_of,
        "as_of_end": end_of_day(as_of, timezone),
        "previous_day": previous,
        "previous_end": end_of_day(previous, timezone),
        **settings.params(),
    }
    incremental = not full and incremental_basis(conn, as_of, timezone, settings)
    state_sql = sql.load("scoring/customer_order_state")
    if incremental:
        for statement in sql.statements("scoring/order_state_changes"):
            conn.execute(statement, bind(statement, params))
        conn.execute(f"delete from {STATE_TABLE} where as_of_date = ?", [as_of])
        for statement in (state_sql, sql.load("scoring/customer_order_state_carry")):
            statement = f"insert into {STATE_TABLE} {statement}"
            conn.execute(statement, bind(statement, {
                **params, "order_source": "changed_order_versions", "changed_only": True}))
        (changed,) = conn.execute("select count(*) from changed_customers").fetchall()[0]
        for table in ("changed_customers", "changed_order_versions", "edge_order_versions"):
            conn.execute(f"drop table if exists temp.{table}")
    else:
        conn.execute("create or replace temp table changed_customers (customer_id varchar)")
        write_day(conn, STATE_TABLE, as_of, state_sql, {**params, "order_source": "clean.orders", "changed_only": False})
        conn.execute("drop table temp.changed_customers")
        changed = None
    mode = "incremental" if incremental else "full"
    conn.execute(
        f"insert or replace into {LOG_TABLE} values (?, ?, ?, ?, now())",
        [as_of, _settings_key(settings, timezone), mode, changed],
    )
    for table in (STATE_TABLE, LOG_TABLE):  # a day without its state must not look usable
        conn.execute(f"delete from {table} where as_of_date < ?::date - ?::integer", [as_of, STATE_DAYS_KEPT])
    return mode


def ensure_state_tables(conn: duckdb.DuckDBPyConnection, timezone: str, settings: ScoringSettings) -> None:
    """Create the state table (checked against its dictionary entry), its log and the clean load record."""
    ensure_loads_table(conn)
    conn.execute("create schema if not exists scoring")
    conn.execute(_LOG_DDL)
    day = dt.date(2000, 1, 1)
    conn.execute("create or replace temp table changed_customers (customer_id varchar)")
    ensure_table(conn, STATE_TABLE, sql.load("scoring/customer_order_state"), {
        "as_of": day, "as_of_end": end_of_day(day, timezone), "order_source": "clean.orders",
        "changed_only": False, **settings.params()})
