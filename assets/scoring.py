"""Scoring layer (DOMAIN.md, Scores and Early-warning tiers): one table per score, one row set per business day.

Each asset is a thin wrapper: for every day of its partition range it calls the pure
function in ``lifecycle_pipeline.scoring`` (SQL in ``sql/scoring/``) and reports the
last day's figures as metadata.
"""

from collections.abc import Callable
from pathlib import Path

import dagster as dg

from lifecycle_pipeline import scoring as rules
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
from lifecycle_pipeline.resources import ScoringConfig, StageConfig, WarehouseResource
from lifecycle_pipeline.table_checks import HEALTH_SCORE_VALID, LTV_NON_NEGATIVE

CLEAN_INPUTS = ["customers", "orders", "events", "support_tickets", "nps_responses"]
# blocking checks on the scores BI reads (lifecycle_pipeline/table_checks.py)
CHECKS = {rules.HEALTH_TABLE: [HEALTH_SCORE_VALID], rules.LTV_TABLE: [LTV_NON_NEGATIVE]}
# the scores computed from the features (their column lineage)
LINEAGE = {t: [rules.FEATURES_TABLE] for t in (rules.RFM_TABLE, rules.HEALTH_TABLE, rules.WARNINGS_TABLE, rules.LTV_TABLE)}
# the chart on a score's materialization: (conn, data dir, day) -> metadata (assets/day_charts.py)
CHARTS = {rules.RFM_TABLE: day_charts.rfm_chart, rules.HEALTH_TABLE: day_charts.health_chart,
          rules.WARNINGS_TABLE: day_charts.warning_chart}


def _counts_by(column: str) -> Callable:
    def summary(conn, table, day):
        query = f"select {column}, count(*) as customers from {table} where as_of_date = ? group by 1 order by 1"
        return {f"{column}_counts": markdown_table(conn, query, [day])}

    return summary


def _nps_summary(conn, table, day):
    respondents, nps = conn.execute(f"select respondents, nps from {table} where as_of_date = ?", [day]).fetchall()[0]
    return {
        "nps": dg.MetadataValue.float(float(nps)) if nps is not None else "no answers",
        "respondents": dg.MetadataValue.int(respondents),
    }


def _channel_summary(conn, table, day):
    query = (
        f"select channel, new_customers_window, spend_window, cac_window, avg_expected_ltv, ltv_to_cac, ltv_cac_flag "
        f"from {table} where as_of_date = ? order by channel"
    )
    return {"channels": markdown_table(conn, query, [day])}


def _ltv_summary(conn, table, day):
    total, expected = conn.execute(
        f"select sum(historical_ltv), avg(expected_ltv) from {table} where as_of_date = ?", [day]
    ).fetchall()[0]
    return {
        "historical_ltv_total": dg.MetadataValue.float(float(total or 0)),
        "avg_expected_ltv": dg.MetadataValue.float(float(expected or 0)),
    }


def _preview(conn, table, day):
    query = f"select * exclude (as_of_date) from {table} where as_of_date = ? order by all limit 5"
    return {"preview": markdown_table(conn, query, [day])}


def _scoring_asset(name: str, table: str, deps: list, compute: Callable, summary: Callable, partitions_def,
                   data_dir: Path):
    """A daily scoring asset writing ``table`` with ``compute(conn, day, timezone, settings, lifecycle)`` per day,
    with the blocking checks of ``table`` (``CHECKS``) run on the days written and its chart (``CHARTS``)."""
    checks = CHECKS.get(table, [])
    chart = CHARTS.get(table)

    @dg.asset(
        key=dg.AssetKey(["scoring", name]),
        deps=deps,
        group_name="scoring",
        kinds={"duckdb", "matplotlib"} if chart else {"duckdb"},
        owners=OWNERS,
        tags={"layer": "scoring"},
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=DUCKDB_WRITER_POOL,
        metadata=derived_table_metadata(table),
        description=asset_description(table),
        check_specs=[table_check_spec(check, partitions_def) for check in checks],
    )
    def _asset(
        context: dg.AssetExecutionContext, duckdb: WarehouseResource, scoring: ScoringConfig, stages: StageConfig
    ):
        settings, lifecycle = scoring.settings(), stages.settings()
        with duckdb.get_connection() as conn:
            days, blocked = days_to_compute(context, conn)
            progress = DayProgress(context, f"scoring/{name}", len(days))
            rows_per_day = {}
            for day in days:
                rows = rows_per_day[day] = compute(conn, day, duckdb.timezone, settings, lifecycle)
                context.log.debug(f"{table} {day}: {rows} rows")
                progress.step()
            metadata = {"dagster/row_count": dg.MetadataValue.int(rows), "days": len(days), **blocked_metadata(blocked),
                        **partition_row_count(rows_per_day)}
            if table in LINEAGE:
                metadata |= column_lineage(table, LINEAGE[table])
            metadata |= summary(conn, table, days[-1])
            if chart:
                metadata |= chart(conn, data_dir, days[-1])
            yield dg.MaterializeResult(metadata=metadata)
            yield from table_check_evaluations(context, conn, checks, days, settings.params())

    return _asset


# (asset name, table, upstream asset names, compute, metadata summary): compute takes
# (conn, day, timezone, scoring settings, lifecycle stage settings) and returns the day's row count
_SPECS = [
    ("customer_features", rules.FEATURES_TABLE, [f"clean/{s}" for s in CLEAN_INPUTS],
     lambda conn, day, tz, s, _: rules.compute_customer_features(conn, day, tz, s), _preview),
    ("rfm_scores", rules.RFM_TABLE, ["scoring/customer_features"],
     lambda conn, day, tz, s, lifecycle: rules.compute_rfm(conn, day, lifecycle), _counts_by("rfm_segment")),
    ("nps_daily", rules.NPS_TABLE, ["clean/nps_responses"],
     lambda conn, day, tz, s, _: rules.compute_nps_daily(conn, day, tz, s), _nps_summary),
    ("health_scores", rules.HEALTH_TABLE, ["scoring/customer_features", "clean/events"],
     lambda conn, day, tz, s, _: rules.compute_health(conn, day, s), _counts_by("health_band")),
    ("early_warnings", rules.WARNINGS_TABLE, ["scoring/customer_features"],
     lambda conn, day, tz, s, lifecycle: rules.compute_early_warnings(conn, day, s, lifecycle),
     _counts_by("warning_tier")),
    ("customer_ltv", rules.LTV_TABLE, ["scoring/customer_features"],
     lambda conn, day, tz, s, _: rules.compute_ltv(conn, day, s), _ltv_summary),
    ("channel_economics", rules.CHANNELS_TABLE, ["scoring/customer_ltv", "scoring/customer_clv_predicted",
                                                 "clean/marketing_spend"],
     lambda conn, day, tz, s, _: rules.compute_channel_economics(conn, day, s), _channel_summary),
]


def build_scoring_assets(partitions_def: dg.PartitionsDefinition, data_dir: Path) -> list[dg.AssetsDefinition]:
    return [
        _scoring_asset(name, table, [dg.AssetKey(d.split("/")) for d in deps], compute, summary, partitions_def,
                       data_dir)
        for name, table, deps, compute, summary in _SPECS
    ]
