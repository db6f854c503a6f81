-- Early-warning tier 0-3 per customer as of $as_of (DOMAIN.md, Early-warning tiers;
-- article 001), for customers the stage rules do not call dormant or churned: no completed
-- order yet, or r <= $at_risk_max_days, where r is the stage rules' recency (days since the
-- last completed order, or since any activity when $recency_basis = 'activity'; the
-- configured stage preset decides both). The highest tier that applies wins:
--   3  no activity of any kind (event, order, ticket, NPS answer) for >= $tier3_no_activity_days days
--   2  no "aha" action (an event of a configured type, or a completed order) for >= $tier2_no_aha_days days
--   1  activity (events + orders) in the last $recent_days days <= (100 - $tier1_drop_pct)% of the
--      customer's own $recent_days-day average over the $baseline_days days before (a drop of at least
--      $tier1_drop_pct %); needs activity in that baseline. Compared in integers, so exactly 30 % fires.
-- Someone who was never active counts from signup. `warning_reason` says what fired, with the figures.
with features as (
    select *
    from scoring.customer_features
    where as_of_date = $as_of
),

signals as (
    select
        as_of_date,
        customer_id,
        recency_days,
        activity_30d,
        activity_prior_90d,
        coalesce(days_since_activity, days_since_signup) as days_inactive,
        coalesce(days_since_aha, days_since_signup) as days_without_aha,
        case when $recency_basis = 'activity' then days_since_activity else recency_days end as lifecycle_recency,
        orders_lifetime = 0 or coalesce(lifecycle_recency <= $at_risk_max_days, true) as eligible,
        activity_prior_90d > 0
        and 100 * activity_30d * $baseline_days <= (100 - $tier1_drop_pct) * activity_prior_90d * $recent_days
            as activity_dropped
    from features
),

tiered as (
    select
        *,
        case
            when not eligible then 0
            when days_inactive >= $tier3_no_activity_days then 3
            when days_without_aha >= $tier2_no_aha_days then 2
            when activity_dropped then 1
            else 0
        end as warning_tier
    from signals
)

select
    as_of_date,
    customer_id,
    warning_tier,
    case warning_tier
        when 3 then 'no_activity'
        when 2 then 'no_aha_action'
        when 1 then 'activity_drop'
    end as warning_signal,
    case
        when not eligible then 'not tiered: dormant or churned (last ' || if($recency_basis = 'activity', 'activity ', 'order ')
            || lifecycle_recency || ' days ago)'
        when warning_tier = 3 then 'no activity for ' || days_inactive || ' days (tier 3 at '
            || $tier3_no_activity_days || ')'
        when warning_tier = 2 then 'no aha action (' || array_to_string($aha_event_types, ', ')
            || ' or an order) for ' || days_without_aha || ' days (tier 2 at ' || $tier2_no_aha_days || ')'
        when warning_tier = 1 then 'activity ' || activity_30d || ' in the last ' || $recent_days
            || ' days vs ' || round(activity_prior_90d * $recent_days / $baseline_days, 1)
            || ' on average before: ' || round(100 - 100.0 * activity_30d * $baseline_days
                / (activity_prior_90d * $recent_days), 1)
            || ' % drop (tier 1 at ' || $tier1_drop_pct || ' %)'
    end as warning_reason,
    days_inactive,
    days_without_aha,
    activity_30d,
    activity_prior_90d
from tiered
order by customer_id
