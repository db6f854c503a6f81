"""Configuration of the data-quality rules."""

from dagster import ConfigurableResource

from lifecycle_pipeline.quality_rules import QualitySettings
from lifecycle_pipeline.resources.config import settings_from

_DEFAULTS = QualitySettings()


class QualityConfig(ConfigurableResource):
    """Thresholds of the Great Expectations rules and where their Data Docs are written."""

    late_tolerance_days: int = _DEFAULTS.late_tolerance_days
    future_skew_minutes: int = _DEFAULTS.future_skew_minutes
    volume_history_days: int = _DEFAULTS.volume_history_days
    volume_min_history_days: int = _DEFAULTS.volume_min_history_days
    volume_min_ratio: float = _DEFAULTS.volume_min_ratio
    volume_max_ratio: float = _DEFAULTS.volume_max_ratio
    volume_min_median_rows: int = _DEFAULTS.volume_min_median_rows
    max_quarantine_share: float = _DEFAULTS.max_quarantine_share
    data_docs_dir: str | None = None

    def settings(self) -> QualitySettings:
        return settings_from(self, QualitySettings)
