"""Clean layer: ``clean.<source>``, the validated rows every downstream asset reads."""

import dagster as dg

from lifecycle_pipeline import sql
from lifecycle_pipeline.assets.common import daily_table_asset, partition_days
from lifecycle_pipeline.contracts import SOURCES, SourceContract
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
            f"`quality.quarantine` with the rule and reason, so clean + quarantine = rows landed. Does not run for "
            f"a day whose blocking checks on `raw/{contract.name}` failed."
        ),
        deps=[dg.AssetKey(["raw", contract.name])],
        group_name="clean",
        kinds={"duckdb"},
    )
    def clean(context: dg.AssetExecutionContext, duckdb: WarehouseResource) -> dg.MaterializeResult:
        days = partition_days(context)
        window = {"first_day": days[0], "last_day": days[-1]}
        in_window = "_partition_date between $first_day and $last_day"
        with duckdb.get_connection() as conn:
            ensure_clean_tables(conn, [contract])
            with transaction(conn):
                conn.execute(f"delete from clean.{table} where {in_window}", window)
                conn.execute(
                    sql.load("quality/replace_clean_partition").format(table=table), {"source": contract.name, **window}
                )
            (rows,) = conn.execute(f"select count(*) from clean.{table} where {in_window}", window).fetchall()[0]
        return dg.MaterializeResult(metadata={"dagster/row_count": dg.MetadataValue.int(rows)})

    return clean


def build_clean_assets(partitions_def: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    return [build_clean_asset(contract, partitions_def) for contract in SOURCES.values()]
