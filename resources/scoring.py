"""Configuration of the scores (DOMAIN.md defaults)."""

from dagster import ConfigurableResource
from pydantic import Field

from lifecycle_pipeline.resources.config import settings_from
from lifecycle_pipeline.rule_settings import ScoringSettings

_D = ScoringSettings()


class ScoringConfig(ConfigurableResource):
    """Windows, weights and thresholds of the customer scores; every default comes from DOMAIN.md."""

    rfm_window_days: int = Field(_D.rfm_window_days, description="Trailing window of F and M (and referrals, NPS).")
    recent_days: int = Field(_D.recent_days, description="'Last N days' of activity (health, tier 1).")
    baseline_days: int = Field(_D.baseline_days, description="Window before the recent one that tier 1 compares with.")
    adoption_days: int = Field(_D.adoption_days, description="Window for distinct core features used.")
    csat_days: int = Field(_D.csat_days, description="Window for the average ticket CSAT.")
    nps_window_days: int = Field(_D.nps_window_days, description="Trailing window of the company NPS.")
    promoter_min: int = Field(_D.promoter_min, description="Lowest NPS score of a promoter.")
    passive_min: int = Field(_D.passive_min, description="Lowest NPS score of a passive.")
    weight_activity: float = Field(_D.weight_activity, description="Health weight of activity frequency.")
    weight_adoption: float = Field(_D.weight_adoption, description="Health weight of feature adoption breadth.")
    weight_service: float = Field(_D.weight_service, description="Health weight of service quality (CSAT).")
    weight_nps: float = Field(_D.weight_nps, description="Health weight of feedback (NPS).")
    activity_target_days: int = Field(_D.activity_target_days, description="Active days in recent_days scoring 100.")
    adoption_target_features: int = Field(_D.adoption_target_features, description="Core features scoring 100.")
    healthy_min: float = Field(_D.healthy_min, description="Lowest health score of the 'healthy' band.")
    stable_min: float = Field(_D.stable_min, description="Lowest health score of the 'stable' band.")
    concerning_min: float = Field(_D.concerning_min, description="Lowest health score of 'concerning'.")
    tier1_drop_pct: int = Field(_D.tier1_drop_pct, description="Activity drop (percent) that fires tier 1.")
    tier2_no_aha_days: int = Field(_D.tier2_no_aha_days, description="Days without an aha action for tier 2.")
    tier2_rhythm_multiple: float = Field(
        _D.tier2_rhythm_multiple, description="Ecommerce preset: tier 2 when no order for more than this many "
        "times the customer's median gap between order days.")
    tier3_no_activity_days: int = Field(_D.tier3_no_activity_days, description="Days without activity for tier 3.")
    aha_event_types: list[str] = Field(list(_D.aha_event_types), description="Event types that count as aha.")
    expected_lifetime_years: float = Field(_D.expected_lifetime_years, description="Expected customer lifetime.")
    gross_margin: float = Field(_D.gross_margin, description="Margin applied to expected LTV (0-1).")
    cac_window_days: int = Field(_D.cac_window_days, description="Days of spend and acquisitions behind CAC.")
    cohort_days: int = Field(_D.cohort_days, description="A channel's cohort: customers acquired in these days.")
    ltv_cac_low: float = Field(_D.ltv_cac_low, description="LTV/CAC below this: channel flagged unprofitable.")
    ltv_cac_high: float = Field(_D.ltv_cac_high, description="LTV/CAC above this: channel flagged to scale.")
    channel_ltv: str = Field(_D.channel_ltv, description="Cohort LTV of channel economics: formula "
                             "(customer_ltv.expected_ltv) or predicted (customer_clv_predicted.expected_value_12m).")

    def settings(self) -> ScoringSettings:
        return settings_from(self, ScoringSettings)
