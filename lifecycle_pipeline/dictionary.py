"""The data dictionary of the derived tables: the public contract BI tools read.

One entry per table: its grain, what it holds, and every column with its DuckDB type and
meaning. The same entries feed the column schema shown in the Dagster UI, the
``COMMENT ON`` descriptions stored in DuckDB (visible to any SQL client), and
``docs/data_dictionary.md``. A test checks each materialized table against its entry, so
the documentation cannot drift from the tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from lifecycle_pipeline.db import quote_ident


@dataclass(frozen=True)
class TableDoc:
    name: str  # schema.table
    grain: str
    description: str
    columns: tuple[tuple[str, str, str], ...]  # (name, DuckDB type, meaning)

    def column_names(self) -> list[str]:
        return [c[0] for c in self.columns]


AS_OF = ("as_of_date", "DATE", "Business day the row describes, as of its end (partition key).")
CUSTOMER = ("customer_id", "VARCHAR", "Customer identifier (customers.customer_id).")

TABLES: dict[str, TableDoc] = {}


def _doc(name: str, grain: str, description: str, *columns: tuple[str, str, str]) -> TableDoc:
    TABLES[name] = TableDoc(name, grain, description, tuple(columns))
    return TABLES[name]


_doc(
    "scoring.customer_features", "customer x as_of_date (every customer known by that day)",
    "Per-customer behaviour as of the end of each day; only data landed up to that day counts.",
    AS_OF, CUSTOMER,
    ("signup_at", "TIMESTAMP WITH TIME ZONE", "Registration time."),
    ("acquisition_channel", "VARCHAR", "Channel that acquired the customer (NULL = not given)."),
    ("segment", "VARCHAR", "Plan or customer segment from the customer record."),
    ("first_order_at", "TIMESTAMP WITH TIME ZONE", "First completed order (NULL = none)."),
    ("last_order_at", "TIMESTAMP WITH TIME ZONE", "Last completed order (NULL = none)."),
    ("orders_lifetime", "BIGINT", "Completed orders to date (refunded and cancelled orders excluded)."),
    ("orders_365d", "BIGINT", "Completed orders in the trailing 365 days (rfm_window_days)."),
    ("revenue_lifetime", "DECIMAL(18,2)", "Net revenue of completed orders to date."),
    ("revenue_365d", "DECIMAL(18,2)", "Net revenue of completed orders in the trailing 365 days."),
    ("avg_order_value", "DECIMAL(18,2)", "revenue_lifetime / orders_lifetime (NULL = no orders)."),
    ("gap_last_two_orders_days", "BIGINT", "Days between the last two completed orders (NULL = fewer than 2)."),
    ("recency_days", "BIGINT", "Days from the last completed order to as_of_date (NULL = no order)."),
    ("active_days_30d", "BIGINT", "Days with at least one event in the last 30 days (recent_days)."),
    ("active_days_prior_90d", "BIGINT", "Days with an event in the 90 days before those 30 (baseline_days)."),
    ("activity_30d", "BIGINT", "Events + completed orders in the last 30 days."),
    ("activity_prior_90d", "BIGINT", "Events + completed orders in the 90 days before the last 30."),
    ("core_features_90d", "BIGINT", "Distinct core features used (core_feature_use events) in 90 days."),
    ("referrals_365d", "BIGINT", "referral_sent events in the trailing 365 days."),
    ("referred_signups_365d", "BIGINT", "Customers who signed up in 365 days naming this one as referred_by."),
    ("csat_avg_180d", "DOUBLE", "Average CSAT (1-5) of tickets resolved in 180 days (NULL = none rated)."),
    ("latest_nps_score", "SMALLINT", "Latest NPS answer (0-10) in 365 days (NULL = none)."),
    ("nps_category", "VARCHAR", "promoter (>= 9) / passive (7-8) / detractor (0-6) of that answer."),
    ("days_since_activity", "BIGINT", "Days since any event, order, ticket or NPS answer (NULL = none)."),
    ("days_since_aha", "BIGINT", "Days since an aha event (aha_event_types) or completed order (NULL = none)."),
    ("days_since_signup", "BIGINT", "Days since registration."),
)
_doc(
    "scoring.rfm_scores", "buyer x as_of_date (customers with at least one completed order)",
    "RFM scores 1-5 by rank-based quintiles (equal values, equal scores) and the R x F segment.",
    AS_OF, CUSTOMER,
    ("recency_days", "BIGINT", "Days since the last completed order (R input; fewer is better)."),
    ("orders_365d", "BIGINT", "Completed orders in the trailing window (F input)."),
    ("revenue_365d", "DECIMAL(18,2)", "Net revenue in the trailing window (M input)."),
    ("r_score", "INTEGER", "Recency score 1-5 (5 = most recent)."),
    ("f_score", "INTEGER", "Frequency score 1-5."),
    ("m_score", "INTEGER", "Monetary score 1-5."),
    ("rfm_code", "VARCHAR", "R, F and M scores as a string, e.g. '545'."),
    ("rfm_segment", "VARCHAR", "Segment of the R x F cell (champions ... hibernating), DOMAIN.md."),
)
_doc(
    "scoring.nps_daily", "as_of_date",
    "Company NPS over the trailing 90 days; each customer's latest answer counts once.",
    AS_OF,
    ("respondents", "BIGINT", "Customers with an answer in the window."),
    ("promoters", "BIGINT", "Respondents whose latest answer is 9-10."),
    ("passives", "BIGINT", "Respondents whose latest answer is 7-8."),
    ("detractors", "BIGINT", "Respondents whose latest answer is 0-6."),
    ("nps", "DOUBLE", "% promoters - % detractors, -100..100 (NULL = no answers)."),
    ("note", "VARCHAR", "Why nps is NULL, if it is."),
)
_doc(
    "scoring.health_scores", "customer x as_of_date",
    "Health score 0-100: activity 40 %, adoption 30 %, service 20 %, NPS 10 %; missing components' "
    "weights are spread over the present ones.",
    AS_OF, CUSTOMER,
    ("health_score", "DOUBLE", "Weighted mean of the present components, 0-100, 0.1 steps (NULL = none)."),
    ("health_band", "VARCHAR", "healthy (>= 85), stable (60-84.9), concerning (40-59.9), critical (< 40)."),
    ("activity_component", "DOUBLE", "Active days in 30 days / 12 x 100, capped (NULL = no event data)."),
    ("adoption_component", "DOUBLE", "Core features used in 90 days / 4 x 100, capped (NULL = no event data)."),
    ("service_component", "DOUBLE", "(average CSAT in 180 days - 1) x 25 (NULL = no rated ticket)."),
    ("nps_component", "DOUBLE", "Latest NPS answer in 365 days x 10 (NULL = no answer)."),
    ("components_present", "VARCHAR[]", "Components that had data: activity, adoption, service, nps."),
    ("missing_note", "VARCHAR", "Why components are missing."),
)
_doc(
    "scoring.early_warnings", "customer x as_of_date",
    "Early-warning tier 0-3 (highest that applies) for customers not yet dormant or churned.",
    AS_OF, CUSTOMER,
    ("warning_tier", "INTEGER", "0 none, 1 activity drop, 2 no aha action, 3 no activity."),
    ("warning_signal", "VARCHAR", "activity_drop / no_aha_action / no_activity (NULL for tier 0)."),
    ("warning_reason", "VARCHAR", "What fired, with the figures and threshold; or why not tiered."),
    ("days_inactive", "BIGINT", "Days without any activity (counted from signup if never active)."),
    ("days_without_aha", "BIGINT", "Days without an aha action (counted from signup if none yet)."),
    ("activity_30d", "BIGINT", "Events + completed orders in the last 30 days."),
    ("activity_prior_90d", "BIGINT", "Events + completed orders in the 90 days before."),
)
_doc(
    "scoring.customer_ltv", "customer x as_of_date",
    "Historical LTV (net revenue to date) and expected LTV = AOV x frequency x lifetime x margin.",
    AS_OF, CUSTOMER,
    ("acquisition_channel", "VARCHAR", "Channel that acquired the customer ('unknown' if not given)."),
    ("signup_at", "TIMESTAMP WITH TIME ZONE", "Registration time."),
    ("orders_lifetime", "BIGINT", "Completed orders to date."),
    ("historical_ltv", "DECIMAL(18,2)", "Net revenue to date."),
    ("avg_order_value", "DECIMAL(18,2)", "Average completed order value (NULL = no orders)."),
    ("purchase_frequency", "DOUBLE", "Completed orders per year (trailing window, annualised)."),
    ("expected_ltv", "DECIMAL(18,2)", "AOV x frequency x expected_lifetime_years x gross_margin (0 = no orders)."),
)
_doc(
    "scoring.channel_economics", "acquisition channel x as_of_date",
    "Acquisition economics per channel: new customers, spend, CAC, cohort LTV and LTV/CAC with a flag.",
    AS_OF,
    ("channel", "VARCHAR", "Acquisition channel ('unknown' for customers without one)."),
    ("new_customers", "BIGINT", "Customers who signed up that day through the channel."),
    ("spend", "DECIMAL(18,2)", "Marketing spend that day."),
    ("cac", "DECIMAL(18,2)", "spend / new_customers that day (NULL = none acquired)."),
    ("new_customers_window", "BIGINT", "Customers acquired in the trailing 30 days (cac_window_days)."),
    ("spend_window", "DECIMAL(18,2)", "Spend in the trailing 30 days."),
    ("cac_window", "DECIMAL(18,2)", "spend_window / new_customers_window: the CAC LTV/CAC uses."),
    ("cohort_customers", "BIGINT", "Customers the channel acquired in the trailing 365 days (cohort_days)."),
    ("avg_historical_ltv", "DECIMAL(18,2)", "Their average net revenue to date."),
    ("avg_expected_ltv", "DECIMAL(18,2)", "Their average expected LTV."),
    ("ltv_to_cac", "DOUBLE", "avg_expected_ltv / cac_window."),
    ("ltv_cac_flag", "VARCHAR", "unprofitable (< 1), profitable (1-3), scale (> 3); NULL = no CAC."),
    ("note", "VARCHAR", "Why LTV/CAC is undefined, if it is."),
)


def describe_columns(conn: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    """(name, type) of ``table``'s columns as DuckDB reports them."""
    schema, name = table.split(".")
    rows = conn.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, name],
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def apply_comments(conn: duckdb.DuckDBPyConnection, table: str) -> None:
    """Store the dictionary's table and column descriptions in DuckDB (``COMMENT ON``)."""
    doc = TABLES[table]
    schema, name = table.split(".")
    target = f"{quote_ident(schema)}.{quote_ident(name)}"
    # COMMENT ON takes a literal, not a parameter; the text is ours (this module), quotes doubled.
    literal = lambda text: "'" + text.replace("'", "''") + "'"  # noqa: E731
    conn.execute(f"comment on table {target} is {literal(f'{doc.description} Grain: {doc.grain}.')}")
    for column, _type, meaning in doc.columns:
        conn.execute(f"comment on column {target}.{quote_ident(column)} is {literal(meaning)}")
