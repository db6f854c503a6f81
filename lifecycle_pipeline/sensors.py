"""Failure notes: every failed run gets one paragraph in ``<data dir>/logs/failures.log``.

``failure_summary_sensor`` (running by default; the daemon of ``make dev`` evaluates it)
writes what on-call needs first about a failed run: the partition (a day, or
``start..end`` of a single-run backfill), the asset(s) whose step failed, the failed
blocking checks of the run, the first line of the error and a link to the run in the UI.
The tick's log shows the same text. ``summarize_failure`` builds the text from plain
values, so a test can call it without a daemon.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
from dagster._utils.error import SerializableErrorInfo  # the type of a stored error; not exported

from lifecycle_pipeline.settings import ProjectSettings

# `make dev` serves the UI with `dg dev --host 127.0.0.1 --port 3000` (Makefile, README "Quick start")
DAGSTER_UI_URL = "http://127.0.0.1:3000"
FAILURES_LOG = Path("logs") / "failures.log"  # under the data dir, beside the CLI's backfill logs

PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
# Dagster's wrappers around the exception an asset raised: the useful message is their cause
_WRAPPERS = ("DagsterExecutionStepExecutionError", "DagsterUserCodeExecutionError")


def failures_log_path(settings: ProjectSettings) -> Path:
    return settings.data_dir / FAILURES_LOG


def partition_of(tags: Mapping[str, str]) -> str:
    """The run's day (``dagster/partition``) or day range (a single-run backfill's range tags)."""
    if tags.get(PARTITION_TAG):
        return tags[PARTITION_TAG]
    start, end = tags.get(RANGE_START_TAG), tags.get(RANGE_END_TAG)
    if start and end:
        return start if start == end else f"{start}..{end}"
    return "none (the run has no partition)"


def first_error_line(error: SerializableErrorInfo) -> str:
    """The first line of the exception the asset raised, without Dagster's wrappers and module path.

    A first line that ends with ``:`` introduces the next one (e.g. the blocked days), so both are kept.
    """
    while error.cause is not None and error.cls_name in _WRAPPERS:
        error = error.cause
    lines = [line.strip() for line in error.message.strip().splitlines() if line.strip()]
    if not lines:
        return error.cls_name or "unknown error"
    first = f"{lines[0]} {lines[1]}" if lines[0].endswith(":") and len(lines) > 1 else lines[0]
    qualified, sep, rest = first.partition(": ")
    if sep and error.cls_name and qualified.endswith(f".{error.cls_name}"):
        first = f"{error.cls_name}: {rest}"  # lifecycle_pipeline.loading.LandingSchemaError: … -> LandingSchemaError: …
    return first


def assets_of_steps(step_keys: Iterable[str], planned_records: Iterable[dg.EventLogRecord]) -> list[str]:
    """Asset keys (``raw/orders``) the run planned in the given steps (its ASSET_MATERIALIZATION_PLANNED events).

    Dagster's OSS storage keeps no "asset failed" event, so the planned events are the map from step to assets.
    """
    wanted = set(step_keys)
    found = set()
    for record in planned_records:
        event = record.event_log_entry.dagster_event
        if event is not None and event.step_key in wanted and event.asset_key is not None:
            found.add(event.asset_key.to_user_string())
    return sorted(found)


def failed_blocking_checks(evaluations: Iterable[dg.AssetCheckEvaluation]) -> list[str]:
    """``asset:check`` of each failed check that holds work back: Dagster-blocking, or ERROR severity
    (the project's blocking rules hold back their day, README "Data quality"). WARN-only failures are left out."""
    return sorted({
        f"{e.asset_key.to_user_string()}:{e.check_name}"
        for e in evaluations
        if not e.passed and (e.blocking or e.severity == dg.AssetCheckSeverity.ERROR)
    })


def _error_of(step_failures: Sequence[dg.DagsterEvent], run_failure: dg.DagsterEvent | None) -> str:
    for event in step_failures:
        if event.step_failure_data is not None and event.step_failure_data.error is not None:
            line = first_error_line(event.step_failure_data.error)
            more = len(step_failures) - 1
            return line + (f" (and {more} more failed step{'s' if more > 1 else ''})" if more else "")
    if run_failure is not None:
        data = run_failure.event_specific_data
        error = getattr(data, "error", None)
        return first_error_line(error) if error is not None else (run_failure.message or "run failed").strip()
    return "no error recorded"


def summarize_failure(
    run: dg.DagsterRun,
    tags: Mapping[str, str],
    step_failures: Sequence[dg.DagsterEvent],
    check_evaluations: Iterable[dg.AssetCheckEvaluation],
    planned_records: Iterable[dg.EventLogRecord],
    *,
    run_failure: dg.DagsterEvent | None = None,
    failed_at: dt.datetime | None = None,
    ui_url: str = DAGSTER_UI_URL,
) -> str:
    """One paragraph (one line) about a failed run: when, partition, failed assets and checks, first error, link."""
    assets = assets_of_steps((e.step_key for e in step_failures if e.step_key), planned_records)
    checks = failed_blocking_checks(check_evaluations)
    when = f"{failed_at:%Y-%m-%d %H:%M:%S %Z} " if failed_at else ""
    return (
        f"{when}run {run.run_id[:8]} of {run.job_name} failed. "
        f"Partition: {partition_of(tags)}. "
        f"Failed asset{'s' if len(assets) > 1 else ''}: "
        f"{', '.join(assets) if assets else 'none (the run failed outside any asset step)'}. "
        f"Failed blocking check{'s' if len(checks) > 1 else ''}: {', '.join(checks) if checks else 'none'}. "
        f"First error: {_error_of(step_failures, run_failure)}. "
        f"Run: {ui_url.rstrip('/')}/runs/{run.run_id}"
    )


def append_paragraph(path: Path, text: str) -> None:
    """Append ``text`` and a blank line with one write, so paragraphs of concurrent writers do not interleave."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(text + "\n\n")


def build_failure_summary_sensor(settings: ProjectSettings, ui_url: str = DAGSTER_UI_URL) -> dg.SensorDefinition:
    """The run-failure sensor writing ``failures.log`` under the settings' data dir."""
    log_path = failures_log_path(settings)
    zone = ZoneInfo(settings.timezone)

    @dg.run_failure_sensor(
        name="failure_summary_sensor",
        default_status=dg.DefaultSensorStatus.RUNNING,
        # also the runs of `lifecycle-pipeline backfill` (`dagster asset materialize`): they carry no
        # code-location origin, so a sensor watching only its own location would never see them
        monitor_all_code_locations=True,
        description=f"Appends one paragraph per failed run to `{log_path}`: partition, failed assets, failed "
        "blocking checks, the first error line and the run's link; the tick's log shows the same text.",
    )
    def failure_summary_sensor(context: dg.RunFailureSensorContext) -> None:
        run, instance = context.dagster_run, context.instance
        planned = instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED).records
        evaluations = [
            r.event_log_entry.dagster_event.event_specific_data
            for r in instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
        ]
        record = instance.get_run_record_by_id(run.run_id)
        ended = record.end_time if record is not None and record.end_time else None
        failed_at = dt.datetime.fromtimestamp(ended, zone) if ended else dt.datetime.now(zone)
        text = summarize_failure(run, run.tags, context.get_step_failure_events(), evaluations, planned,
                                 run_failure=context.failure_event, failed_at=failed_at, ui_url=ui_url)
        context.log.info(text)  # first: the tick shows the text even if the file cannot be written
        append_paragraph(log_path, text)
        # None, not SkipReason: any other return value ends the tick after this run, so
        # the other failed runs of the tick would wait for later ticks

    return failure_summary_sensor
