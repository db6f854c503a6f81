"""The daily schedule: materialize the newest complete business day."""

import dagster as dg

from lifecycle_pipeline.settings import ProjectSettings


def build_daily_schedule(job, settings: ProjectSettings) -> dg.ScheduleDefinition:
    """Runs ``job`` every day at ``schedule_hour`` (business time) for the day that just ended."""
    return dg.build_schedule_from_partitioned_job(
        job,
        name="lifecycle_daily_schedule",
        hour_of_day=settings.schedule_hour,
        minute_of_hour=0,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Every day after the landing files of the previous business day have arrived.",
    )
