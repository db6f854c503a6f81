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
    ("referred_by", "VARCHAR", "customer_id of the referrer, if the customer was referred."),
    ("first_order_at", "TIMESTAMP WITH TIME ZONE", "First completed order (NULL = none)."),
    ("last_order_at", "TIMESTAMP WITH TIME ZONE", "Last completed order (NULL = none)."),
    ("orders_lifetime", "BIGINT", "Completed orders to date (refunded and cancelled orders excluded)."),
    ("orders_365d", "BIGINT", "Completed orders in the trailing 365 days (rfm_window_days)."),
    ("revenue_lifetime", "DECIMAL(18,2)", "Net revenue of completed orders to date."),
    ("revenue_365d", "DECIMAL(18,2)", "Net revenue of completed orders in the trailing 365 days."),
    ("avg_order_value", "DECIMAL(18,2)", "revenue_lifetime / orders_lifetime (NULL = no orders)."),
    ("favourite_category", "VARCHAR", "Category of most completed orders; ties: most recently bought, then A-Z."),
    ("gap_last_two_orders_days", "BIGINT", "Days between the last two completed orders (NULL = fewer than 2)."),
    ("gap_last_two_active_days", "BIGINT", "Days between the last two days with an event or order (365 days)."),
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


STAGE_LIST = "prospect, new, active, loyal, advocate, reactivated, at_risk, dormant, churned"

