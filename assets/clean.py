"""Clean layer: ``clean.<source>``, the validated rows every downstream asset reads.

A day its source blocks (``quality.day_status``: a blocking check failed and nobody
released it) gets no clean rows: the raw rows stay in ``raw.<source>``, the reasons in
``quality.day_status`` and the quarantine, and the day's earlier clean rows are removed,
so raw and clean never disagree about a day that is held back.
"""

import dagster as dg

from lifecycle_pipeline import day_status, sql
from lifecycle_pipeline.assets.common import daily_table_asset, partition_days
from lifecycle_pipeline.contracts import SOURCES, SourceContract
from lifecycle_pipeline.customer_state import ensure_loads_table, record_clean_load
from lifecycle_pipeline.db import quote_ident, transaction
from lifecycle_pipeline.loading import ensure_clean_tables
from lifecycle_pipeline.resources import WarehouseResource


def build_clean_asset(contract: SourceContract, partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    table = quote_ident(contract.name)

    @daily_table_asset(
        dg.AssetKey(["clean", contract.name]),
        "clean",
        contract,
        partitions_def,
        description=(
            f"Validated {contract.name}: `clean.{contract.name}`, grain: one landed row that passed every critical "
            f"Great Expectations rule of its day (same columns as `raw.{contract.name}`). Rows that failed are in "
            f"`quality.quarantine` with the rule and reason, so clean + quarantine = rows landed. A day that "
            f"`raw/{contract.name}` blocks (`quality.day_status`) has no clean rows until it passes or is released."
        ),
        deps=[dg.AssetKey(["raw", contract.name])],
        group_name="clean",
        kinds={"duckdb"},
    )
    def clean(context: dg.AssetExecutionContext, duckdb: WarehouseResource) -> dg.MaterializeResult:
        days = partition_days(context)
        window = {"first_day": days[0], "last_day": days[-1]}
        params = {"source": contract.name, **window}
        in_window = "_partition_date between $first_day and $last_day"
        with duckdb.get_connection() as conn:
            ensure_clean_tables(conn, [contract])
            day_status.ensure_table(conn)
            ensure_loads_table(conn)
            blocked = conn.execute(sql.load("quality/blocked_source_days"), params).fetchall()
            with transaction(conn):
                conn.execute(f"delete from clean.{table} where {in_window}", window)
                conn.execute(sql.load("quality/replace_clean_partition").format(table=table), params)
                record_clean_load(conn, contract.name, days[0], days[-1])
            (rows,) = conn.execute(f"select count(*) from clean.{table} where {in_window}", window).fetchall()[0]
        blocked_days = [{"day": day.isoformat(), "reasons": list(reasons)} for day, reasons in blocked]
        if blocked_days:
            context.log.warning(f"clean.{contract.name}: no rows for blocked days {blocked_days}")
        return dg.MaterializeResult(metadata={
            "dagster/row_count": dg.MetadataValue.int(rows),
            "blocked_days": dg.MetadataValue.json(blocked_days),
            "days_blocked": dg.MetadataValue.int(len(blocked_days)),
        })

    return clean


def build_clean_assets(partitions_def: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    return [build_clean_asset(contract, partitions_def) for contract in SOURCES.values()]
