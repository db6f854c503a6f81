-- Early-warning tier 0-3 per customer as of $as_of (DOMAIN.md, Early-warning tiers;
-- article 001), for customers the stage rules do not call dormant or churned: no completed
-- order yet, or r <= $at_risk_max_days, where r is the stage rules' recency (days since the
-- last completed order, or since any activity when $recency_basis = 'activity'; the
-- configured stage preset decides both). The highest tier that applies wins:
--   3  no activity of any kind (event, order, ticket, NPS answer) for >= $tier3_no_activity_days days
--   2  no "aha" action (an event of a configured type, or a completed order) for >= $tier2_no_aha_days
--      days, judged only when the business delivers events; and, with the ecommerce preset
--      ($recency_basis = 'orders'), a purchase overdue for the customer's own rhythm: no completed
--      order for more than $tier2_rhythm_multiple x their median gap between order days (at least
--      $tier2_no_aha_days days; needs two order days)
--   1  activity (events + orders) in the last $recent_days days <= (100 - $tier1_drop_pct)% of the
--      customer's own $recent_days-day average over the $baseline_days days before (a drop of at least
--      $tier1_drop_pct %); needs activity in that baseline, and events. Compared in integers, so
--      exactly 30 % fires.
-- Someone who was never active counts from signup. `warning_reason` says what fired, with the
-- figures; without any event data the event signals stay silent and the reason says so.
with features as (
    select *
    from scoring.customer_features
    where as_of_date = $as_of
),

delivery as (
    select exists (select 1 from clean.events where _partition_date <= $as_of) as events_delivered
),

signals as (
    select
        as_of_date,
        customer_id,
        recency_days,
        median_order_gap_days,
        activity_30d,
        activity_prior_90d,
        events_delivered,
        coalesce(days_since_activity, days_since_signup) as days_inactive,
        coalesce(days_since_aha, days_since_signup) as days_without_aha,
        scoring.lifecycle_recency($recency_basis, recency_days, days_since_activity) as lifecycle_recency,
        orders_lifetime = 0 or coalesce(lifecycle_recency <= $at_risk_max_days, true) as eligible,
        events_delivered and days_without_aha >= $tier2_no_aha_days as aha_missing,
        $recency_basis = 'orders'
        and median_order_gap_days is not null  -- greatest() would ignore a NULL rhythm
        and coalesce(
            recency_days > greatest($tier2_rhythm_multiple * median_order_gap_days, $tier2_no_aha_days), false
        ) as purchase_overdue,
        events_delivered
        and activity_prior_90d > 0
        and 100 * activity_30d * $baseline_days <= (100 - $tier1_drop_pct) * activity_prior_90d * $recent_days
            as activity_dropped
    from features
    cross join delivery
),

tiered as (
    select
        *,
        case
            when not eligible then 0
            when days_inactive >= $tier3_no_activity_days then 3
            when purchase_overdue or aha_missing then 2
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
        when warning_tier = 2 and purchase_overdue then 'no order for ' || recency_days || ' days, more than '
            || $tier2_rhythm_multiple || ' x their median gap of ' || round(median_order_gap_days, 1)
            || ' days between orders (tier 2)'
        when warning_tier = 2 then 'no aha action (' || array_to_string($aha_event_types, ', ')
            || ' or an order) for ' || days_without_aha || ' days (tier 2 at ' || $tier2_no_aha_days || ')'
        when warning_tier = 1 then 'activity ' || activity_30d || ' in the last ' || $recent_days
            || ' days vs ' || round(activity_prior_90d * $recent_days / $baseline_days, 1)
            || ' on average before: ' || round(100 - 100.0 * activity_30d * $baseline_days
                / (activity_prior_90d * $recent_days), 1)
            || ' % drop (tier 1 at ' || $tier1_drop_pct || ' %)'
        when not events_delivered then 'no event data: the activity-drop and aha-action signals are off'
    end as warning_reason,
    days_inactive,
    days_without_aha,
    activity_30d,
    activity_prior_90d
from tiered
order by customer_id
