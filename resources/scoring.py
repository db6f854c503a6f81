"""Configuration of the scores (DOMAIN.md defaults)."""

from dagster import ConfigurableResource

from lifecycle_pipeline.scoring import ScoringSettings
from resources.config import settings_from


class ScoringConfig(ConfigurableResource):
    """Windows and parameters of the customer scores; defaults from DOMAIN.md."""

    rfm_window_days: int = ScoringSettings.rfm_window_days
    nps_window_days: int = ScoringSettings.nps_window_days
    promoter_min: int = ScoringSettings.promoter_min
    passive_min: int = ScoringSettings.passive_min

    def settings(self) -> ScoringSettings:
        return settings_from(self, ScoringSettings)
