-- Lifecycle stage of every known customer as of the end of $as_of (DOMAIN.md, Lifecycle
-- stage). First match wins; r = days since the last completed order (preset "ecommerce")
-- or since the last activity of any kind (preset "saas", $recency_basis = 'activity'):
--   prospect     no completed order yet
--   churned      r > $dormant_max_days
--   dormant      $at_risk_max_days < r <= $dormant_max_days
--   at_risk      $active_max_days < r <= $at_risk_max_days
--   reactivated  r <= $active_max_days and the gap before the latest order (activity day) > $reactivation_gap_days
--   new          exactly 1 completed order
--   advocate     >= $loyal_min_orders orders and a promoter (latest NPS in 365 days) or a referral in 365 days
--   loyal        >= $loyal_min_orders orders
--   active       otherwise (2 .. $loyal_min_orders - 1 orders)
-- previous_stage, stage_since and days_in_stage are filled in afterwards from the
-- neighbouring days (see derive_stage_days.sql), so this query depends on this day only.
with features as (
    select
        *,
        scoring.lifecycle_recency($recency_basis, recency_days, days_since_activity) as r,
        case
            when $recency_basis = 'activity' then gap_last_two_active_days else gap_last_two_orders_days
        end as gap
    from scoring.customer_features
    where as_of_date = $as_of
)

select
    f.as_of_date,
    f.customer_id,
    case
        when f.orders_lifetime = 0 then 'prospect'
        when f.r > $dormant_max_days then 'churned'
        when f.r > $at_risk_max_days then 'dormant'
        when f.r > $active_max_days then 'at_risk'
        when f.gap > $reactivation_gap_days then 'reactivated'
        when f.orders_lifetime = 1 then 'new'
        when f.orders_lifetime >= $loyal_min_orders
            and (f.nps_category = 'promoter' or f.referrals_365d + f.referred_signups_365d > 0) then 'advocate'
        when f.orders_lifetime >= $loyal_min_orders then 'loyal'
        else 'active'
    end as stage,
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
    $preset as preset
-- each daily table is filtered to the day before the join, so the day costs the same after years of history
from features as f
left join (select * from scoring.rfm_scores where as_of_date = $as_of) as r on r.customer_id = f.customer_id
left join (select * from scoring.health_scores where as_of_date = $as_of) as h on h.customer_id = f.customer_id
left join (select * from scoring.early_warnings where as_of_date = $as_of) as w on w.customer_id = f.customer_id
order by f.customer_id