_doc(
    "lifecycle.customer_stage_daily", "customer x as_of_date (every customer known by that day)",
    "Each customer's lifecycle stage at the end of each day, with what decided it (DOMAIN.md, Lifecycle stage).",
    AS_OF, CUSTOMER,
    ("stage", "VARCHAR", f"Lifecycle stage, first matching rule of DOMAIN.md: {STAGE_LIST}."),
    ("previous_stage", "VARCHAR", "Stage on the customer's previous computed day (NULL on their first day)."),
    ("stage_since", "DATE", "First day of the current stage spell (stage_history.valid_from)."),
    ("days_in_stage", "INTEGER", "as_of_date - stage_since + 1 (1 on the day the stage was entered)."),
    ("recency_days", "BIGINT", "r that decided the stage: days since the last completed order (ecommerce) or "
                               "since any activity (saas); NULL without one."),
    ("recency_basis", "VARCHAR", "orders or activity: what r counts from (set by the preset)."),
    ("orders_lifetime", "BIGINT", "Completed orders to date: the frequency that decided new/active/loyal."),
    ("gap_before_last_days", "BIGINT", "Days between the last two orders (activity days for saas): "
                                       "reactivated when above the reactivation gap."),
    ("nps_category", "VARCHAR", "promoter / passive / detractor from the latest NPS answer in 365 days."),
    ("referrals_365d", "BIGINT", "Referrals sent plus referred signups in 365 days (advocate rule)."),
    ("rfm_segment", "VARCHAR", "RFM segment that day (NULL for prospects), scoring.rfm_scores."),
    ("health_band", "VARCHAR", "Health band that day, scoring.health_scores."),
    ("warning_tier", "INTEGER", "Early-warning tier 0-3 that day, scoring.early_warnings."),
    ("preset", "VARCHAR", "Stage rule preset used: ecommerce or saas."),
)
_doc(
    "lifecycle.stage_history", "customer x stage spell",
    "Stage spells: one row per customer per uninterrupted run of days in one stage (SCD type 2).",
    CUSTOMER,
    ("stage", "VARCHAR", "Stage held during the spell."),
    ("valid_from", "DATE", "First day of the spell."),
    ("valid_to", "DATE", "Last day of the spell; NULL while it is open (the customer's current stage)."),
    ("previous_stage", "VARCHAR", "Stage of the spell before (NULL for the customer's first spell)."),
)
_doc(
    "lifecycle.stage_transitions_daily", "as_of_date x from_stage x to_stage",
    "Customers who changed stage that day, by from -> to; '(new)' = first day seen (entered from nothing).",
    AS_OF,
    ("from_stage", "VARCHAR", "Stage on the previous computed day, or '(new)' for a customer seen first."),
    ("to_stage", "VARCHAR", "Stage that day."),
    ("customers", "BIGINT", "Customers who made this move that day."),
)
_doc(
    "lifecycle.stage_counts_daily", "as_of_date x stage (all nine stages, 0 when empty)",
    "Customers per stage per day; the counts of a day sum to the customers known that day.",
    AS_OF,
    ("stage", "VARCHAR", f"Lifecycle stage: {STAGE_LIST}."),
    ("stage_order", "BIGINT", "Display order of the stage (1 = prospect ... 9 = churned)."),
    ("customers", "BIGINT", "Customers in the stage at the end of the day."),
    ("share", "DOUBLE", "customers / all known customers that day (0-1)."),
)
_doc(
    "lifecycle.kpis_daily", "as_of_date",
    "Lifecycle KPIs per day (DOMAIN.md, KPIs per day; article 000). Windows are configurable (StageConfig).",
    AS_OF,
    ("known_customers", "BIGINT", "Customers known at the end of the day (= sum of stage_counts_daily)."),
    ("registrations", "BIGINT", "Customers who signed up that day."),
    ("referred_registrations", "BIGINT", "Of those, customers with a referrer (customers.referred_by)."),
    ("conversion_cohort", "BIGINT", "Customers who signed up 30-59 days before (their 30-day window has ended)."),
    ("first_purchase_conversion", "DOUBLE", "Share of the conversion cohort whose first completed order came "
                                           "within 30 days of signup (conversion_window_days)."),
    ("daily_active_customers", "BIGINT", "Customers with an event or an order placed that day."),
    ("retention_base", "BIGINT", "Customers active (an event or an order placed) 30-59 days before."),
    ("retention_30d", "DOUBLE", "Share of retention_base active again in the last 30 days (retention_days)."),
    ("buyers", "BIGINT", "Customers with at least one completed order to date."),
    ("repurchase_rate", "DOUBLE", "Share of buyers with two or more completed orders."),
    ("orders", "BIGINT", "Completed orders placed that day (refunded/cancelled as known that day excluded)."),
    ("revenue", "DECIMAL(18,2)", "Net revenue of those orders."),
    ("avg_order_value", "DECIMAL(18,2)", "revenue / orders that day (NULL without orders)."),
    ("avg_ltv", "DECIMAL(18,2)", "Average historical LTV (net revenue to date) of buyers."),
    ("nps", "DOUBLE", "Company NPS, trailing 90 days (scoring.nps_daily)."),
    ("referral_rate", "DOUBLE", "Share of known customers who referred someone (sent or signed up) in 365 days."),
)


