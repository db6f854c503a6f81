"""The code location loads, and its schedule asks for the newest complete business day."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from lifecycle_pipeline.definitions import build_definitions
from lifecycle_pipeline.settings import ProjectSettings, SettingsError, load_settings

SOURCES = ["customers", "orders", "events", "support_tickets", "nps_responses", "marketing_spend", "suppressions"]


def test_shipped_code_location_is_loadable():
    from lifecycle_pipeline.definitions import defs

    dg.Definitions.validate_loadable(defs)


def test_every_source_has_a_daily_partitioned_ingestion_asset(defs):
    keys = {key for a in defs.assets for key in a.keys}
    assert {dg.AssetKey(["raw", s]) for s in SOURCES} <= keys
    partitions = {defs.resolve_assets_def(dg.AssetKey(["raw", s])).partitions_def for s in SOURCES}
    assert len(partitions) == 1  # one shared definition
    assert next(iter(partitions)).get_first_partition_key() == "2026-01-01"


def test_jobs_and_schedule_are_defined(defs):
    job = defs.resolve_job_def("lifecycle_daily_job")
    assert {n.name for n in job.graph.node_defs} >= {f"raw__{s}" for s in SOURCES}
    assert defs.resolve_job_def("ingestion_job")
    schedule = defs.resolve_schedule_def("lifecycle_daily_schedule")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "UTC"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING


@pytest.mark.parametrize(
    ("timezone", "tick_local", "expected"),
    [
        ("UTC", dt.datetime(2026, 3, 10, 2, 0), "2026-03-09"),
        ("America/New_York", dt.datetime(2026, 3, 10, 2, 0), "2026-03-09"),
        # the night clocks spring forward in Europe: still the previous calendar day
        ("Europe/Berlin", dt.datetime(2026, 3, 30, 2, 0), "2026-03-29"),
        ("Asia/Tokyo", dt.datetime(2026, 1, 1, 2, 0), "2025-12-31"),
    ],
)
def test_schedule_requests_the_previous_complete_day_in_the_business_time_zone(tmp_path, timezone, tick_local, expected):
    settings = ProjectSettings.for_data_dir(tmp_path, start_date="2025-06-01", timezone=timezone)
    tick = tick_local.replace(tzinfo=ZoneInfo(timezone))
    defs = build_definitions(settings)
    schedule = defs.resolve_schedule_def("lifecycle_daily_schedule")
    assert schedule.execution_timezone == timezone
    context = dg.build_schedule_context(scheduled_execution_time=tick, repository_def=defs.get_repository_def())
    result = schedule.evaluate_tick(context)
    assert [r.partition_key for r in result.run_requests] == [expected]


def test_settings_come_from_the_environment_with_project_defaults(tmp_path):
    env = {"LIFECYCLE_DATA_DIR": str(tmp_path), "LIFECYCLE_TIMEZONE": "Europe/Paris", "LIFECYCLE_SCHEDULE_HOUR": "5"}
    settings = load_settings(env)
    assert settings.duckdb_path == tmp_path / "warehouse.duckdb"
    assert settings.landing_root == tmp_path / "landing"
    assert settings.timezone == "Europe/Paris"
    assert settings.schedule_hour == 5
    assert load_settings({}).data_dir.name == "data"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LIFECYCLE_TIMEZONE": "Mars/Olympus"}, "not an IANA time zone"),
        ({"LIFECYCLE_START_DATE": "01/02/2026"}, "not a YYYY-MM-DD date"),
        ({"LIFECYCLE_SCHEDULE_HOUR": "25"}, "must be 0-23"),
    ],
)
def test_invalid_settings_fail_with_the_variable_name(env, message):
    with pytest.raises(SettingsError, match=message):
        load_settings(env)


def test_a_warehouse_file_named_like_a_schema_is_refused(tmp_path):
    from lifecycle_pipeline.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match="must not be one of the warehouse schemas"):
        load_settings({"LIFECYCLE_DATA_DIR": str(tmp_path), "LIFECYCLE_DUCKDB_PATH": str(tmp_path / "lifecycle.duckdb")})
