"""Lifecycle stages per customer and day, their history (spells), transitions, counts and KPIs.

Pure functions over a DuckDB connection (SQL in ``sql/stages/``); the Dagster assets in
``assets/stages.py`` are thin wrappers. The stage of a day depends only on that day's
scores; the day-to-day columns (previous stage, days in stage) and the history are then
rebuilt from the earliest day written onwards, so days can be computed in any order and
re-running a past day rewrites history consistently.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import duckdb
import pandas as pd

from lifecycle_pipeline import sql
from lifecycle_pipeline.clv import PREDICTED_TABLE
from lifecycle_pipeline.daily_tables import (
    end_of_day,
    ensure_table,
    replace_day,
    table_exists,
    write_day,
)
from lifecycle_pipeline.db import execute_file, transaction
from lifecycle_pipeline.rule_settings import PRESETS, StageSettings, stage_settings  # noqa: F401 (re-exported)
from lifecycle_pipeline.vocabulary import STAGES

DAILY_TABLE = "lifecycle.customer_stage_daily"
HISTORY_TABLE = "lifecycle.stage_history"
TRANSITIONS_TABLE = "lifecycle.stage_transitions_daily"
COUNTS_TABLE = "lifecycle.stage_counts_daily"
KPIS_TABLE = "lifecycle.kpis_daily"

_HISTORY_DDL = f"""
create table if not exists {HISTORY_TABLE} (
    customer_id varchar not null,
    stage varchar not null,
    valid_from date not null,
    valid_to date,
    previous_stage varchar
)
"""


# `*_current` views: the latest computed day of each daily table, for BI dashboards
CURRENT_VIEWS = {
    "lifecycle.customer_stage_current": DAILY_TABLE,
    "lifecycle.stage_counts_current": COUNTS_TABLE,
    "lifecycle.stage_transitions_current": TRANSITIONS_TABLE,
    "lifecycle.kpis_current": KPIS_TABLE,
}


def ensure_current_views(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the ``*_current`` views over the daily tables that exist."""
    for view, table in CURRENT_VIEWS.items():
        if table_exists(conn, table):
            conn.execute(
                f"create or replace view {view} as select * from {table} "
                f"where as_of_date = (select max(as_of_date) from {DAILY_TABLE})"
            )


def _stage_names() -> pd.DataFrame:
    return pd.DataFrame({"stage": list(STAGES), "stage_order": range(1, len(STAGES) + 1)})


def build_stage_days(
    conn: duckdb.DuckDBPyConnection,
    days: list[dt.date],
    settings: StageSettings,
    on_day: Callable[[dt.date], None] | None = None,
) -> dict:
    """Write the stages of ``days``; rebuild history, day-to-day columns and transitions from the earliest onwards.

    Daily stages, stage history, transitions and stage counts change together in one
    transaction: a run that is killed leaves all four as they were. Returns a summary
    (rows per day written, the days whose transitions were rebuilt).
    """
    base = sql.load("stages/customer_stage_base")
    transitions = sql.load("stages/stage_transitions_daily")
    stage_counts = sql.load("stages/stage_counts_daily")
    params = {"as_of": min(days), **settings.params()}
    conn.register("lifecycle_stage_names", _stage_names())
    try:
        ensure_table(conn, PREDICTED_TABLE)  # its p_alive: empty where scoring/customer_clv_predicted never ran
        conn.execute(sql.load("scoring/lifecycle_recency"))  # the stage rule macros (also made with the features)
        ensure_table(conn, DAILY_TABLE, base, params)
        conn.execute(_HISTORY_DDL)
        ensure_table(conn, TRANSITIONS_TABLE, transitions, {"as_of": min(days)})
        ensure_table(conn, COUNTS_TABLE, stage_counts, {"as_of": min(days)})
        rows = {}
        with transaction(conn):
            for day in sorted(days):
                rows[day] = write_day(conn, DAILY_TABLE, day, base, {**params, "as_of": day})
                write_day(conn, COUNTS_TABLE, day, stage_counts, {"as_of": day})
                if on_day is not None:
                    on_day(day)
            after = conn.execute(
                f"select max(as_of_date) from {DAILY_TABLE} where as_of_date < ?", [min(days)]
            ).fetchall()[0][0]
            execute_file(conn, "stages/derive_stage_days", {"after": after})
            # previous_stage changed for every day after `after`: their transitions too
            changed = [r[0] for r in conn.execute(
                f"select distinct as_of_date from {DAILY_TABLE} where ?::date is null or as_of_date > ? order by 1",
                [after, after],
            ).fetchall()]
            for day in changed:
                write_day(conn, TRANSITIONS_TABLE, day, transitions, {"as_of": day})
    finally:
        conn.unregister("lifecycle_stage_names")
    ensure_current_views(conn)
    return {"rows": rows, "transition_days": changed}


def compute_kpis(conn: duckdb.DuckDBPyConnection, day: dt.date, timezone: str, settings: StageSettings) -> int:
    params = {"as_of": day, "as_of_end": end_of_day(day, timezone), **settings.params()}
    rows = replace_day(conn, KPIS_TABLE, day, sql.load("stages/kpis_daily"), params)
    ensure_current_views(conn)
    return rows
