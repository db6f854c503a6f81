"""Ingestion layer: one asset per landing source, loading a day's files into ``raw.<source>``.

Each day of a run is loaded, validated and given a status (``quality.day_status``): a
blocking failure holds back that day only, so a backfill over a range finishes and
names the blocked days. The asset checks are therefore non-blocking in Dagster; a
failure that blocks a day shows as an ERROR check, a released one as a passed WARN check.
"""

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from lifecycle_pipeline import day_status
from lifecycle_pipeline.assets.checks import DayCheck, check_outputs, materialization_targets, partition_evaluations
from lifecycle_pipeline.assets.common import daily_table_asset, partition_days
from lifecycle_pipeline.contracts import SOURCES, SourceContract
from lifecycle_pipeline.daily_tables import table_exists
from lifecycle_pipeline.gx_runner import SuiteRunner
from lifecycle_pipeline.loading import LandingFileError, PartitionLoad, ensure_warehouse, load_partition
from lifecycle_pipeline.quality_rules import LANDING_FOLDERS_RULE, LATER_DAYS_RULE, all_rules, check_rules
from lifecycle_pipeline.resources import LandingZone, QualityConfig, WarehouseResource
from lifecycle_pipeline.restatements import Restatement, day_digests, find_restatement
from lifecycle_pipeline.validation import validate_days
from lifecycle_pipeline.validation_results import RangeValidation


def _preview(conn, contract: SourceContract, days: list[dt.date]) -> str:
    df = conn.execute(
        f"select * exclude (_source_file) from {contract.table} where _partition_date = ? order by _source_row limit 5",
        [days[-1]],
    ).df()
    return df.to_markdown(index=False) if not df.empty else "_no rows_"


def _load_summary(loads: list[PartitionLoad]) -> str:
    lines = ["| day | files | rows read | loaded | quarantined |", "|---|---|---|---|---|"]
    for load in loads:
        files = str(len(load.files)) if load.file_found else "no file (empty partition)"
        lines.append(f"| {load.day} | {files} | {load.rows_read} | {load.rows_loaded} | {load.rows_quarantined} |")
    return "\n".join(lines)


def _description(contract: SourceContract) -> str:
    required = "required for every business" if contract.required_for_business else "optional source"
    return (
        f"{contract.description} Raw table `{contract.table}`, grain: one landed row, partitioned by "
        f"`_partition_date` (the landing folder day). Loaded from `<landing root>/{contract.name}/<YYYY-MM-DD>/` "
        f"(CSV or Parquet) with types enforced by the source contract in `lifecycle_pipeline/contracts.py` "
        f"({required}); rows that cannot be loaded (values that do not cast, malformed lines) are quarantined in "
        f"`quality.quarantine` with the reason. Each load is validated by the source's Great Expectations suite "
        f"(`lifecycle_pipeline/quality_rules.py`); rows failing critical rules are quarantined and left out of "
        f"`clean.{contract.name}`, and a day with a blocking failure is recorded as blocked in `quality.day_status`."
    )


def _severity(blocking: bool, passed: bool, released: bool, critical: bool) -> dg.AssetCheckSeverity:
    """ERROR for a failure that blocks a day; WARN for a warning, quarantined rows, or a released day."""
    if blocking or (passed and critical and not released):
        return dg.AssetCheckSeverity.ERROR
    return dg.AssetCheckSeverity.WARN


def _rule_checks(context, contract: SourceContract, validation: RangeValidation, docs_index: str | None
                 ) -> dict[str, dict]:
    """Each rule's outcome per day: ERROR when it blocks the day, WARN for a warning or a released day."""
    checks = {}
    for rule in all_rules(contract):
        summary = validation.check(rule.name)
        if not summary.passed:
            context.log.warning(f"check {rule.name} failed for {contract.name}: {summary.metadata.get('failing_days')}")
        per_day = {}
        for day in validation.days:
            outcome = day.outcome(rule.name)
            metadata = outcome.metadata()
            if outcome.released_by:
                metadata |= {"released_by": outcome.released_by, "release_reason": outcome.release_reason}
            if validation.data_docs:
                metadata["data_docs"] = validation.data_docs
            if docs_index:
                metadata["data_docs_index"] = docs_index
            severity = _severity(outcome.blocking_failure, outcome.passed, outcome.released_by is not None,
                                 rule.critical)
            per_day[day.day] = DayCheck(outcome.passed, metadata, severity)
        checks[rule.name] = per_day
    return checks


