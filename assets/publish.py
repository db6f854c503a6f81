"""BI serving layer: `bi/published_days` publishes the run's days for BI tools (lifecycle_pipeline/publish.py).

BI tools must not open the warehouse (a reader's lock makes every run fail), so after the
final tables of a day are written this asset copies them to Parquet under the BI folder,
switches the manifest, and keeps the views-only DuckDB file `lifecycle_bi.duckdb` that BI
tools open read-only. It depends on every final table, so a run whose upstream step failed
stops before it and a day is published only when everything before it succeeded.
"""

import datetime as dt

import dagster as dg

from lifecycle_pipeline import publish, retention
from lifecycle_pipeline.assets import day_charts
from lifecycle_pipeline.assets.common import DUCKDB_WRITER_POOL, OWNERS, blocked_metadata, days_to_compute
from lifecycle_pipeline.contracts import SOURCES
from lifecycle_pipeline.dictionary import TABLES
from lifecycle_pipeline.resources import WarehouseResource
from lifecycle_pipeline.settings import ProjectSettings

PUBLISHED_DAYS_KEY = dg.AssetKey(["bi", "published_days"])


def _rows_table(rows: dict[str, int]) -> dg.MetadataValue:
    lines = ["| table | rows |", "|---|---|"] + [f"| {table} | {n:,} |" for table, n in rows.items()]
    return dg.MetadataValue.md("\n".join(lines))


def build_publish_assets(partitions_def: dg.PartitionsDefinition, settings: ProjectSettings) -> list[dg.AssetsDefinition]:
    deps = [dg.AssetKey(name.split(".")) for name, doc in sorted(TABLES.items()) if not doc.internal_to]
    deps += [dg.AssetKey(["clean", source]) for source in SOURCES]  # the data-quality summary
    bi_dir = settings.bi_dir
    grace = dt.timedelta(hours=settings.bi_grace_hours)
    days_kept = settings.customer_days_kept

    @dg.asset(
        key=PUBLISHED_DAYS_KEY,
        deps=deps,
        group_name="bi",
        kinds={"duckdb", "parquet", "matplotlib"},
        owners=OWNERS,
        tags={"layer": "bi"},
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=DUCKDB_WRITER_POOL,
        description=(
            f"The read-only serving layer for BI tools: every day's lifecycle, scoring and outreach tables and a "
            f"data-quality summary as Parquet under `{bi_dir}`, a manifest naming the current file of each table "
            f"and day, and `{publish.BI_FILE}` (views only, same table names and column comments) that BI tools "
            "open read-only while the pipeline keeps writing the warehouse. A day appears whole, after all its "
            "tables are written and checked, or not at all. After publishing, the warehouse keeps only the newest "
            f"{'all' if days_kept is None else days_kept} days of the customer x day tables "
            "(LIFECYCLE_CUSTOMER_DAYS_KEPT; the BI layer keeps every day). See docs/bi.md."
        ),
    )
    def published_days(context: dg.AssetExecutionContext, duckdb: WarehouseResource) -> dg.MaterializeResult:
        with duckdb.get_connection() as conn:
            days, blocked = days_to_compute(context, conn)  # a day held back by a failed check is not published
            result = publish.publish_days(conn, days, bi_dir, grace=grace, log=context.log.info)
            # only now that every day is in the BI layer: the warehouse keeps the newest days of customer x day rows
            pruned = retention.prune(conn, days_kept)
            chart = day_charts.quarantine_chart(conn, settings.data_dir, days[-1])
            if any(pruned.values()):
                context.log.info(f"retention ({days_kept} days): deleted {pruned}")
        last = result.rows_of_day(days[-1])
        return dg.MaterializeResult(
            metadata={
                "days": dg.MetadataValue.int(len(result.days)),
                **blocked_metadata(blocked),
                "first_day": str(result.days[0]),
                "last_day": str(result.days[-1]),
                "published_through": str(result.published_through),
                "publish_id": result.publish_id,
                "rows_last_day": _rows_table(last),
                "dagster/row_count": dg.MetadataValue.int(last.get("lifecycle.customer_stage_daily", 0)),
                "files_written": dg.MetadataValue.int(result.files_written),
                "bytes_written": dg.MetadataValue.int(result.bytes_written),
                "later_days_republished": dg.MetadataValue.int(len(result.later_days)),
                "files_deleted_after_grace": dg.MetadataValue.int(result.files_deleted),
                "bi_file": dg.MetadataValue.path(str(result.bi_file)),
                "bi_file_rebuilt": result.bi_file_rebuilt,
                "seconds": dg.MetadataValue.float(round(result.seconds, 2)),
                "customer_days_kept": "all" if days_kept is None else dg.MetadataValue.int(days_kept),
                "rows_pruned": dg.MetadataValue.int(sum(pruned.values())),
                **chart,  # quarantined rows by source and rule, last 30 days
            }
        )

    return [published_days]
