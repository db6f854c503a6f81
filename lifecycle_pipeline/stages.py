"""Lifecycle stages per customer and day, their history (spells), transitions, counts and KPIs.

Pure functions over a DuckDB connection (SQL in ``sql/stages/``); the Dagster assets in
``assets/stages.py`` are thin wrappers. The stage of a day depends only on that day's
scores; the day-to-day columns (previous stage, days in stage) and the history are then
rebuilt from the earliest day written onwards, so days can be computed in any order and
re-running a past day rewrites history consistently.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import duckdb
import pandas as pd

from lifecycle_pipeline import sql
from lifecycle_pipeline.daily_tables import end_of_day, ensure_table, replace_day, table_exists, write_day
from lifecycle_pipeline.db import bind, transaction
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


@dataclass(frozen=True)
class StageSettings:
    """Stage thresholds (DOMAIN.md defaults = the "ecommerce" preset)."""

    preset: str = "ecommerce"
    recency_basis: str = "orders"  # "orders": days since the last completed order; "activity": since any activity
    active_max_days: int = 45  # r <= this: new / active / loyal / advocate / reactivated
    at_risk_max_days: int = 90  # active_max < r <= this: at_risk
    dormant_max_days: int = 180  # at_risk_max < r <= this: dormant; above: churned
    reactivation_gap_days: int = 90  # gap before the latest order (or activity day) above this: reactivated
    loyal_min_orders: int = 5  # completed orders for loyal / advocate ("the 5th purchase creates stickiness")
    conversion_window_days: int = 30  # first-purchase conversion counts first orders within this many days
    retention_days: int = 30  # KPI retention: active in the N days before the last N and again in the last N

    def __post_init__(self):
        if self.recency_basis not in ("orders", "activity"):
            raise ValueError(f"recency_basis must be 'orders' or 'activity', got {self.recency_basis!r}")
        if not 0 < self.active_max_days < self.at_risk_max_days < self.dormant_max_days:
            raise ValueError(
                "stage windows need 0 < active_max_days < at_risk_max_days < dormant_max_days, got "
                f"{self.active_max_days}, {self.at_risk_max_days}, {self.dormant_max_days}"
            )
        if self.loyal_min_orders < 2:
            raise ValueError(f"loyal_min_orders must be at least 2, got {self.loyal_min_orders}")

    def params(self) -> dict:
        """Every setting as a named SQL parameter (each query binds the ones it uses)."""
        return dataclasses.asdict(self)


PRESETS: dict[str, StageSettings] = {
    # DOMAIN.md: ecommerce cycles are short and orders drive recency (article 004: 45/90/180 days)
    "ecommerce": StageSettings(),
    # subscription / SaaS: usage drives recency, cycles are measured in weeks of inactivity, and a
    # customer pays monthly, so loyalty starts at half a year of payments
    "saas": StageSettings(
        preset="saas",
        recency_basis="activity",
        active_max_days=14,
        at_risk_max_days=30,
        dormant_max_days=60,
        reactivation_gap_days=30,
        loyal_min_orders=6,
    ),
}


def stage_settings(preset: str = "ecommerce", **overrides) -> StageSettings:
    """The preset's settings with ``overrides`` (None values keep the preset's)."""
    if preset not in PRESETS:
        raise ValueError(f"unknown stage preset {preset!r}; choose one of {', '.join(PRESETS)}")
    changes = {k: v for k, v in overrides.items() if v is not None}
    return dataclasses.replace(PRESETS[preset], **changes)


def _statements(name: str) -> list[str]:
    """The statements of a multi-statement SQL file (split at ';' line ends; comments stay with theirs)."""
    text = sql.load(name)
    return [part.strip() for part in text.split(";\n") if part.strip() and not _only_comments(part)]


def _only_comments(text: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in text.splitlines())


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


def build_stage_days(conn: duckdb.DuckDBPyConnection, days: list[dt.date], settings: StageSettings) -> dict:
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
        ensure_table(conn, DAILY_TABLE, base, params)
        conn.execute(_HISTORY_DDL)
        ensure_table(conn, TRANSITIONS_TABLE, transitions, {"as_of": min(days)})
        ensure_table(conn, COUNTS_TABLE, stage_counts, {"as_of": min(days)})
        rows = {}
        with transaction(conn):
            for day in sorted(days):
                rows[day] = write_day(conn, DAILY_TABLE, day, base, {**params, "as_of": day})
                write_day(conn, COUNTS_TABLE, day, stage_counts, {"as_of": day})
            after = conn.execute(
                f"select max(as_of_date) from {DAILY_TABLE} where as_of_date < ?", [min(days)]
            ).fetchall()[0][0]
            for statement in _statements("stages/derive_stage_days"):
                conn.execute(statement, bind(statement, {"after": after}))
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
