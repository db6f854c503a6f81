"""Asset checks recorded per partition, and the blocking checks on the tables BI reads.

A range run (a single-run backfill) materializes many daily partitions in one step, but an
``AssetCheckResult`` carries no partition: Dagster would show every partition's check as
"Skipped" and one result without a partition. These helpers record one
``AssetCheckEvaluation`` per day instead, attached to that day's materialization, so the
checks tab and the partitions view show each day's own outcome (Dagster 1.13's partitioned
asset checks; the specs carry the asset's ``partitions_def``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import NamedTuple

import dagster as dg
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,  # not exported at the top level in 1.13
)
from dagster._core.storage.event_log.base import AssetRecordsFilter

from lifecycle_pipeline.table_checks import TableCheck, run_check


class DayCheck(NamedTuple):
    """One day's outcome of a check."""

    passed: bool
    metadata: dict
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR


def table_check_spec(check: TableCheck, partitions_def: dg.PartitionsDefinition) -> dg.AssetCheckSpec:
    """A blocking check on ``check.table``: a failure stops the run before the day is published."""
    return dg.AssetCheckSpec(name=check.name, asset=dg.AssetKey(check.table.split(".")),
                             description=check.description + " Blocking: a failed day is not published to BI.",
                             blocking=True, partitions_def=partitions_def)


def materialization_targets(context: dg.AssetExecutionContext, asset_key: dg.AssetKey, days: Iterable[dt.date]) -> dict:
    """The latest materialization of each day's partition (this run's, recorded as the step yielded them),
    as the target an evaluation is attached to. Fetch once per asset and share it between its checks."""
    partitions = sorted({day.isoformat() for day in days})
    records = context.instance.fetch_materializations(
        AssetRecordsFilter(asset_key=asset_key, asset_partitions=partitions), limit=len(partitions)).records
    latest = {}
    for record in records:  # newest first
        latest.setdefault(record.partition_key, AssetCheckEvaluationTargetMaterializationData(
            storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp))
    return latest


def partition_evaluations(
    context: dg.AssetExecutionContext,
    asset_key: dg.AssetKey,
    check_name: str,
    outcomes: dict[dt.date, DayCheck],
    blocking: bool = False,
    targets: dict | None = None,
) -> Iterator[dg.AssetCheckEvaluation]:
    """One evaluation per day of ``outcomes``, attached to the day's materialization (yield them after it).

    A failed ``blocking`` ERROR evaluation fails the step once it has yielded everything, so
    nothing downstream (the BI publish) runs. ``targets``: :func:`materialization_targets` of the days,
    fetched here when not given.
    """
    if targets is None:
        targets = materialization_targets(context, asset_key, outcomes)
    for day in sorted(outcomes):
        partition = day.isoformat()
        passed, metadata, severity = outcomes[day]
        yield dg.AssetCheckEvaluation(
            asset_key=asset_key, check_name=check_name, passed=passed, metadata=metadata, severity=severity,
            partition=partition, target_materialization_data=targets.get(partition), blocking=blocking)


def check_outputs(context: dg.AssetExecutionContext, check_keys: Iterable[dg.AssetCheckKey]) -> Iterator[dg.Output]:
    """The (empty) outputs Dagster expects of the step's checks once their evaluations are yielded."""
    for key in check_keys:
        yield dg.Output(None, output_name=context.assets_def.get_output_name_for_asset_check_key(key))


def table_check_evaluations(
    context: dg.AssetExecutionContext, conn, checks: Iterable[TableCheck], days: list[dt.date], params: dict
) -> Iterator[dg.AssetCheckEvaluation | dg.Output]:
    """Run ``checks`` on the days just written; one blocking evaluation per check and day, then their outputs."""
    keys, targets = [], {}
    for check in checks:
        asset_key = dg.AssetKey(check.table.split("."))
        if asset_key not in targets:
            targets[asset_key] = materialization_targets(context, asset_key, days)
        outcomes = run_check(conn, check, days, params)
        failed = {day: o for day, o in outcomes.items() if not o.passed}
        for day, outcome in failed.items():
            context.log.error(f"check {check.name} failed on {check.table} {day}: {outcome.violations} violations, "
                              f"e.g. {outcome.details[:3]}")
        yield from partition_evaluations(context, asset_key, check.name, {
            day: DayCheck(o.passed, {"violations": dg.MetadataValue.int(o.violations),
                                     **({"sample_customer_ids": o.customer_ids, "sample_violations": o.details}
                                        if not o.passed else {})})
            for day, o in outcomes.items()
        }, blocking=True, targets=targets[asset_key])
        keys.append(dg.AssetCheckKey(asset_key, check.name))
    yield from check_outputs(context, keys)
