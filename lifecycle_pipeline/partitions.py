"""The one daily partitioning shared by every partitioned asset."""

import dagster as dg

from lifecycle_pipeline.settings import ProjectSettings


def build_daily_partitions(settings: ProjectSettings) -> dg.DailyPartitionsDefinition:
    """Business days from the configured start date, cut at midnight in the business time zone."""
    return dg.DailyPartitionsDefinition(start_date=settings.start_date, timezone=settings.timezone)