def _folders_check(context, contract, landing: LandingZone, partitions_def) -> tuple[bool, dict]:
    """WARN when the source's landing folder holds entries no partition loads (not a day, or outside the range)."""
    last_key = partitions_def.get_last_partition_key()
    first = partitions_def.start.date()
    entries = landing.unrecognised_entries(contract.name, first, dt.date.fromisoformat(last_key) if last_key else None)
    if entries:
        context.log.warning(f"{contract.name}: landing entries that no partition loads: {entries}")
    return not entries, {"unrecognised": entries, "landing_folder": str(Path(landing.root) / contract.name)}


def _load_days(context, conn, contract, days, landing: LandingZone) -> tuple[list[PartitionLoad], dict]:
    """Load each day; a day whose files cannot be read keeps its previous state and comes back with its error."""
    loads, errors = [], {}
    for day in days:
        try:
            load = load_partition(conn, contract, day, landing.files_for(contract.name, day))
        except LandingFileError as exc:
            context.log.error(f"{contract.name} {day}: {exc}")
            errors[day] = exc
            continue
        if not load.file_found:
            context.log.info(f"{contract.name} {day}: no landing file; partition is empty")
        elif load.rows_quarantined:
            context.log.warning(f"{contract.name} {day}: {load.rows_quarantined} rows quarantined at load")
        loads.append(load)
    return loads, errors


def _day_lines(days: dict) -> list[dict]:
    return [{"day": day.isoformat(), "reasons": reasons} for day, reasons in sorted(days.items())]


def _later_days_check(context, restated: Restatement | None) -> tuple[bool, dict]:
    """WARN when this run changed an old day's rows after later days were computed: those days are stale."""
    if restated is None:
        return True, {}
    message = (f"rows of {', '.join(map(str, restated.changed_days))} changed after later days were computed: "
               f"{restated.stale_from}..{restated.stale_through} are stale; rebuild them with `{restated.command}`")
    context.log.warning(message)
    return False, {"restated_days": [str(d) for d in restated.changed_days], "stale_from": str(restated.stale_from),
                   "stale_through": str(restated.stale_through), "rebuild": restated.command, "detail": message}


def _check_evaluations(context, validation: RangeValidation, checks: dict[str, dict]) -> Iterator:
    """One evaluation per check and day of the run (the days' own outcomes, not one result for the range)."""
    targets = materialization_targets(context, context.asset_key, [day.day for day in validation.days])
    for name, per_day in checks.items():
        yield from partition_evaluations(context, context.asset_key, name, per_day, targets=targets)
    yield from check_outputs(context, [dg.AssetCheckKey(context.asset_key, name) for name in checks])


