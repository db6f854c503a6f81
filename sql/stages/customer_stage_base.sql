-- Lifecycle stage of every known customer as of the end of $as_of (DOMAIN.md, Lifecycle
-- stage), by the rule scoring.lifecycle_stage (sql/scoring/lifecycle_recency.sql: prospect,
-- churned, dormant, at_risk, reactivated, new, advocate, loyal, active; first match wins) on
-- r = days since the last completed order (preset "ecommerce") or since the last activity of
-- any kind (preset "saas", $recency_basis = 'activity').
-- previous_stage, stage_since and days_in_stage are filled in afterwards from the
-- neighbouring days (see derive_stage_days.sql), so this query depends on this day only.
-- p_alive: the day's BG/NBD-family P(alive) (scoring.customer_clv_predicted; NULL for
-- customers without a completed order or on a day without a usable fit).
with features as (
    select
        *,
        scoring.lifecycle_recency($recency_basis, recency_days, days_since_activity) as r,
        scoring.lifecycle_gap($recency_basis, gap_last_two_orders_days, gap_last_two_active_days) as gap
    from scoring.customer_features
    where as_of_date = $as_of
)

select
    f.as_of_date,
    f.customer_id,
    scoring.lifecycle_stage(
        f.orders_lifetime, f.r, f.gap, f.nps_category, f.referrals_365d + f.referred_signups_365d,
        $dormant_max_days, $at_risk_max_days, $active_max_days, $reactivation_gap_days, $loyal_min_orders
    ) as stage,
    null::varchar as previous_stage,
    null::date as stage_since,
    null::integer as days_in_stage,
    f.r as recency_days,
    $recency_basis as recency_basis,
    f.orders_lifetime,
    f.gap as gap_before_last_days,
    f.nps_category,
    f.referrals_365d + f.referred_signups_365d as referrals_365d,
    r.rfm_segment,
    h.health_band,
    w.warning_tier,
    $preset as preset,
    p.p_alive
-- each daily table is filtered to the day before the join, so the day costs the same after years of history
from features as f
left join (select * from scoring.rfm_scores where as_of_date = $as_of) as r on r.customer_id = f.customer_id
left join (select * from scoring.health_scores where as_of_date = $as_of) as h on h.customer_id = f.customer_id
left join (select * from scoring.early_warnings where as_of_date = $as_of) as w on w.customer_id = f.customer_id
left join (select customer_id, p_alive from scoring.customer_clv_predicted where as_of_date = $as_of) as p
    on p.customer_id = f.customer_id
order by f.customer_id
