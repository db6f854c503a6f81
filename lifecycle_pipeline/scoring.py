"""Scores as of a business day, computed in DuckDB: customer features and RFM.

Pure functions over a connection (no Dagster); the scoring assets are thin wrappers.
Every computation reads only data landed in partitions up to the as-of day with
timestamps before its end, so recomputing a past day reproduces it exactly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd

import sql
from lifecycle_pipeline.db import transaction
from lifecycle_pipeline.rfm import segment_rows

FEATURES_TABLE = "scoring.customer_features"
RFM_TABLE = "scoring.rfm_scores"
NPS_TABLE = "scoring.nps_daily"


@dataclass(frozen=True)
class ScoringSettings:
    """Scoring windows and thresholds (DOMAIN.md defaults)."""

    rfm_window_days: int = 365
    nps_window_days: int = 90
    promoter_min: int = 9
    passive_min: int = 7


def _end_of_day(day: dt.date, timezone: str) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=ZoneInfo(timezone))


def _replace_day(conn, table: str, day: dt.date, select_sql: str, params: dict) -> int:
    """Replace ``table``'s rows of ``as_of_date = day`` with ``select_sql`` in one transaction."""
    conn.execute("create schema if not exists scoring")
    conn.execute(f"create table if not exists {table} as {select_sql} limit 0", params)
    with transaction(conn):
        conn.execute(f"delete from {table} where as_of_date = ?", [day])
        conn.execute(f"insert into {table} {select_sql}", params)
    return conn.execute(f"select count(*) from {table} where as_of_date = ?", [day]).fetchall()[0][0]


def compute_customer_features(
    conn: duckdb.DuckDBPyConnection, as_of: dt.date, timezone: str, settings: ScoringSettings
) -> int:
    """Rebuild ``scoring.customer_features`` for ``as_of``; returns its row count."""
    params = {
        "as_of": as_of,
        "as_of_end": _end_of_day(as_of, timezone),
        "window_days": settings.rfm_window_days,
        "promoter_min": settings.promoter_min,
        "passive_min": settings.passive_min,
    }
    return _replace_day(conn, FEATURES_TABLE, as_of, sql.load("scoring/customer_features"), params)


def compute_nps_daily(conn: duckdb.DuckDBPyConnection, as_of: dt.date, timezone: str, settings: ScoringSettings) -> int:
    """Rebuild ``scoring.nps_daily`` (one row) for ``as_of``."""
    params = {
        "as_of": as_of,
        "as_of_end": _end_of_day(as_of, timezone),
        "nps_window_days": settings.nps_window_days,
        "promoter_min": settings.promoter_min,
        "passive_min": settings.passive_min,
    }
    return _replace_day(conn, NPS_TABLE, as_of, sql.load("scoring/nps_daily"), params)


def compute_rfm(conn: duckdb.DuckDBPyConnection, as_of: dt.date) -> int:
    """Rebuild ``scoring.rfm_scores`` for ``as_of`` from that day's features."""
    conn.register("rfm_segment_map", pd.DataFrame(segment_rows(), columns=["r_score", "f_score", "segment"]))
    try:
        return _replace_day(conn, RFM_TABLE, as_of, sql.load("scoring/rfm_scores"), {"as_of": as_of})
    finally:
        conn.unregister("rfm_segment_map")