def _materialize_result(context, contract, validation: RangeValidation, loads, preview, docs_index: str | None):
    blocked, released = validation.blocked_days(), validation.released_days()
    if blocked:
        context.log.warning(f"{contract.name}: blocked days (clean and downstream skip them): {_day_lines(blocked)}")
    for day, (by, reason, overridden) in released.items():
        context.log.warning(f"{contract.name} {day}: released by {by} ({reason}); overridden: {overridden}")
    return dg.MaterializeResult(
        metadata={
            "rows_quarantined_by_rules": dg.MetadataValue.int(sum(d.rows_quarantined_validation for d in validation.days)),
            "data_docs": dg.MetadataValue.url(validation.data_docs) if validation.data_docs else "not built",
            # every suite and stored validation (GX's site index)
            "data_docs_index": dg.MetadataValue.url(docs_index) if docs_index else "not built",
            "dagster/row_count": dg.MetadataValue.int(sum(x.rows_loaded for x in loads)),
            "rows_read": dg.MetadataValue.int(sum(x.rows_read for x in loads)),
            "rows_quarantined": dg.MetadataValue.int(sum(x.rows_quarantined for x in loads)),
            "days": dg.MetadataValue.int(len(validation.days)),
            "days_without_file": dg.MetadataValue.int(sum(not x.file_found for x in loads)),
            "file_found": dg.MetadataValue.bool(all(x.file_found for x in loads)),
            "files": dg.MetadataValue.json([f.path for x in loads for f in x.files][:50]),
            "loads": dg.MetadataValue.md(_load_summary(loads[-31:])),
            "blocked_days": dg.MetadataValue.json(_day_lines(blocked)),
            "released_days": dg.MetadataValue.json([
                {"day": d.isoformat(), "released_by": by, "release_reason": why, "overridden": overridden}
                for d, (by, why, overridden) in sorted(released.items())
            ]),
            "preview": dg.MetadataValue.md(preview),
        },
    )


def build_ingestion_asset(contract: SourceContract, partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    key = dg.AssetKey(["raw", contract.name])
    # non-blocking for Dagster: a blocking failure holds back its day only (quality.day_status), not the whole run
    check_specs = [
        dg.AssetCheckSpec(
            name=rule.name, asset=key, description=rule.description, blocking=False, partitions_def=partitions_def
        )
        for rule in check_rules(contract)
    ]
    deps = [dg.AssetKey(["raw", "customers"])] if "customer_id" in contract.foreign_keys else []

    @daily_table_asset(
        key,
        "raw",
        contract,
        partitions_def,
        description=_description(contract),
        check_specs=check_specs,
        deps=deps,
        group_name="ingestion",
        kinds={"duckdb", "csv", "parquet", "great_expectations"},
    )
    def ingest(
        context: dg.AssetExecutionContext, duckdb: WarehouseResource, landing: LandingZone, quality: QualityConfig
    ):
        days = partition_days(context)
        release = day_status.release_from_tags(context.run.tags)
        if release is None and (release := quality.release()) is not None:
            # a release given as run config (`lifecycle-pipeline release`) is recorded in the run's tags too
            context.instance.add_run_tags(context.run_id, day_status.release_tags(release))
        docs_dir = Path(quality.data_docs_dir) if quality.data_docs_dir else None
        runner = SuiteRunner(docs_dir)
        with duckdb.get_connection() as conn:
            ensure_warehouse(conn, list(SOURCES.values()))
            before = day_digests(conn, contract.table, days) if table_exists(conn, contract.table) else {}
            loads, errors = _load_days(context, conn, contract, days, landing)
            if errors and len(days) == 1:
                # a single-day run fails with the file's error; the day keeps its previous rows and is blocked
                day_status.record(conn, contract.name, days[0], [f"files_loaded: {errors[days[0]].summary}"])
                raise errors[days[0]]
            validation = validate_days(
                conn, contract, days, quality.settings(), runner,
                release=release, load_errors={day: exc.summary for day, exc in errors.items()},
            )
            preview = _preview(conn, contract, days)
            restated = find_restatement(conn, days, before, day_digests(conn, contract.table, days))
        runner.build_docs()
        checks = _rule_checks(context, contract, validation, runner.docs_index())
        # facts about the run (the landing folder, restated days) hold for each of its days
        for name, (passed, metadata) in ((LANDING_FOLDERS_RULE.name, _folders_check(context, contract, landing,
                                                                                   partitions_def)),
                                         (LATER_DAYS_RULE.name, _later_days_check(context, restated))):
            checks[name] = {d.day: DayCheck(passed, metadata, dg.AssetCheckSeverity.WARN) for d in validation.days}
        yield _materialize_result(context, contract, validation, loads, preview, runner.docs_index())
        yield from _check_evaluations(context, validation, checks)

    return ingest


def build_ingestion_assets(partitions_def: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    return [build_ingestion_asset(contract, partitions_def) for contract in SOURCES.values()]
