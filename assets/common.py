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
