"""Dagster resources: the DuckDB warehouse, the landing zone, and the quality, scoring, stage, predictive-value
(clv) and outreach configuration."""

from lifecycle_pipeline.resources.clv import ClvConfig
from lifecycle_pipeline.resources.landing import LandingZone
from lifecycle_pipeline.resources.outreach import OutreachConfig
from lifecycle_pipeline.resources.quality import QualityConfig
from lifecycle_pipeline.resources.scoring import ScoringConfig
from lifecycle_pipeline.resources.stages import StageConfig
from lifecycle_pipeline.resources.warehouse import WarehouseResource

__all__ = ["ClvConfig", "LandingZone", "OutreachConfig", "QualityConfig", "ScoringConfig", "StageConfig",
           "WarehouseResource"]
