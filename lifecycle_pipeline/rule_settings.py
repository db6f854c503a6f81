"""The settings of the business rules: scoring windows, weights and thresholds, and the lifecycle stage presets.

A leaf module (it imports only the value lists of ``vocabulary.py``), so the rules (``scoring.py``,
``stages.py``), the Dagster resources and the data dictionary's texts can all read the same
definitions and defaults (DOMAIN.md) without importing each other.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass

from lifecycle_pipeline.vocabulary import CHANNEL_LTV_SOURCES


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
    tier2_rhythm_multiple: float = 2.0  # ecommerce: no order for more than this x the customer's median gap
    tier3_no_activity_days: int = 60  # no activity of any kind for this many days
    aha_event_types: tuple[str, ...] = ("core_feature_use",)  # an order always counts as aha
    # LTV and channel economics
    expected_lifetime_years: float = 3.0
    gross_margin: float = 0.3
    cac_window_days: int = 30  # spend and new customers summed over this many days for CAC
    cohort_days: int = 365  # a channel's cohort: customers it acquired in this many days
    ltv_cac_low: float = 1.0  # below: the channel loses money
    ltv_cac_high: float = 3.0  # above: keep / scale the channel
    # the cohort LTV of channel economics: "formula" (customer_ltv.expected_ltv) or "predicted" (the
    # BG/NBD + Gamma-Gamma expected value, scoring.customer_clv_predicted.expected_value_12m)
    channel_ltv: str = "formula"

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
        if self.channel_ltv not in CHANNEL_LTV_SOURCES:
            raise ValueError(f"channel_ltv must be one of {', '.join(CHANNEL_LTV_SOURCES)}, got {self.channel_ltv!r}")
        object.__setattr__(self, "aha_event_types", tuple(self.aha_event_types))

    def params(self) -> dict:
        """Every setting as a named SQL parameter (each query binds the ones it uses)."""
        return asdict(self)


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
