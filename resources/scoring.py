"""Configuration of the scores (DOMAIN.md defaults)."""

from dagster import ConfigurableResource

from lifecycle_pipeline.scoring import ScoringSettings


class ScoringConfig(ConfigurableResource):
    """Windows and parameters of the customer scores; defaults from DOMAIN.md."""

    rfm_window_days: int = ScoringSettings.rfm_window_days

    def settings(self) -> ScoringSettings:
        return ScoringSettings(rfm_window_days=self.rfm_window_days)