CAMPAIGN = ("campaign", "VARCHAR", "Campaign id from the playbook (lifecycle_pipeline/outreach/playbook.yaml).")
_doc(
    "outreach.outreach_list", "as_of_date x customer x campaign (every campaign whose target the customer matched)",
    "The day's outreach decisions: who is contacted by which campaign with which rendered message, who is held out, "
    "and why everyone else was left out (consent, suppression, frequency cap, cooldown, priority).",
    AS_OF, CUSTOMER, CAMPAIGN,
    ("channel", "VARCHAR", "email / sms / call_task (a task for an account manager)."),
    ("priority", "INTEGER", "Campaign priority (1 = first choice when several campaigns match)."),
    ("status", "VARCHAR", "contacted (exported) / holdout (selected, recorded, not exported) / excluded."),
    ("held_out", "BOOLEAN", "The customer is in this campaign's holdout group (hash of customer and campaign)."),
    ("reason_selected", "VARCHAR", "Why the campaign was chosen: the target criteria met and the priority."),
    ("reasons_excluded", "VARCHAR[]", "Why not: suppressed, no_consent, no_address, frequency_cap, cooldown, "
                                      "lower_priority, daily_limit (empty when selected)."),
    ("stage", "VARCHAR", "Lifecycle stage that day."),
    ("address", "VARCHAR", "Email or phone the channel uses."),
    ("offer_code", "VARCHAR", "Offer code for the customer (selected rows of campaigns with an offer)."),
    ("subject", "VARCHAR", "Rendered subject (email) or task title (call_task)."),
    ("body_text", "VARCHAR", "Rendered text body (email), message (sms) or call brief (call_task)."),
    ("body_html", "VARCHAR", "Rendered HTML body, every value HTML-escaped (email)."),
    ("export_file", "VARCHAR", "Export file of a contacted row, relative to the export folder (YYYY-MM-DD/<campaign>.csv)."),
    ("playbook_version", "VARCHAR", "Version of the playbook that made the decision."),
)
_doc(
    "outreach.contact_history", "as_of_date x customer (at most one campaign per customer per day)",
    "Every contact made (and every holdout assignment) per day; the frequency cap and cooldowns read it.",
    AS_OF, CUSTOMER, CAMPAIGN,
    ("channel", "VARCHAR", "email / sms / call_task."),
    ("held_out", "BOOLEAN", "True: selected but held out (not contacted), the comparison group of the uplift."),
    ("offer_code", "VARCHAR", "Offer code sent (NULL = no offer)."),
    ("playbook_version", "VARCHAR", "Version of the playbook."),
)
_doc(
    "outreach.campaign_uplift", "as_of_date x campaign (campaigns with contacts whose window has ended)",
    "What contacted vs held-out customers did afterwards: orders and stage improvements within the window "
    "(playbook uplift.window_days) after the contact, pooling the contact days of the last cohort_days whose "
    "window has ended by as_of_date.",
    AS_OF, CAMPAIGN,
    ("cohort_from", "DATE", "First contact day pooled."),
    ("cohort_to", "DATE", "Last contact day pooled (= as_of_date - window_days)."),
    ("window_days", "INTEGER", "Days after the contact day in which outcomes count."),
    ("contacted", "BIGINT", "Customers contacted in the cohort."),
    ("held_out", "BIGINT", "Customers selected but held out in the cohort."),
    ("contacted_converted", "BIGINT", "Contacted customers with a completed order within the window."),
    ("held_out_converted", "BIGINT", "Held-out customers with a completed order within the window."),
    ("contacted_conversion_rate", "DOUBLE", "contacted_converted / contacted."),
    ("held_out_conversion_rate", "DOUBLE", "held_out_converted / held_out (NULL without holdout)."),
    ("conversion_uplift", "DOUBLE", "contacted_conversion_rate - held_out_conversion_rate (absolute)."),
    ("conversion_z", "DOUBLE", "Two-proportion z statistic of that difference (|z| >= 1.96: significant at 5 %)."),
    ("contacted_improved", "BIGINT", "Contacted customers in a better stage at the end of the window "
                                     "(playbook uplift.stage_order)."),
    ("held_out_improved", "BIGINT", "Held-out customers in a better stage at the end of the window."),
    ("contacted_improvement_rate", "DOUBLE", "contacted_improved / contacted."),
    ("held_out_improvement_rate", "DOUBLE", "held_out_improved / held_out (NULL without holdout)."),
    ("improvement_uplift", "DOUBLE", "contacted_improvement_rate - held_out_improvement_rate (absolute)."),
)


