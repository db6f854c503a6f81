"""The instance storage of the shipped dagster.yaml: Dagster's SQLite files, written with pooled connections."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from lifecycle_pipeline.instance_storage import PooledSqliteEventLogStorage

SHIPPED_YAML = Path(__file__).resolve().parent.parent / "lifecycle_pipeline" / "dagster.yaml"
DAYS = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-02-01")
RANGE = {"dagster/asset_partition_range_start": "2026-01-01", "dagster/asset_partition_range_end": "2026-01-31"}


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A DAGSTER_HOME with the shipped dagster.yaml (the pooled instance class)."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(SHIPPED_YAML, home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run())
def upstream() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"dagster/row_count": 3})


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run(), deps=[upstream])
def downstream() -> dg.MaterializeResult:
    return dg.MaterializeResult()


def test_a_range_backfill_is_recorded_per_day_and_read_back_by_a_fresh_instance(home):
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
        assert dg.materialize([upstream, downstream], instance=instance, tags=RANGE).success
        assert dg.materialize([upstream], instance=instance, partition_key="2026-01-31").success
    # Dagster's own storage class on the same files (what a webserver with the default config would read)
    (home / "dagster.yaml").write_text(f"storage:\n  sqlite:\n    base_dir: {home}\n")
    with dg.DagsterInstance.get() as default:
        assert type(default.event_log_storage).__name__ == "SqliteEventLogStorage"
        for key in (upstream.key, downstream.key):
            assert len(default.get_materialized_partitions(key)) == 31
        runs = default.get_runs()
        assert len(runs) == 2 and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        records = default.fetch_materializations(dg.AssetRecordsFilter(asset_key=upstream.key), limit=100).records
        assert len(records) == 32  # 31 days of the backfill + the re-run of the last day


@dg.asset(partitions_def=DAYS, check_specs=[dg.AssetCheckSpec("rows_positive", asset="checked")])
def checked() -> dg.MaterializeResult:
    return dg.MaterializeResult(check_results=[dg.AssetCheckResult(passed=True, metadata={"rows": 3})])


def test_the_table_check_dagster_repeats_per_check_result_is_asked_once(home, monkeypatch):
    """Dagster asks whether ``asset_check_executions`` exists before storing every check result; the pooled
    storage asks SQLite once and remembers the yes, and every result is still stored."""
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    asked: list[str] = []
    original = SqliteEventLogStorage.has_table
    monkeypatch.setattr(SqliteEventLogStorage, "has_table",
                        lambda self, name: asked.append(name) or original(self, name))
    with dg.DagsterInstance.get() as instance:
        for day in ("2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"):
            assert dg.materialize([checked], instance=instance, partition_key=day).success
        history = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(checked.key, "rows_positive"), limit=10)
        assert sorted(r.status.value for r in history) == ["PLANNED"] * 4 + ["SUCCEEDED"] * 4
    assert asked.count("asset_check_executions") == 1


def test_events_commit_to_the_write_ahead_log_without_a_flush_each(home):
    """The pooled connections write Dagster's WAL-mode files with ``synchronous=NORMAL`` (no fsync per event;
    SQLite's default FULL flushes every commit, three per check result); what they wrote is read back."""
    with dg.DagsterInstance.get() as instance:
        result = dg.materialize([checked], instance=instance, partition_key="2026-01-05")
        assert result.success
        storage = instance.event_log_storage
        for connection in (storage.index_connection(), storage.run_connection(result.run_id)):
            with connection as conn:
                assert conn.exec_driver_sql("pragma journal_mode").scalar() == "wal"
                assert conn.exec_driver_sql("pragma synchronous").scalar() == 1  # NORMAL (FULL is 2)
        assert len(instance.get_records_for_run(result.run_id).records) > 5
        assert instance.get_materialized_partitions(checked.key) == {"2026-01-05"}
