"""Hand-built rows written straight into the clean tables of a real DuckDB warehouse.

The scoring and stage tests build exact situations with these and run the same pure
functions the assets run. Each row lands in the partition of its own timestamp unless
``landed`` says otherwise.
"""

from __future__ import annotations

import datetime as dt
from itertools import count

import duckdb

from lifecycle_pipeline.contracts import SOURCES
from lifecycle_pipeline.customer_state import ensure_loads_table, record_clean_load
from lifecycle_pipeline.loading import ensure_clean_tables, ensure_warehouse

_row = count(1)


def new_warehouse(path) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(str(path))
    conn.execute("set TimeZone = 'UTC'")
    ensure_warehouse(conn, list(SOURCES.values()))
    ensure_clean_tables(conn, list(SOURCES.values()))
    ensure_loads_table(conn)
    return conn


def at(day: dt.date | str, time: str = "12:00:00") -> str:
    return f"{day}T{time}Z"


def add_customer(conn, customer_id, signup="2025-01-01T00:00:00Z", channel=None, referred_by=None, **extra):
    columns = {"customer_id": customer_id, "signup_at": signup, "acquisition_channel": channel,
               "referred_by": referred_by, **extra}
    names = ", ".join(columns)
    marks = ", ".join("?" for _ in columns)
    conn.execute(
        f"insert into clean.customers ({names}, _partition_date, _source_file, _source_row) "
        f"values ({marks}, ?::timestamptz::date, 'f', ?)",
        [*columns.values(), signup, next(_row)],
    )


def add_order(conn, order_id, customer_id, ordered_at, amount=10, status="completed", updated_at=None, landed=None,
              category=None):
    updated = updated_at or ordered_at
    conn.execute(
        "insert into clean.orders (order_id, customer_id, ordered_at, amount, status, updated_at, category, "
        "_partition_date, _source_file, _source_row) "
        "values (?, ?, ?::timestamptz, ?, ?, ?::timestamptz, ?, coalesce(?::date, ?::timestamptz::date), 'f', ?)",
        [order_id, customer_id, ordered_at, amount, status, updated, category, landed, updated, next(_row)],
    )
    _record_load(conn, "orders", landed, updated)


def _record_load(conn, source, landed, timestamp):
    # as the clean asset does: the incremental customer state notices a partition written after it
    day = conn.execute("select coalesce(?::date, ?::timestamptz::date)", [landed, timestamp]).fetchall()[0][0]
    record_clean_load(conn, source, day, day)


def add_event(conn, customer_id, occurred_at, event_type="login", feature=None, landed=None):
    n = next(_row)
    conn.execute(
        "insert into clean.events (event_id, customer_id, occurred_at, event_type, feature, "
        "_partition_date, _source_file, _source_row) "
        "values (?, ?, ?::timestamptz, ?, ?, coalesce(?::date, ?::timestamptz::date), 'f', ?)",
        [f"E{n}", customer_id, occurred_at, event_type, feature, landed, occurred_at, n],
    )
    _record_load(conn, "events", landed, occurred_at)


def add_ticket(conn, customer_id, opened_at, resolved_at=None, csat=None):
    n = next(_row)
    conn.execute(
        "insert into clean.support_tickets (ticket_id, customer_id, opened_at, resolved_at, csat, "
        "_partition_date, _source_file, _source_row) "
        "values (?, ?, ?::timestamptz, ?::timestamptz, ?, coalesce(?::timestamptz, ?::timestamptz)::date, 'f', ?)",
        [f"T{n}", customer_id, opened_at, resolved_at, csat, resolved_at, opened_at, n],
    )


def add_nps(conn, response_id, customer_id, responded_at, score):
    conn.execute(
        "insert into clean.nps_responses (response_id, customer_id, responded_at, score, _partition_date, "
        "_source_file, _source_row) values (?, ?, ?::timestamptz, ?, ?::timestamptz::date, 'f', ?)",
        [response_id, customer_id, responded_at, score, responded_at, next(_row)],
    )


def add_spend(conn, spend_date, channel, spend, landed=None):
    conn.execute(
        "insert into clean.marketing_spend (spend_date, channel, spend, _partition_date, _source_file, _source_row) "
        "values (?::date, ?, ?, coalesce(?::date, ?::date), 'f', ?)",
        [spend_date, channel, spend, landed, spend_date, next(_row)],
    )


def add_suppression(conn, suppressed_at, customer_id=None, email=None, reason="unsubscribe"):
    conn.execute(
        "insert into clean.suppressions (customer_id, email, reason, suppressed_at, _partition_date, _source_file, "
        "_source_row) values (?, ?, ?, ?::timestamptz, ?::timestamptz::date, 'f', ?)",
        [customer_id, email, reason, suppressed_at, suppressed_at, next(_row)],
    )


def stored_fit(conn, fit_date: dt.date, **changes):
    """Store a converged MBG/NBD + Gamma-Gamma fit of ``fit_date`` (moderate, CDNOW-like parameters; ``changes``
    overrides any field) in ``scoring.clv_model_fits``, as the fits asset would; returns it."""
    from lifecycle_pipeline import clv

    fit = clv.ModelFit(**{
        "fit_date": fit_date, "model": "mbgnbd", "time_unit_days": 7, "min_repeat_buyers": 30, "customers": 1000,
        "repeat_buyers": 500, "r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614, "log_likelihood": -1.0,
        "converged": True, "spend_customers": 500, "p": 6.25, "q": 3.74, "gamma": 15.44,
        "spend_log_likelihood": -1.0, "spend_converged": True, "reason": None, **changes})
    clv.write_fit(conn, fit)
    return fit
