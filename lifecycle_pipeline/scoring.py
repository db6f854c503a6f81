"""Scores as of a business day, computed in DuckDB: features, RFM, NPS, health, early warnings, LTV, channels.

Pure functions over a connection (no Dagster); the scoring assets are thin wrappers.
Every computation reads only data landed in partitions up to the as-of day with
timestamps before its end, so recomputing a past day reproduces it exactly.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from lifecycle_pipeline import sql
from lifecycle_pipeline.clv import PREDICTED_TABLE
from lifecycle_pipeline.customer_state import ensure_state_table, update_state
from lifecycle_pipeline.daily_tables import end_of_day, ensure_table, replace_day, write_day
from lifecycle_pipeline.db import transaction
from lifecycle_pipeline.event_state import EVENT_STATE
from lifecycle_pipeline.order_state import ORDER_STATE
from lifecycle_pipeline.rfm import segment_rows
from lifecycle_pipeline.rule_settings import ScoringSettings, StageSettings

DEFAULT_STAGE_SETTINGS = StageSettings()

FEATURES_TABLE = "scoring.customer_features"
RFM_TABLE = "scoring.rfm_scores"
NPS_TABLE = "scoring.nps_daily"
HEALTH_TABLE = "scoring.health_scores"
WARNINGS_TABLE = "scoring.early_warnings"
LTV_TABLE = "scoring.customer_ltv"
CHANNELS_TABLE = "scoring.channel_economics"
# running per-customer states the features read (customer_state.py)
STATES = (ORDER_STATE, EVENT_STATE)


def compute_customer_features(
    conn: duckdb.DuckDBPyConnection, as_of: dt.date, timezone: str, settings: ScoringSettings, full: bool = False
) -> int:
    """Rebuild ``scoring.customer_features`` (and the states it reads) for ``as_of``; returns its row count.

    The day's order and event states (``customer_state.py``) and features land together in one
    transaction. ``full`` rebuilds the states from the clean tables instead of from the day before's.
    """
    params = {"as_of": as_of, "as_of_end": end_of_day(as_of, timezone), **settings.params()}
    features = sql.load("scoring/customer_features")
    for spec in STATES:
        ensure_state_table(conn, spec, timezone, settings)
    ensure_table(conn, FEATURES_TABLE, features, params)
    with transaction(conn):
        for spec in STATES:
            update_state(conn, spec, as_of, timezone, settings, full)
        rows = write_day(conn, FEATURES_TABLE, as_of, features, params)
    conn.execute(sql.load("scoring/lifecycle_recency"))  # read by the scores and stages built from these features
    return rows


def compute_nps_daily(conn: duckdb.DuckDBPyConnection, as_of: dt.date, timezone: str, settings: ScoringSettings) -> int:
    """Rebuild ``scoring.nps_daily`` (one row) for ``as_of``."""
    params = {"as_of": as_of, "as_of_end": end_of_day(as_of, timezone), **settings.params()}
    return replace_day(conn, NPS_TABLE, as_of, sql.load("scoring/nps_daily"), params)


def compute_rfm(
    conn: duckdb.DuckDBPyConnection, as_of: dt.date, lifecycle: StageSettings = DEFAULT_STAGE_SETTINGS
) -> int:
    """Rebuild ``scoring.rfm_scores`` for ``as_of`` from that day's features.

    R of customers the stage rules (``lifecycle``) call at_risk, dormant or churned is
    capped by their stage, so their segment never contradicts it.
    """
    conn.register("rfm_segment_map", pd.DataFrame(segment_rows(), columns=["r_score", "f_score", "segment"]))
    try:
        return replace_day(conn, RFM_TABLE, as_of, sql.load("scoring/rfm_scores"),
                           {"as_of": as_of, **lifecycle.params()})
    finally:
        conn.unregister("rfm_segment_map")


def compute_health(conn: duckdb.DuckDBPyConnection, as_of: dt.date, settings: ScoringSettings) -> int:
    """Rebuild ``scoring.health_scores`` for ``as_of`` from that day's features."""
    return replace_day(conn, HEALTH_TABLE, as_of, sql.load("scoring/health_scores"),
                        {"as_of": as_of, **settings.params()})


def compute_early_warnings(
    conn: duckdb.DuckDBPyConnection,
    as_of: dt.date,
    settings: ScoringSettings,
    lifecycle: StageSettings = DEFAULT_STAGE_SETTINGS,
) -> int:
    """Rebuild ``scoring.early_warnings`` for ``as_of`` from that day's features.

    Who is "not yet dormant or churned" is decided by the stage rules' own settings
    (``lifecycle``: recency basis and ``at_risk_max_days`` of the configured preset), so a
    customer the stage table calls dormant or churned never gets a tier.
    """
    return replace_day(conn, WARNINGS_TABLE, as_of, sql.load("scoring/early_warnings"),
                        {"as_of": as_of, **settings.params(), **lifecycle.params()})


def compute_ltv(conn: duckdb.DuckDBPyConnection, as_of: dt.date, settings: ScoringSettings) -> int:
    """Rebuild ``scoring.customer_ltv`` for ``as_of`` from that day's features."""
    return replace_day(conn, LTV_TABLE, as_of, sql.load("scoring/customer_ltv"), {"as_of": as_of, **settings.params()})


def compute_channel_economics(conn: duckdb.DuckDBPyConnection, as_of: dt.date, settings: ScoringSettings) -> int:
    """Rebuild ``scoring.channel_economics`` for ``as_of`` from that day's LTV (formula or predicted:
    ``settings.channel_ltv``) and the marketing spend."""
    ensure_table(conn, PREDICTED_TABLE)  # read under channel_ltv = "predicted"; empty where it never ran
    return replace_day(conn, CHANNELS_TABLE, as_of, sql.load("scoring/channel_economics"),
                        {"as_of": as_of, **settings.params()})
