"""Per-customer order state (``scoring.customer_order_state``), a running state (``customer_state.py``).

Lifetime and windowed order figures: orders and revenue, first and last order, the last two
order days, purchase rhythm, favourite category, the 365/30/90-day order windows. They depend
on every version of every order a customer ever placed. A day's state is the day before's with:

* customers with an order version that became visible today (a new order, a refund, a late
  or restated file for today) recomputed from all versions of all of their own orders;
* every other customer's row carried over with the three window edges moved on by one day
  (only the orders placed on those edge days are read).
"""

from __future__ import annotations

import duckdb

from lifecycle_pipeline import sql
from lifecycle_pipeline.customer_state import StateSpec
from lifecycle_pipeline.db import bind, execute_file

STATE_TABLE = "scoring.customer_order_state"
_TEMP_TABLES = ("changed_customers", "changed_order_versions", "edge_order_versions")


def _no_changed_customers(conn: duckdb.DuckDBPyConnection) -> None:
    # the query names the table even when it computes every customer
    conn.execute("create or replace temp table changed_customers (customer_id varchar)")


def _update(conn: duckdb.DuckDBPyConnection, params: dict) -> int:
    """Recompute the customers whose orders changed, carry the others over; returns how many changed."""
    execute_file(conn, "scoring/order_state_changes", params)
    changed = {**params, "order_source": "changed_order_versions", "changed_only": True}
    for name in ("scoring/customer_order_state", "scoring/customer_order_state_carry"):
        statement = f"insert into {STATE_TABLE} {sql.load(name)}"
        conn.execute(statement, bind(statement, changed))
    (count,) = conn.execute("select count(*) from changed_customers").fetchall()[0]
    for table in _TEMP_TABLES:
        conn.execute(f"drop table if exists temp.{table}")
    return count


ORDER_STATE = StateSpec(
    name="orders",
    table=STATE_TABLE,
    source="orders",
    settings=("rfm_window_days", "recent_days", "baseline_days"),
    full_sql=sql.load("scoring/customer_order_state"),
    update=_update,
    full_params=(("order_source", "clean.orders"), ("changed_only", False)),
    prepare_full=_no_changed_customers,
)
