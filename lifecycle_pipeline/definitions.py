"""The code location: every asset, check, resource, job and schedule of the project."""

import dagster as dg

from lifecycle_pipeline.assets.clean import build_clean_assets
from lifecycle_pipeline.assets.clv import build_clv_assets
from lifecycle_pipeline.assets.ingestion import build_ingestion_assets
from lifecycle_pipeline.assets.outreach import build_outreach_assets
from lifecycle_pipeline.assets.publish import build_publish_assets
from lifecycle_pipeline.assets.scoring import build_scoring_assets
from lifecycle_pipeline.assets.stages import build_stage_assets
from lifecycle_pipeline.freshness import apply_freshness_policies
from lifecycle_pipeline.jobs import build_jobs
from lifecycle_pipeline.partitions import build_daily_partitions
from lifecycle_pipeline.resources import (
    ClvConfig,
    LandingZone,
    OutreachConfig,
    QualityConfig,
    ScoringConfig,
    StageConfig,
    WarehouseResource,
)
from lifecycle_pipeline.schedules import build_daily_schedule
from lifecycle_pipeline.sensors import build_failure_summary_sensor
from lifecycle_pipeline.settings import ProjectSettings, load_settings


def build_definitions(settings: ProjectSettings) -> dg.Definitions:
    """Definitions for one deployment; tests build their own with temporary paths."""
    daily = build_daily_partitions(settings)
    jobs = build_jobs()
    definitions = dg.Definitions(
        # Every asset writes the one DuckDB file, one writer at a time (pool
        # "duckdb_writer"), so steps gain nothing from separate processes: running them
        # in the run's own process saves a process start per step.
        executor=dg.in_process_executor,
        assets=[
            *build_ingestion_assets(daily),
            *build_clean_assets(daily),
            *build_scoring_assets(daily, settings.data_dir),  # charts: <data dir>/charts/
            *build_clv_assets(daily, settings.data_dir),  # predictive value: the stage table carries its P(alive)
            *build_stage_assets(daily, settings.data_dir),
            *build_outreach_assets(daily, settings.data_dir),
            *build_publish_assets(daily, settings),  # bi/published_days: after the final tables
        ],
        jobs=list(jobs.values()),
        schedules=[build_daily_schedule(jobs["lifecycle_daily_job"], settings)],
        sensors=[build_failure_summary_sensor(settings)],  # <data dir>/logs/failures.log
        resources={
            "duckdb": WarehouseResource(
                database=str(settings.duckdb_path), timezone=settings.timezone, memory_limit=settings.duckdb_memory_limit
            ),
            "landing": LandingZone(root=str(settings.landing_root)),
            "quality": QualityConfig(data_docs_dir=str(settings.data_dir / "data_docs")),
            "scoring": ScoringConfig(),
            "stages": StageConfig(),
            "clv": ClvConfig(),
            "outreach": OutreachConfig(
                playbook_path=str(settings.playbook_path) if settings.playbook_path else None,
                export_dir=str(settings.outreach_export_dir),
                export_window_days=settings.export_window_days,
            ),
        },
    )
    # WARN / FAIL when the daily run has not refreshed the final assets (freshness.py)
    return apply_freshness_policies(definitions, settings)


defs = build_definitions(load_settings())
