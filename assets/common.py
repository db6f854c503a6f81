"""What every daily table asset shares: the writer pool, owners, schema metadata, day ranges."""

import datetime as dt
import time

import dagster as dg

from lifecycle_pipeline import day_status, retention
from lifecycle_pipeline.contracts import SourceContract
from lifecycle_pipeline.dictionary import TABLES

DUCKDB_WRITER_POOL = "duckdb_writer"
OWNERS = ["team:data-engineering"]

_DUCKDB_TO_DAGSTER_TYPE = {
    "TIMESTAMPTZ": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamp",
    "DECIMAL(18,2)": "decimal",
    "VARCHAR[]": "list<varchar>",
}


def column_schema(contract: SourceContract) -> dg.TableSchema:
    columns = [
        dg.TableColumn(
            name=c.name,
            type=_DUCKDB_TO_DAGSTER_TYPE.get(c.type, c.type.lower()),
            description=c.description,
            constraints=dg.TableColumnConstraints(nullable=not c.required),
        )
        for c in contract.columns
    ]
    columns += [
        dg.TableColumn("_partition_date", "date", "Landing day (partition key) the row was loaded from."),
        dg.TableColumn("_source_file", "varchar", "Landing file the row came from."),
        dg.TableColumn("_source_row", "bigint", "1-based data row within that file."),
    ]
    return dg.TableSchema(columns=columns)


def _accepted(values: tuple | None) -> dg.TableColumnConstraints | None:
    if values is None:
        return None
    return dg.TableColumnConstraints(other=["accepted values: " + ", ".join(str(v) for v in values)])


def derived_table_metadata(table: str) -> dict:
    """Definition metadata of a derived table from its dictionary entry (``sql/<layer>/<table>.yml``):
    documented columns with their accepted values, table name, grain and partition column."""
    doc = TABLES[table]
    columns = [
        dg.TableColumn(
            name=name,
            type=_DUCKDB_TO_DAGSTER_TYPE.get(type_, type_.lower()),
            description=meaning,
            constraints=_accepted(doc.accepted_values.get(name)),
        )
        for name, type_, meaning in doc.columns
    ]
    metadata = {
        "dagster/column_schema": dg.TableSchema(columns=columns),
        "dagster/table_name": table,
        "grain": doc.grain,
    }
    if "as_of_date" in doc.column_names():
        metadata["partition_expr"] = "as_of_date"
    return metadata


def markdown_table(conn, query: str, params: list) -> dg.MetadataValue:
    """A query's result as a markdown table for the UI."""
    cursor = conn.execute(query, params)
    header = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rows]
    return dg.MetadataValue.md("\n".join(lines))


def daily_table_asset(
    key: dg.AssetKey, layer: str, contract: SourceContract, partitions_def: dg.PartitionsDefinition, **kwargs
):
    """``@asset`` for a per-source daily DuckDB table ``<layer>.<source>``.

    Single-run backfills (a range is one run that walks the days), the one-writer pool,
    owners, tags and the column schema shown in the UI.
    """
    return dg.asset(
        key=key,
        owners=OWNERS,
        tags={"layer": layer, "source": contract.name},
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=DUCKDB_WRITER_POOL,
        metadata={
            "dagster/column_schema": column_schema(contract),
            "dagster/table_name": f"{layer}.{contract.name}",
            "partition_expr": "_partition_date",
        },
        **kwargs,
    )


def partition_days(context: dg.AssetExecutionContext) -> list[dt.date]:
    """Days of the run's partition range, oldest first (one day for a normal run)."""
    window = context.partition_time_window
    start, end = window.start.date(), window.end.date()
    return [start + dt.timedelta(days=i) for i in range((end - start).days)]


class DayProgress:
    """Logs how far a multi-day step is: days done of N, elapsed time and an estimate of the rest.

    A line every ``every_seconds`` (and at the end), so a long backfill is never silent for
    minutes; ``lifecycle-pipeline backfill`` shows these lines as they come.
    """

    def __init__(self, context: dg.AssetExecutionContext, label: str, total: int, every_seconds: float = 15.0):
        self.context, self.label, self.total, self.every = context, label, total, every_seconds
        self.done = 0
        self.started = self.last = time.monotonic()

    def step(self, count: int = 1) -> None:
        self.done += count
        now = time.monotonic()
        if self.total > 1 and (now - self.last >= self.every or self.done == self.total):
            self.last = now
            self.context.log.info(progress_line(self.label, self.done, self.total, now - self.started))


