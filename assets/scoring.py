"""Scoring layer (DOMAIN.md, Scores and Early-warning tiers): one table per score, one row set per business day.

Each asset is a thin wrapper: for every day of its partition range it calls the pure
function in ``lifecycle_pipeline.scoring`` (SQL in ``sql/scoring/``) and reports the
last day's figures as metadata.
"""

from collections.abc import Callable

import dagster as dg

from assets.common import DUCKDB_WRITER_POOL, OWNERS, derived_table_metadata, markdown_table, partition_days
from lifecycle_pipeline import scoring as rules
from resources import ScoringConfig, WarehouseResource

CLEAN_INPUTS = ["customers", "orders", "events", "support_tickets", "nps_responses"]


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


def _scoring_asset(name: str, table: str, deps: list, compute: Callable, summary: Callable, partitions_def):
    """A daily scoring asset writing ``table`` with ``compute(conn, day, timezone, settings)`` per day."""

    @dg.asset(
        key=dg.AssetKey(["scoring", name]),
        deps=deps,
        group_name="scoring",
        kinds={"duckdb"},
        owners=OWNERS,
        tags={"layer": "scoring"},
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=DUCKDB_WRITER_POOL,
        metadata=derived_table_metadata(table),
        description=compute.__doc__,
    )
    def _asset(context: dg.AssetExecutionContext, duckdb: WarehouseResource, scoring: ScoringConfig):
        settings = scoring.settings()
        days = partition_days(context)
        with duckdb.get_connection() as conn:
            for day in days:
                rows = compute(conn, day, duckdb.timezone, settings)
                context.log.debug(f"{table} {day}: {rows} rows")
            metadata = {"dagster/row_count": dg.MetadataValue.int(rows), "days": len(days)}
            metadata |= summary(conn, table, days[-1])
        return dg.MaterializeResult(metadata=metadata)

    return _asset


def build_scoring_assets(partitions_def: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    clean = [dg.AssetKey(["clean", s]) for s in CLEAN_INPUTS]
    features_key = dg.AssetKey(["scoring", "customer_features"])
    ltv_key = dg.AssetKey(["scoring", "customer_ltv"])
    specs = [
        ("customer_features", rules.FEATURES_TABLE, clean, features_doc, _preview),
        ("rfm_scores", rules.RFM_TABLE, [features_key], rfm_doc, _counts_by("rfm_segment")),
        ("nps_daily", rules.NPS_TABLE, [dg.AssetKey(["clean", "nps_responses"])], nps_doc, _nps_summary),
        ("health_scores", rules.HEALTH_TABLE, [features_key, dg.AssetKey(["clean", "events"])], health_doc,
         _counts_by("health_band")),
        ("early_warnings", rules.WARNINGS_TABLE, [features_key], warnings_doc, _counts_by("warning_tier")),
        ("customer_ltv", rules.LTV_TABLE, [features_key], ltv_doc, _ltv_summary),
        ("channel_economics", rules.CHANNELS_TABLE, [ltv_key, dg.AssetKey(["clean", "marketing_spend"])],
         channels_doc, _channel_summary),
    ]
    return [_scoring_asset(*spec, partitions_def=partitions_def) for spec in specs]


# The compute wrappers below carry the descriptions users read in the UI.


def features_doc(conn, day, timezone, settings):
    """Per-customer features as of the end of each business day: `scoring.customer_features`, grain customer x
    as_of_date, for every customer known by then. First/last completed order, completed orders and net revenue
    (lifetime and trailing 365 days; refunds and cancellations excluded), average order value, days between the
    last two orders, recency, active days and activity (last 30 days / the 90 before), core features used
    (90 days), referrals (365 days), average CSAT (180 days), latest NPS (365 days) and its category, days since
    any activity / an aha action / signup. Only data landed up to that day counts, so a backfill reproduces
    history. Rules: DOMAIN.md (Scores); SQL: sql/scoring/customer_features.sql."""
    return rules.compute_customer_features(conn, day, timezone, settings)


def rfm_doc(conn, day, timezone, settings):
    """RFM per buyer and business day: `scoring.rfm_scores`, grain customer x as_of_date over customers with at
    least one completed order. R (recency, 5 = most recent), F (completed orders, 365 days) and M (net revenue,
    365 days) scored 1-5 by rank-based quintiles (floor(5 x share strictly below) + 1), so equal values get
    equal scores whatever the row order; the RFM code (e.g. `545`) and the segment from the R x F map of
    DOMAIN.md (champions ... hibernating). SQL: sql/scoring/rfm_scores.sql."""
    return rules.compute_rfm(conn, day)


def nps_doc(conn, day, timezone, settings):
    """Company NPS per business day: `scoring.nps_daily`, one row per as_of_date over the trailing 90 days
    (configurable); each customer's latest answer counts once; 0-6 detractors, 7-8 passives, 9-10 promoters;
    NPS = % promoters - % detractors (DOMAIN.md, Scores). NULL with a note when nobody answered (a business
    without NPS data). The per-customer category is `nps_category` in `scoring.customer_features`."""
    return rules.compute_nps_daily(conn, day, timezone, settings)


def health_doc(conn, day, timezone, settings):
    """Customer health score 0-100 per business day: `scoring.health_scores`, grain customer x as_of_date.
    Components (each 0-100): activity frequency 40 %, feature-adoption breadth 30 %, service quality (CSAT)
    20 %, feedback (NPS) 10 % (DOMAIN.md, Scores; weights configurable). A component without data is NULL and
    its weight is spread over the others; `components_present` lists what counted. Bands: healthy >= 85,
    stable 60-84, concerning 40-59, critical < 40. SQL: sql/scoring/health_scores.sql."""
    return rules.compute_health(conn, day, settings)


def warnings_doc(conn, day, timezone, settings):
    """Early-warning tier per customer and business day: `scoring.early_warnings`, grain customer x as_of_date.
    For customers not yet dormant or churned: tier 3 no activity for 60 days, tier 2 no aha action (core
    feature use or an order) for 14 days, tier 1 activity in the last 30 days at least 30 % below the
    customer's own 30-day average of the 90 days before; the highest wins and `warning_reason` says what fired
    with the figures (DOMAIN.md, Early-warning tiers). SQL: sql/scoring/early_warnings.sql."""
    return rules.compute_early_warnings(conn, day, settings)


def ltv_doc(conn, day, timezone, settings):
    """Customer lifetime value per business day: `scoring.customer_ltv`, grain customer x as_of_date.
    Historical LTV = net revenue to date; expected LTV = average order value x purchase frequency (orders per
    year) x expected lifetime (3 years) x gross margin (0.3), all configurable (DOMAIN.md, Scores).
    SQL: sql/scoring/customer_ltv.sql."""
    return rules.compute_ltv(conn, day, settings)


def channels_doc(conn, day, timezone, settings):
    """Acquisition-channel economics per business day: `scoring.channel_economics`, grain channel x as_of_date.
    New customers, spend and CAC (that day and over 30 days), the average historical and expected LTV of the
    channel's cohort (customers acquired in 365 days), LTV/CAC and a flag: unprofitable < 1, scale > 3
    (DOMAIN.md, Scores: keep channels with LTV/CAC > 3). SQL: sql/scoring/channel_economics.sql."""
    return rules.compute_channel_economics(conn, day, settings)
