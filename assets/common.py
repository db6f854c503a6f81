"""What every daily table asset shares: the writer pool, owners, schema metadata, day ranges."""

import datetime as dt

import dagster as dg

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


def derived_table_metadata(table: str) -> dict:
    """Definition metadata of a derived table: its documented columns, table name and partition column."""
    doc = TABLES[table]
    columns = [
        dg.TableColumn(name=name, type=_DUCKDB_TO_DAGSTER_TYPE.get(type_, type_.lower()), description=meaning)
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
