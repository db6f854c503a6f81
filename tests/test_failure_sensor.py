"""Every failed run gets one paragraph in ``<data dir>/logs/failures.log``, also logged to the sensor's tick.

The paragraph names the partition (a day, or ``start..end`` of a single-run backfill), the
asset whose step failed, the failed blocking checks, the first error line and the run's link.
The runs are real: the project's definitions over a temporary data dir, with broken landing
files, in one Dagster instance. The sensor is evaluated as the daemon does it: a first tick
sets the cursor, and the next tick handles every run that failed since.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.definitions.instigation_logger import get_instigation_log_records
from dagster._utils.error import SerializableErrorInfo

from lifecycle_pipeline.definitions import build_definitions
from lifecycle_pipeline.sensors import (
    DAGSTER_UI_URL,
    failed_blocking_checks,
    failures_log_path,
    first_error_line,
    partition_of,
    summarize_failure,
)
from lifecycle_pipeline.settings import PROJECT_ROOT, ProjectSettings
from tests.helpers import materialize

HEADER = "order_id,customer_id,ordered_at,amount,status,updated_at"
RANGE_TAGS = {"dagster/asset_partition_range_start": "2026-03-02", "dagster/asset_partition_range_end": "2026-03-03"}
# raw/orders -> clean/orders -> scoring/customer_features: the first asset that skips a blocked day
BLOCKED_CHAIN = ["raw/orders", "clean/orders", "scoring/customer_features"]


def _orders_of_unknown_customers(settings: ProjectSettings, day: str, rows: int = 40) -> None:
    """40 orders of customers nobody knows: all quarantined (customer_exists), so quarantine_share blocks the day."""
    folder = settings.landing_root / "orders" / day
    folder.mkdir(parents=True, exist_ok=True)
    lines = [HEADER] + [f"O{i},C{i},{day}T09:00:00Z,10.00,completed," for i in range(rows)]
    (folder / "orders.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def failed(tmp_path_factory):
    """Three failed runs between two ticks of the sensor: settings, run results, the second tick and its log lines."""
    tmp = tmp_path_factory.mktemp("failures")
    settings = ProjectSettings.for_data_dir(tmp / "data", start_date="2026-01-01", timezone="UTC")
    defs = build_definitions(settings)
    sensor = defs.resolve_sensor_def("failure_summary_sensor")
    broken = settings.landing_root / "orders" / "2026-03-01"
    broken.mkdir(parents=True)
    (broken / "orders.csv").write_text("order_id;customer_id\nO1;C1\n", encoding="utf-8")  # ;-separated header
    for day in ("2026-03-02", "2026-03-03"):
        _orders_of_unknown_customers(settings, day)
    (tmp / "home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp / "home")) as instance:
        repo = defs.get_repository_def()
        first = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, repository_def=repo))
        runs = {
            "header": materialize(defs, ["raw/orders"], "2026-03-01", instance=instance, raise_on_error=False),
            "blocked": materialize(defs, BLOCKED_CHAIN, "2026-03-02", instance=instance, raise_on_error=False),
            "range": materialize(defs, BLOCKED_CHAIN, instance=instance, raise_on_error=False, tags=RANGE_TAGS),
        }
        # the daemon gives each tick a log key; the UI shows the lines captured under it as the tick's log
        log_key = [repo.name, "failure_summary_sensor", "2"]
        with dg.SensorEvaluationContext(instance_ref=instance.get_ref(), cursor=first.cursor, log_key=log_key,
                                        repository_name=repo.name, repository_def=repo, instance=instance) as context:
            tick = sensor.evaluate_tick(context)
        logged = [r["msg"] for r in get_instigation_log_records(instance, log_key)]
        yield settings, runs, tick, logged


def _paragraphs(settings: ProjectSettings) -> list[str]:
    return [p for p in failures_log_path(settings).read_text(encoding="utf-8").split("\n\n") if p.strip()]


def _paragraph_of(settings: ProjectSettings, run_id: str) -> str:
    [paragraph] = [p for p in _paragraphs(settings) if run_id in p]
    return paragraph


def test_one_tick_writes_one_paragraph_per_failed_run_and_logs_it(failed):
    settings, runs, tick, logged = failed
    assert not any(r.success for r in runs.values())
    paragraphs = _paragraphs(settings)
    assert len(paragraphs) == 3 and all("\n" not in p for p in paragraphs)
    assert [p for p in paragraphs if runs["header"].run_id in p]  # every run of the tick, not only the first
    assert tick.skip_message is None and len(tick.dagster_run_reactions) == 3
    for paragraph in paragraphs:  # the tick's log shows the same text
        assert any(paragraph in line for line in logged)


def test_a_run_failing_on_a_broken_landing_file_names_its_day_asset_error_and_link(failed):
    settings, runs, _, _ = failed
    run_id = runs["header"].run_id
    paragraph = _paragraph_of(settings, run_id)
    assert re.match(rf"\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d UTC run {run_id[:8]} of __ephemeral_asset_job__ failed\. ",
                    paragraph)
    assert "Partition: 2026-03-01. Failed asset: raw/orders. Failed blocking check: none. " in paragraph
    assert "First error: LandingSchemaError: orders landing file " in paragraph
    assert "line 1 (header) does not match the orders contract: the header is one column that looks ;-separated" in (
        paragraph)
    assert "Stack" not in paragraph and "DagsterExecutionStepExecutionError" not in paragraph
    assert paragraph.endswith(f"Run: http://127.0.0.1:3000/runs/{run_id}")


def test_a_day_held_back_by_a_blocking_check_names_the_check_and_the_blocked_day(failed):
    settings, runs, _, _ = failed
    paragraph = _paragraph_of(settings, runs["blocked"].run_id)
    assert "Partition: 2026-03-02. Failed asset: scoring/customer_features. " in paragraph
    # customer_exists quarantined every row, which made quarantine_share block the day: both are ERROR
    assert "Failed blocking checks: raw/orders:customer_exists, raw/orders:quarantine_share. " in paragraph
    assert ("First error: Failure: every day of this run is blocked by a failed blocking check: "
            "2026-03-02: raw/orders: quarantine_share: 40 of 40 rows quarantined") in paragraph


def test_a_single_run_backfill_names_its_range(failed):
    settings, runs, _, _ = failed
    paragraph = _paragraph_of(settings, runs["range"].run_id)
    assert "Partition: 2026-03-02..2026-03-03. Failed asset: scoring/customer_features. " in paragraph


def test_a_run_that_failed_outside_any_step_still_gets_a_paragraph():
    run = dg.DagsterRun(job_name="lifecycle_daily_job", run_id="0123abcd-0000-0000-0000-000000000000")
    text = summarize_failure(run, {**RANGE_TAGS, "dagster/asset_partition_range_end": "2026-03-09"}, [], [], [],
                             failed_at=dt.datetime(2026, 3, 10, 2, 5, tzinfo=dt.UTC), ui_url="http://ui:3000/")
    assert text == (
        "2026-03-10 02:05:00 UTC run 0123abcd of lifecycle_daily_job failed. Partition: 2026-03-02..2026-03-09. "
        "Failed asset: none (the run failed outside any asset step). Failed blocking check: none. "
        "First error: no error recorded. Run: http://ui:3000/runs/0123abcd-0000-0000-0000-000000000000")


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"dagster/partition": "2026-03-01"}, "2026-03-01"),
        (RANGE_TAGS, "2026-03-02..2026-03-03"),
        ({"dagster/asset_partition_range_start": "2026-03-02", "dagster/asset_partition_range_end": "2026-03-02"},
         "2026-03-02"),
        ({}, "none (the run has no partition)"),
    ],
)
def test_partition_comes_from_the_run_tags(tags, expected):
    assert partition_of(tags) == expected


def _error(cls_name: str, message: str, cause: SerializableErrorInfo | None = None) -> SerializableErrorInfo:
    return SerializableErrorInfo(message=message, stack=["  File ...\n"], cls_name=cls_name, cause=cause)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (_error("DagsterExecutionStepExecutionError", "dagster._core.errors.DagsterExecutionStepExecutionError: "
                "Error occurred while executing op \"raw__orders\":\n",
                _error("LandingFileError", "lifecycle_pipeline.loading.LandingFileError: orders.csv: not readable\n"
                       "second line\n", cause=_error("IOException", "duckdb.IOException: disk"))),
         "LandingFileError: orders.csv: not readable"),
        (_error("ValueError", "ValueError: plain\n"), "ValueError: plain"),
        (_error("Failure", "dagster._core.definitions.events.Failure: blocked:\n2026-03-02: raw/orders: x\n"),
         "Failure: blocked: 2026-03-02: raw/orders: x"),
    ],
)
def test_first_error_line_unwraps_dagsters_wrappers(error, expected):
    assert first_error_line(error) == expected


def test_only_failed_error_or_blocking_checks_are_named():
    def evaluation(name, passed, severity=dg.AssetCheckSeverity.ERROR, blocking=False):
        return dg.AssetCheckEvaluation(asset_key=dg.AssetKey(["raw", "orders"]), check_name=name, passed=passed,
                                       severity=severity, blocking=blocking)

    evaluations = [evaluation("files_loaded", False), evaluation("files_loaded", False),  # one per day of a range
                   evaluation("email_format", False, dg.AssetCheckSeverity.WARN),
                   evaluation("gate", False, dg.AssetCheckSeverity.WARN, blocking=True),
                   evaluation("key_unique", True)]
    assert failed_blocking_checks(evaluations) == ["raw/orders:files_loaded", "raw/orders:gate"]


def test_the_run_link_points_at_the_ui_that_make_dev_starts():
    makefile = (Path(PROJECT_ROOT) / "Makefile").read_text(encoding="utf-8")
    host, port = re.search(r"dg dev --host (\S+) --port (\d+)", makefile).groups()
    assert f"http://{host}:{port}" == DAGSTER_UI_URL
