"""Dagster resources: the DuckDB warehouse, the landing zone and quality configuration."""

from resources.landing import LandingZone
from resources.quality import QualityConfig
from resources.warehouse import WarehouseResource

__all__ = ["LandingZone", "QualityConfig", "WarehouseResource"]
