"""Dagster resources: the DuckDB warehouse and the landing zone of source files."""

from resources.landing import LandingZone
from resources.warehouse import WarehouseResource

__all__ = ["LandingZone", "WarehouseResource"]
