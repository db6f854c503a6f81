"""Configuration of the predictive customer value (issue 15): model, refit cadence, horizons, thresholds."""

from dagster import ConfigurableResource
from pydantic import Field

from lifecycle_pipeline.clv import ClvSettings
from lifecycle_pipeline.resources.config import settings_from

_D = ClvSettings()


class ClvConfig(ConfigurableResource):
    """BG/NBD-family purchase model and Gamma-Gamma spend model behind scoring.customer_clv_predicted."""

    model: str = Field(_D.model, description="Purchase model: mbgnbd (one-time buyers can be dead too) or bgnbd.")
    refit_days: int = Field(_D.refit_days, description="Refit every N days counted from a Monday (7: every Monday); "
                            "days in between use the latest refit day's fit.")
    time_unit_days: int = Field(_D.time_unit_days, description="Days per time unit of the summaries (7: weeks).")
    min_repeat_buyers: int = Field(_D.min_repeat_buyers, description="Fewer repeat buyers on a refit day: no fit, "
                                   "NULL predictions with the reason.")
    value_horizon_weeks: int = Field(_D.value_horizon_weeks, description="Horizon of expected_value_12m, in weeks.")
    annual_discount_rate: float = Field(_D.annual_discount_rate, description="Yearly discount rate of the "
                                        "expected value (the margin is the scoring resource's gross_margin).")
    calibration_holdout_weeks: int = Field(_D.calibration_holdout_weeks, description="Calibration view: the "
                                           "model is fitted up to N weeks before the day and checked on them.")
    p_alive_low: float = Field(_D.p_alive_low, description="A living stage with P(alive) below this disagrees.")
    p_alive_high: float = Field(_D.p_alive_high, description="A lapsed stage with P(alive) above this disagrees.")
    alive_stages: list[str] = Field(list(_D.alive_stages), description="Stages the rules consider alive.")
    lapsed_stages: list[str] = Field(list(_D.lapsed_stages), description="Stages the rules consider gone.")

    def settings(self) -> ClvSettings:
        return settings_from(self, ClvSettings)