# Questions BI users ask, answered with one query each (rendered into docs/data_dictionary.md; tested).
EXAMPLE_QUERIES: dict[str, str] = {
    "How many customers moved from at_risk to dormant in the last 7 days?": """\
select coalesce(sum(customers), 0) as moved
from lifecycle.stage_transitions_daily
where from_stage = 'at_risk'
    and to_stage = 'dormant'
    and as_of_date > (select max(as_of_date) from lifecycle.customer_stage_daily) - 7""",
    "How many customers are in each stage today, and how did that change in 30 days?": """\
select today.stage, today.customers, today.customers - before.customers as change_30d
from lifecycle.stage_counts_current as today
left join lifecycle.stage_counts_daily as before
    on before.stage = today.stage and before.as_of_date = today.as_of_date - 30
order by today.stage_order""",
    "Which loyal customers have a warning tier today, with their health?": """\
select customer_id, days_in_stage, warning_tier, health_band, rfm_segment
from lifecycle.customer_stage_current
where stage in ('loyal', 'advocate') and warning_tier > 0
order by warning_tier desc, customer_id""",
    "Whom did each campaign reach on the latest outreach day, and why were the others left out?": """\
select campaign,
    count(*) filter (where status = 'contacted') as contacted,
    count(*) filter (where status = 'holdout') as held_out,
    count(*) filter (where list_contains(reasons_excluded, 'suppressed')) as suppressed,
    count(*) filter (where list_contains(reasons_excluded, 'no_consent')) as no_consent,
    count(*) filter (where list_contains(reasons_excluded, 'frequency_cap')) as frequency_cap,
    count(*) filter (where list_contains(reasons_excluded, 'lower_priority')) as lower_priority
from outreach.outreach_list
where as_of_date = (select max(as_of_date) from outreach.outreach_list)
group by campaign
order by campaign""",
}


def render_markdown() -> str:
    """``docs/data_dictionary.md``: every derived table and column, the clean source tables, example queries."""
    from lifecycle_pipeline.contracts import SOURCES

    lines = [
        "# Data dictionary",
        "",
        "Generated by `lifecycle-pipeline docs` from `lifecycle_pipeline/dictionary.py` and",
        "`lifecycle_pipeline/contracts.py`; a test fails when this file is out of date. The same",
        "descriptions are stored in DuckDB (`COMMENT ON`: `select * from duckdb_columns()`) and shown",
        "in the Dagster UI. Tables are stable names in the DuckDB file `data/warehouse.duckdb`",
        "(`LIFECYCLE_DUCKDB_PATH`); the `lifecycle` schema is the BI contract, `scoring` holds the",
        "scores, `clean` the validated source rows. Every daily table has one row set per",
        "`as_of_date`; the `*_current` views (`lifecycle.customer_stage_current`,",
        "`lifecycle.stage_counts_current`, `lifecycle.stage_transitions_current`, `lifecycle.kpis_current`)",
        "show the latest computed day. The `outreach` schema holds the daily outreach lists, the",
        "contact history and the campaign uplift.",
        "",
        "## Example queries",
        "",
    ]
    for question, query in EXAMPLE_QUERIES.items():
        lines += [f"**{question}**", "", "```sql", query, "```", ""]
    for doc in sorted(TABLES.values(), key=lambda d: (not d.name.startswith("lifecycle."), d.name)):
        lines += [f"## `{doc.name}`", "", f"{doc.description} Grain: {doc.grain}.", "",
                  "| column | type | meaning |", "|---|---|---|"]
        lines += [f"| `{name}` | {type_} | {meaning} |" for name, type_, meaning in doc.columns]
        lines.append("")
    for contract in SOURCES.values():
        lines += [f"## `clean.{contract.name}`", "",
                  f"{contract.description} Validated rows of the landing files; rejected rows are in "
                  "`quality.quarantine` with the reason.", "",
                  "| column | type | meaning |", "|---|---|---|"]
        lines += [f"| `{c.name}` | {c.type} | {c.description} |" for c in contract.columns]
        lines += ["| `_partition_date` | DATE | Landing day (partition) the row was loaded from. |", ""]
    return "\n".join(lines)


def asset_description(table: str) -> str:
    """The description the Dagster UI shows for the asset that writes ``table``."""
    doc = TABLES[table]
    return f"{doc.description} Grain: {doc.grain}."


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
