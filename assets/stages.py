"""Lifecycle layer (DOMAIN.md, Lifecycle stage and KPIs per day): the tables BI reads, schema `lifecycle`.

`lifecycle/customer_stage_daily`, `lifecycle/stage_history`, `lifecycle/stage_transitions_daily` and
`lifecycle/stage_counts_daily` are written together (one transaction per run) because each
day's previous stage, days in stage, spells and transitions depend on the neighbouring
days; `lifecycle/kpis_daily` follows. Rules: lifecycle_pipeline/stages.py, sql/stages/; descriptions and
columns: the dictionary entries beside the SQL (sql/stages/<table>.yml).
"""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from lifecycle_pipeline import stages as rules
from lifecycle_pipeline.assets import day_charts
from lifecycle_pipeline.assets.checks import table_check_evaluations, table_check_spec
from lifecycle_pipeline.assets.common import (
    DUCKDB_WRITER_POOL,
    OWNERS,
    DayProgress,
    blocked_metadata,
    column_lineage,
    days_to_compute,
    derived_table_metadata,
    markdown_table,
    partition_row_count,
)
from lifecycle_pipeline.dictionary import asset_description
from lifecycle_pipeline.resources import StageConfig, WarehouseResource
from lifecycle_pipeline.table_checks import STAGE_COUNTS_SUM, STAGE_ONE_PER_CUSTOMER, WARNING_TIERS_LIVE_ONLY
from lifecycle_pipeline.vocabulary import STAGES

_COMMON = {"group_name": "lifecycle", "kinds": {"duckdb", "matplotlib"}, "owners": OWNERS, "tags": {"layer": "lifecycle"}}
_SCORES = ["customer_features", "rfm_scores", "health_scores", "early_warnings", "customer_clv_predicted"]
# blocking checks on the stage tables BI reads (lifecycle_pipeline/table_checks.py)
STAGE_CHECKS = [STAGE_ONE_PER_CUSTOMER, WARNING_TIERS_LIVE_ONLY, STAGE_COUNTS_SUM]


def _spec(table: str, deps: list) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=dg.AssetKey(table.split(".")),
        deps=deps,
        description=asset_description(table),
        metadata=derived_table_metadata(table),
        **_COMMON,
    )


def _stage_results(
    context: dg.AssetExecutionContext, duckdb: WarehouseResource, stages: StageConfig, data_dir: Path
) -> Iterator[dg.MaterializeResult | dg.AssetCheckEvaluation | dg.Output]:
    """Write the stage tables of the run's days; one result per table with the last day's figures, then the
    blocking checks of the days written."""
    settings = stages.settings()
    with duckdb.get_connection() as conn:
        days, blocked = days_to_compute(context, conn)
        progress = DayProgress(context, "lifecycle stages", len(days))
        summary = rules.build_stage_days(conn, days, settings, on_day=lambda _day: progress.step())
        yield from _stage_materializations(conn, days, blocked, summary, settings.preset,
                                           day_charts.stage_charts(conn, data_dir, days[-1]))
        yield from table_check_evaluations(context, conn, STAGE_CHECKS, days, {})


