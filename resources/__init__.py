"""Dagster resources: the DuckDB warehouse, the landing zone, and the quality, scoring, stage and outreach
configuration."""

from resources.landing import LandingZone
from resources.outreach import OutreachConfig
from resources.quality import QualityConfig
from resources.scoring import ScoringConfig
from resources.stages import StageConfig
from resources.warehouse import WarehouseResource

__all__ = ["LandingZone", "OutreachConfig", "QualityConfig", "ScoringConfig", "StageConfig", "WarehouseResource"]
