"""Configuration of the lifecycle stage rules: a preset (ecommerce / saas) and optional overrides."""

from dagster import ConfigurableResource
from pydantic import Field

from lifecycle_pipeline.rule_settings import StageSettings, stage_settings


class StageConfig(ConfigurableResource):
    """Stage rules of DOMAIN.md. `preset` picks ecommerce (orders drive recency; 45/90/180 days) or saas
    (activity drives recency; 14/30/60 days); any threshold set here overrides the preset's."""

    preset: str = Field("ecommerce", description="Stage rule preset: ecommerce or saas.")
    recency_basis: str | None = Field(None, description="What r counts from: orders or activity.")
    active_max_days: int | None = Field(None, description="r at most this: a living stage (new, active, ...).")
    at_risk_max_days: int | None = Field(None, description="r up to this: at_risk.")
    dormant_max_days: int | None = Field(None, description="r up to this: dormant; above: churned.")
    reactivation_gap_days: int | None = Field(None, description="Gap before the latest order for reactivated.")
    loyal_min_orders: int | None = Field(None, description="Completed orders for loyal / advocate.")
    conversion_window_days: int | None = Field(None, description="KPI: first order within N days of signup.")
    retention_days: int | None = Field(None, description="KPI: retention window in days.")

    def settings(self) -> StageSettings:
        overrides = {name: getattr(self, name) for name in StageSettings.__dataclass_fields__ if name != "preset"}
        return stage_settings(self.preset, **overrides)