def _stage_materializations(conn, days, blocked, summary, preset, charts) -> Iterator[dg.MaterializeResult]:
    last = days[-1]
    counts = markdown_table(
        conn, f"select stage, customers, share from {rules.COUNTS_TABLE} where as_of_date = ? "
              "order by stage_order", [last])
    moves = markdown_table(
        conn, f"select from_stage, to_stage, customers from {rules.TRANSITIONS_TABLE} where as_of_date = ? "
              "order by customers desc limit 20", [last])
    per_stage = dict(conn.execute(
        f"select stage, customers from {rules.COUNTS_TABLE} where as_of_date = ?", [last]).fetchall())
    spells, open_spells = conn.execute(
        f"select count(*), count(*) filter (where valid_to is null) from {rules.HISTORY_TABLE}"
    ).fetchall()[0]
    rows = summary["rows"][last]
    yield dg.MaterializeResult(
        asset_key=dg.AssetKey(rules.DAILY_TABLE.split(".")),
        metadata={"dagster/row_count": dg.MetadataValue.int(rows), "days": len(days), "preset": preset,
                  "stage_counts": counts, **blocked_metadata(blocked),
                  **partition_row_count({d: summary["rows"][d] for d in days}),
                  **column_lineage(rules.DAILY_TABLE, [f"scoring.{name}" for name in _SCORES])},
    )
    yield dg.MaterializeResult(
        asset_key=dg.AssetKey(rules.HISTORY_TABLE.split(".")),
        metadata={"dagster/row_count": dg.MetadataValue.int(spells), "open_spells": open_spells},
    )
    yield dg.MaterializeResult(
        asset_key=dg.AssetKey(rules.TRANSITIONS_TABLE.split(".")),
        metadata={"transitions": moves, "days_rebuilt": len(summary["transition_days"]),
                  **charts[rules.TRANSITIONS_TABLE.replace(".", "/")]},
    )
    yield dg.MaterializeResult(
        asset_key=dg.AssetKey(rules.COUNTS_TABLE.split(".")),
        # one number per stage, so the UI charts the stages over the partitions
        metadata={"stage_counts": counts, "known_customers": dg.MetadataValue.int(rows),
                  **charts[rules.COUNTS_TABLE.replace(".", "/")],
                  **{f"customers_{stage}": dg.MetadataValue.int(per_stage[stage]) for stage in STAGES}},
    )


def _kpis_result(
    context: dg.AssetExecutionContext, duckdb: WarehouseResource, stages: StageConfig
) -> dg.MaterializeResult:
    """Write the KPIs of the run's days; the last day's KPIs as metadata."""
    settings = stages.settings()
    with duckdb.get_connection() as conn:
        days, _ = days_to_compute(context, conn)
        for day in days:
            rules.compute_kpis(conn, day, duckdb.timezone, settings)
        latest = markdown_table(
            conn, f"select * exclude (as_of_date) from {rules.KPIS_TABLE} where as_of_date = ?", [days[-1]])
        cursor = conn.execute(f"select * from {rules.KPIS_TABLE} where as_of_date = ?", [days[-1]])
        values = dict(zip([d[0] for d in cursor.description], cursor.fetchall()[0]))
    # numbers the UI can chart over partitions
    charted = {name: dg.MetadataValue.float(float(values[name])) for name in
               ("known_customers", "daily_active_customers", "retention_30d", "repurchase_rate", "nps")
               if values[name] is not None}
    return dg.MaterializeResult(metadata={"kpis": latest, "days": len(days), **charted})


def build_stage_assets(partitions_def: dg.PartitionsDefinition, data_dir: Path) -> list[dg.AssetsDefinition]:
    score_keys = [dg.AssetKey(["scoring", name]) for name in _SCORES]
    daily_key = dg.AssetKey(rules.DAILY_TABLE.split("."))
    written_together = [
        _spec(rules.DAILY_TABLE, score_keys),
        _spec(rules.HISTORY_TABLE, [daily_key]),
        _spec(rules.TRANSITIONS_TABLE, [daily_key]),
        _spec(rules.COUNTS_TABLE, [daily_key]),
    ]

    @dg.multi_asset(
        specs=written_together,
        check_specs=[table_check_spec(check, partitions_def) for check in STAGE_CHECKS],
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=DUCKDB_WRITER_POOL,
        name="lifecycle_stages",
    )
    def lifecycle_stages(context: dg.AssetExecutionContext, duckdb: WarehouseResource, stages: StageConfig):
        yield from _stage_results(context, duckdb, stages, data_dir)

    @dg.asset(
        key=dg.AssetKey(rules.KPIS_TABLE.split(".")),
        deps=[daily_key, dg.AssetKey(["scoring", "nps_daily"]), dg.AssetKey(["clean", "orders"]),
              dg.AssetKey(["clean", "events"])],
        description=asset_description(rules.KPIS_TABLE),
        metadata=derived_table_metadata(rules.KPIS_TABLE),
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=DUCKDB_WRITER_POOL,
        **_COMMON,
    )
    def kpis_daily(context: dg.AssetExecutionContext, duckdb: WarehouseResource, stages: StageConfig):
        return _kpis_result(context, duckdb, stages)

    return [lifecycle_stages, kpis_daily]
