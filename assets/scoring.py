"""Scoring layer: customer features and RFM scores per business day (DOMAIN.md, Scores)."""

import dagster as dg

from assets.common import DUCKDB_WRITER_POOL, OWNERS, partition_days
from lifecycle_pipeline.scoring import (
    FEATURES_TABLE,
    NPS_TABLE,
    RFM_TABLE,
    compute_customer_features,
    compute_nps_daily,
    compute_rfm,
)
from resources import ScoringConfig, WarehouseResource

CLEAN_INPUTS = ["customers", "orders", "events", "support_tickets", "nps_responses"]


def _segment_counts(conn, day) -> str:
    rows = conn.execute(
        f"select rfm_segment, count(*) from {RFM_TABLE} where as_of_date = ? group by 1 order by 2 desc", [day]
    ).fetchall()
    return "\n".join(["| segment | customers |", "|---|---|", *[f"| {s} | {n} |" for s, n in rows]])


def build_scoring_assets(partitions_def: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    common = {
        "group_name": "scoring",
        "kinds": {"duckdb"},
        "owners": OWNERS,
        "partitions_def": partitions_def,
        "backfill_policy": dg.BackfillPolicy.single_run(),
        "pool": DUCKDB_WRITER_POOL,
    }

    @dg.asset(
        key=dg.AssetKey(["scoring", "customer_features"]),
        deps=[dg.AssetKey(["clean", s]) for s in CLEAN_INPUTS],
        metadata={"dagster/table_name": f"lifecycle.{FEATURES_TABLE}", "partition_expr": "as_of_date"},
        **common,
    )
    def customer_features(context: dg.AssetExecutionContext, duckdb: WarehouseResource, scoring: ScoringConfig):
        """Per-customer features as of the end of each business day: `scoring.customer_features`, grain customer x
        as_of_date, for every customer known by then. First/last completed order, completed orders and net revenue
        (lifetime and trailing 365 days; refunds and cancellations excluded), average order value, days between the
        last two orders, recency, active days (last 30 / prior 90), core features used (90 days), referrals
        (365 days), average CSAT (180 days), latest NPS (365 days), days since any activity. Only data landed up to
        that day counts, so a backfill reproduces history. Rules: DOMAIN.md (Scores), SQL: sql/scoring/."""
        counts = {}
        with duckdb.get_connection() as conn:
            for day in partition_days(context):
                counts[day] = compute_customer_features(conn, day, duckdb.timezone, scoring.settings())
        last = max(counts)
        return dg.MaterializeResult(
            metadata={"dagster/row_count": dg.MetadataValue.int(counts[last]), "days": len(counts)}
        )

    @dg.asset(
        key=dg.AssetKey(["scoring", "rfm_scores"]),
        deps=[customer_features],
        metadata={"dagster/table_name": f"lifecycle.{RFM_TABLE}", "partition_expr": "as_of_date"},
        **common,
    )
    def rfm_scores(context: dg.AssetExecutionContext, duckdb: WarehouseResource):
        """RFM per buyer and business day: `scoring.rfm_scores`, grain customer x as_of_date over customers with at
        least one completed order. R (recency, 5 = most recent), F (completed orders, 365 days) and M (net revenue,
        365 days) scored 1-5 by rank-based quintiles (ceil(5 * cume_dist)), so equal values get equal scores; the
        RFM code (e.g. `545`) and the segment from the R x F map of DOMAIN.md (champions ... hibernating)."""
        counts = {}
        with duckdb.get_connection() as conn:
            for day in partition_days(context):
                counts[day] = compute_rfm(conn, day)
            last = max(counts)
            segments = _segment_counts(conn, last)
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": dg.MetadataValue.int(counts[last]),
                "segments": dg.MetadataValue.md(segments),
                "days": len(counts),
            }
        )

    @dg.asset(
        key=dg.AssetKey(["scoring", "nps_daily"]),
        deps=[dg.AssetKey(["clean", "nps_responses"])],
        metadata={"dagster/table_name": f"lifecycle.{NPS_TABLE}", "partition_expr": "as_of_date"},
        **common,
    )
    def nps_daily(context: dg.AssetExecutionContext, duckdb: WarehouseResource, scoring: ScoringConfig):
        """Company NPS per business day: `scoring.nps_daily`, one row per as_of_date over the trailing 90 days
        (configurable); each customer's latest answer counts once; 0-6 detractors, 7-8 passives, 9-10 promoters;
        NPS = % promoters - % detractors (DOMAIN.md, Scores). NULL with a note when nobody answered (a business
        without NPS data). The per-customer category is `nps_category` in `scoring.customer_features`."""
        with duckdb.get_connection() as conn:
            for day in partition_days(context):
                compute_nps_daily(conn, day, duckdb.timezone, scoring.settings())
            last = partition_days(context)[-1]
            respondents, nps = conn.execute(
                f"select respondents, nps from {NPS_TABLE} where as_of_date = ?", [last]
            ).fetchall()[0]
        return dg.MaterializeResult(
            metadata={
                "nps": dg.MetadataValue.float(float(nps)) if nps is not None else "no answers",
                "respondents": dg.MetadataValue.int(respondents),
            }
        )

    return [customer_features, rfm_scores, nps_daily]
