"""Scores as of a business day, computed in DuckDB: features, RFM, NPS, health, early warnings, LTV, channels.

Pure functions over a connection (no Dagster); the scoring assets are thin wrappers.
Every computation reads only data landed in partitions up to the as-of day with
timestamps before its end, so recomputing a past day reproduces it exactly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

import duckdb
import pandas as pd

from lifecycle_pipeline import sql
from lifecycle_pipeline.daily_tables import end_of_day, replace_day
from lifecycle_pipeline.rfm import segment_rows
from lifecycle_pipeline.stages import StageSettings

DEFAULT_STAGE_SETTINGS = StageSettings()

FEATURES_TABLE = "scoring.customer_features"
RFM_TABLE = "scoring.rfm_scores"
NPS_TABLE = "scoring.nps_daily"
HEALTH_TABLE = "scoring.health_scores"
WARNINGS_TABLE = "scoring.early_warnings"
LTV_TABLE = "scoring.customer_ltv"
CHANNELS_TABLE = "scoring.channel_economics"


@dataclass(frozen=True)
class ScoringSettings:
    """Scoring windows, weights and thresholds; every default comes from DOMAIN.md (Scores, Early-warning tiers)."""

    # windows (days)
    rfm_window_days: int = 365  # F and M (orders, revenue); also referrals, latest NPS, activity looked at
    recent_days: int = 30  # "last 30 days" of activity
    baseline_days: int = 90  # the prior window tier 1 compares the last 30 days with
    adoption_days: int = 90  # distinct core features used
    csat_days: int = 180  # average ticket CSAT
    nps_window_days: int = 90  # company NPS
    # NPS categories
    promoter_min: int = 9
    passive_min: int = 7
    # health score: component weights (spread over present components) and scaling
    weight_activity: float = 40.0
    weight_adoption: float = 30.0
    weight_service: float = 20.0
    weight_nps: float = 10.0
    activity_target_days: int = 12  # active days in the last 30 that score 100
    adoption_target_features: int = 4  # distinct core features in 90 days that score 100
    healthy_min: float = 85.0
    stable_min: float = 60.0
    concerning_min: float = 40.0
    # early-warning tiers (customers the stage rules do not call dormant or churned: see StageSettings)
    tier1_drop_pct: int = 30  # activity in the last 30 days <= (100 - this)% of the prior 30-day average
    tier2_no_aha_days: int = 14  # no aha action for this many days
    tier3_no_activity_days: int = 60  # no activity of any kind for this many days
    aha_event_types: tuple[str, ...] = ("core_feature_use",)  # an order always counts as aha
    # LTV and channel economics
    expected_lifetime_years: float = 3.0
    gross_margin: float = 0.3
    cac_window_days: int = 30  # spend and new customers summed over this many days for CAC
    cohort_days: int = 365  # a channel's cohort: customers it acquired in this many days
    ltv_cac_low: float = 1.0  # below: the channel loses money
    ltv_cac_high: float = 3.0  # above: keep / scale the channel

    def __post_init__(self):
        weights = (self.weight_activity, self.weight_adoption, self.weight_service, self.weight_nps)
        if min(weights) < 0 or sum(weights) <= 0:
            raise ValueError(f"health weights must be >= 0 with a positive sum, got {weights}")
        if not self.healthy_min > self.stable_min > self.concerning_min:
            raise ValueError("health bands need healthy_min > stable_min > concerning_min")
        if not self.promoter_min > self.passive_min:
            raise ValueError("promoter_min must be above passive_min")
        if not 0 < self.tier1_drop_pct < 100:
            raise ValueError(f"tier1_drop_pct must be between 1 and 99, got {self.tier1_drop_pct}")
        object.__setattr__(self, "aha_event_types", tuple(self.aha_event_types))

    def params(self) -> dict:
        """Every setting as a named SQL parameter (each query binds the ones it uses)."""
        return asdict(self)


def compute_customer_features(
    conn: duckdb.DuckDBPyConnection, as_of: dt.date, timezone: str, settings: ScoringSettings
) -> int:
    """Rebuild ``scoring.customer_features`` for ``as_of``; returns its row count."""
    params = {"as_of": as_of, "as_of_end": end_of_day(as_of, timezone), **settings.params()}
    return replace_day(conn, FEATURES_TABLE, as_of, sql.load("scoring/customer_features"), params)


def compute_nps_daily(conn: duckdb.DuckDBPyConnection, as_of: dt.date, timezone: str, settings: ScoringSettings) -> int:
    """Rebuild ``scoring.nps_daily`` (one row) for ``as_of``."""
    params = {"as_of": as_of, "as_of_end": end_of_day(as_of, timezone), **settings.params()}
    return replace_day(conn, NPS_TABLE, as_of, sql.load("scoring/nps_daily"), params)


def compute_rfm(conn: duckdb.DuckDBPyConnection, as_of: dt.date) -> int:
    """Rebuild ``scoring.rfm_scores`` for ``as_of`` from that day's features."""
    conn.register("rfm_segment_map", pd.DataFrame(segment_rows(), columns=["r_score", "f_score", "segment"]))
    try:
        return replace_day(conn, RFM_TABLE, as_of, sql.load("scoring/rfm_scores"), {"as_of": as_of})
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
    """Rebuild ``scoring.channel_economics`` for ``as_of`` from that day's LTV and the marketing spend."""
    return replace_day(conn, CHANNELS_TABLE, as_of, sql.load("scoring/channel_economics"),
                        {"as_of": as_of, **settings.params()})
