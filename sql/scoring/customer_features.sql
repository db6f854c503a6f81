-- Per-customer features as of the end of business day $as_of (only data landed in
-- partitions <= $as_of with timestamps before $as_of_end counts, so recomputing a past
-- day after newer days exist gives the same answer). Dates are business-calendar dates
-- (the connection's TimeZone). Grain: one row per customer known by then.
with customers_as_of as (
    select * from clean.customers_as_of($as_of, $as_of_end)
),

order_state as (
    -- order-derived figures: the running per-customer state (customer_order_state.sql)
    select *
    from scoring.customer_order_state
    where as_of_date = $as_of
),

event_state as (
    -- event-derived figures over the trailing 365 days: the running per-customer state (customer_event_state.sql)
    select *
    from scoring.customer_event_state
    where as_of_date = $as_of
),

active_dates as (
    -- days with an event or a completed order in the trailing window: the last two of each stand for all
    select
        customer_id,
        active_date
    from (
        select
            customer_id,
            unnest([last_event_date, previous_event_date]) as active_date
        from event_state
    )
    where active_date > $as_of::date - 365  -- the year of events
    union
    select
        customer_id,
        order_day
    from (
        select
            customer_id,
            unnest([last_order_at::date, previous_order_date]) as order_day
        from order_state
    )
    where order_day > $as_of::date - $rfm_window_days
),

active_gaps as (
    select
        customer_id,
        date_diff('day', max_by(active_date, active_date, 2)[2], max(active_date)) as gap_last_two_active_days
    from active_dates
    group by customer_id
),

ticket_features as (
    select
        customer_id,
        avg(csat) filter (
            where resolved_at >= ($as_of::date - ($csat_days - 1))::timestamptz and resolved_at < $as_of_end
        ) as csat_avg_180d,
        max(opened_at) as last_ticket_at
    from clean.support_tickets
    where _partition_date <= $as_of
        and opened_at < $as_of_end
        and opened_at >= ($as_of::date - ($rfm_window_days - 1))::timestamptz
    group by customer_id
),

referred_signups as (
    -- customers this customer brought in (customers.referred_by) who signed up in the window
    select
        referred_by as customer_id,
        count(*) as referred_signups_365d
    from customers_as_of
    where referred_by is not null
        and signup_at >= ($as_of::date - ($rfm_window_days - 1))::timestamptz
    group by referred_by
),

nps_latest as (
    select
        customer_id,
        score as latest_nps_score,
        responded_at as latest_nps_at
    from clean.nps_responses
    where _partition_date <= $as_of
        and responded_at < $as_of_end
        and responded_at >= ($as_of::date - ($rfm_window_days - 1))::timestamptz
    qualify row_number() over (partition by customer_id order by responded_at desc, response_id desc) = 1
)

select
    $as_of::date as as_of_date,
    c.customer_id,
    c.signup_at,
    c.acquisition_channel,
    c.segment,
    c.referred_by,
    o.first_order_at,
    o.last_order_at,
    coalesce(o.orders_lifetime, 0) as orders_lifetime,
    coalesce(o.orders_365d, 0) as orders_365d,
    coalesce(o.revenue_lifetime, 0)::decimal(18, 2) as revenue_lifetime,
    coalesce(o.revenue_365d, 0)::decimal(18, 2) as revenue_365d,
    (o.revenue_lifetime / o.orders_lifetime)::decimal(18, 2) as avg_order_value,
    o.favourite_category,
    o.gap_last_two_orders_days,
    o.median_order_gap_days,
    ag.gap_last_two_active_days,
    date_diff('day', o.last_order_at::date, $as_of::date) as recency_days,
    coalesce(e.active_days_30d, 0) as active_days_30d,
    coalesce(e.active_days_prior_90d, 0) as active_days_prior_90d,
    -- activity = events + completed orders (early-warning tier 1 compares these two)
    coalesce(e.events_30d, 0) + coalesce(o.orders_30d, 0) as activity_30d,
    coalesce(e.events_prior_90d, 0) + coalesce(o.orders_prior_90d, 0) as activity_prior_90d,
    coalesce(len(e.core_features), 0) as core_features_90d,
    coalesce(e.referrals_365d, 0) as referrals_365d,
    coalesce(rs.referred_signups_365d, 0) as referred_signups_365d,
    t.csat_avg_180d,
    n.latest_nps_score,
    case
        when n.latest_nps_score >= $promoter_min then 'promoter'
        when n.latest_nps_score >= $passive_min then 'passive'
        when n.latest_nps_score is not null then 'detractor'
    end as nps_category,
    -- days since any activity (event, completed order, ticket, NPS answer; 365 days looked at); NULL = none yet
    date_diff(
        'day', greatest(e.last_event_at, o.last_order_at, t.last_ticket_at, n.latest_nps_at)::date, $as_of::date
    ) as days_since_activity,
    -- days since the last "aha" action (a configured event type or a completed order); NULL = none yet
    date_diff('day', greatest(e.last_aha_event_at, o.last_order_at)::date, $as_of::date) as days_since_aha,
    date_diff('day', c.signup_at::date, $as_of::date) as days_since_signup
from customers_as_of as c
left join order_state as o on o.customer_id = c.customer_id
left join event_state as e on e.customer_id = c.customer_id
left join active_gaps as ag on ag.customer_id = c.customer_id
left join ticket_features as t on t.customer_id = c.customer_id
left join nps_latest as n on n.customer_id = c.customer_id
left join referred_signups as rs on rs.customer_id = c.customer_id
order by c.customer_id
