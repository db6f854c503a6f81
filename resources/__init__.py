"""Dagster resources: the DuckDB warehouse, the landing zone, quality and scoring configuration."""

from resources.landing import LandingZone
from resources.quality import QualityConfig
from resources.scoring import ScoringConfig
from resources.warehouse import WarehouseResource

__all__ = ["LandingZone", "QualityConfig", "ScoringConfig", "WarehouseResource"]