def progress_line(label: str, done: int, total: int, elapsed: float) -> str:
    """``scoring/rfm_scores: 120 of 546 days (22 %), 40 s elapsed, about 2 min 22 s left``."""
    left = elapsed / done * (total - done) if done else 0.0
    estimate = f", about {_duration(left)} left" if done < total else ""
    return f"{label}: {done} of {total} days ({100 * done // total} %), {_duration(elapsed)} elapsed{estimate}"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def days_to_compute(context: dg.AssetExecutionContext, conn) -> tuple[list[dt.date], dict[dt.date, list[str]]]:
    """The run's days that no failed blocking check holds back, and the blocked ones with why.

    A blocked day (``quality.day_status``) is skipped while the other days of a backfill
    proceed; a run whose every day is blocked fails, naming the checks, so a scheduled day
    that is held back shows red in the UI.
    """
    days = partition_days(context)
    blocked = day_status.blocked_days(conn, days)
    for day, reasons in blocked.items():
        context.log.warning(f"{day} skipped: blocked by {'; '.join(reasons)} (release after review: "
                            f"lifecycle-pipeline release --day {day} --reason '…')")
    runnable = [d for d in days if d not in blocked]
    try:
        retention.check_recomputable(conn, runnable)
    except retention.DayPrunedError as exc:
        raise dg.Failure(description=str(exc)) from None
    if not runnable:
        lines = [f"{day}: {'; '.join(reasons)}" for day, reasons in blocked.items()]
        raise dg.Failure(description="every day of this run is blocked by a failed blocking check:\n"
                         + "\n".join(lines), metadata={"blocked_days": dg.MetadataValue.json(
                             {str(d): r for d, r in blocked.items()})})
    return runnable, blocked


def blocked_metadata(blocked: dict[dt.date, list[str]]) -> dict:
    """Materialization metadata naming the days a run skipped and why (empty when none)."""
    if not blocked:
        return {}
    return {"blocked_days": dg.MetadataValue.json({str(d): r for d, r in blocked.items()}),
            "days_blocked": dg.MetadataValue.int(len(blocked))}


# computed columns and the feature columns they are computed from (same-named columns are matched by name)
_COMPUTED_FROM = {
    "scoring.rfm_scores": {"r_score": ["recency_days"], "f_score": ["orders_365d"], "m_score": ["revenue_365d"],
                           "rfm_code": ["recency_days", "orders_365d", "revenue_365d"],
                           "rfm_segment": ["recency_days", "orders_365d", "revenue_365d"]},
    "scoring.health_scores": {
        "activity_component": ["active_days_30d"], "adoption_component": ["core_features_90d"],
        "service_component": ["csat_avg_180d"], "nps_component": ["latest_nps_score"],
        "health_score": ["active_days_30d", "core_features_90d", "csat_avg_180d", "latest_nps_score"]},
    "scoring.early_warnings": {"days_inactive": ["days_since_activity"], "days_without_aha": ["days_since_aha"],
                               "warning_tier": ["activity_30d", "activity_prior_90d", "days_since_activity",
                                                "days_since_aha", "gap_last_two_active_days"]},
    "scoring.customer_ltv": {"historical_ltv": ["revenue_lifetime"], "purchase_frequency": ["orders_lifetime"],
                             "expected_ltv": ["avg_order_value", "orders_lifetime"]},
    "lifecycle.customer_stage_daily": {"stage": ["recency_days", "orders_lifetime", "gap_last_two_orders_days",
                                                 "nps_category", "referrals_365d", "days_since_signup"],
                                       "gap_before_last_days": ["gap_last_two_orders_days"]},
}


def column_lineage(table: str, upstream: list[str]) -> dict:
    """``dagster/column_lineage`` of ``table`` from its ``upstream`` tables' dictionary entries: a column
    depends on the same-named columns upstream, a computed column on the inputs listed in ``_COMPUTED_FROM``."""
    computed = _COMPUTED_FROM.get(table, {})
    deps = {}
    for column in TABLES[table].column_names():
        found = [dg.TableColumnDep(asset_key=dg.AssetKey(source.split(".")), column_name=name)
                 for source in upstream for name in computed.get(column, [column])
                 if name in TABLES[source].column_names()]
        if found:
            deps[column] = found
    return {"dagster/column_lineage": dg.TableColumnLineage(deps_by_column=deps)}


def partition_row_count(rows_per_day: dict[dt.date, int]) -> dict:
    """Row counts of the run's days: ``dagster/partition_row_count`` when the run is one day (a range run
    records one materialization per partition with the same metadata), and the count of every day."""
    metadata = {"rows_per_day": dg.MetadataValue.json({str(d): n for d, n in sorted(rows_per_day.items())})}
    if len(rows_per_day) == 1:
        metadata["dagster/partition_row_count"] = dg.MetadataValue.int(next(iter(rows_per_day.values())))
    return metadata
