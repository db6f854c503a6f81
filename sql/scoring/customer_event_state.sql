-- Per-customer event state as of the end of business day $as_of, computed from the events of
-- the trailing 365 days (the running state customer_features reads; DOMAIN.md, Scores).
-- Grain: one row per customer with an event in those 365 days. The daily run moves the day
-- before's state on instead (customer_event_state_delta.sql); both give the same rows.
with events_window as (
    select
        customer_id,
        occurred_at,
        occurred_at::date as event_date,
        event_type,
        feature
    from clean.events
    where _partition_date <= $as_of
        and occurred_at < $as_of_end
        and occurred_at >= ($as_of::date - 364)::timestamptz
),

event_days as (
    -- one row per customer and day with an event: the active days
    select
        customer_id,
        event_date,
        count(*) as events
    from events_window
    group by all
),

day_figures as (
    select
        customer_id,
        count(*) filter (where event_date > $as_of::date - $recent_days) as active_days_30d,
        count(*) filter (
            where event_date <= $as_of::date - $recent_days
                and event_date > $as_of::date - ($recent_days + $baseline_days)
        ) as active_days_prior_90d,
        coalesce(sum(events) filter (where event_date > $as_of::date - $recent_days), 0)::bigint as events_30d,
        coalesce(sum(events) filter (
            where event_date <= $as_of::date - $recent_days
                and event_date > $as_of::date - ($recent_days + $baseline_days)
        ), 0)::bigint as events_prior_90d,
        max(event_date) as last_event_date,
        max_by(event_date, event_date, 2)[2] as previous_event_date
    from event_days
    group by customer_id
),

event_figures as (
    select
        customer_id,
        count(*) filter (where event_type = 'referral_sent') as referrals_365d,
        max(occurred_at) as last_event_at,
        max(occurred_at) filter (where list_contains($aha_event_types, event_type)) as last_aha_event_at
    from events_window
    group by customer_id
),

core_features as (
    -- the last day each core feature was used in the adoption window, sorted by feature
    select
        customer_id,
        list({'feature': feature, 'last_date': last_date} order by feature) as core_features
    from (
        select
            customer_id,
            feature,
            max(event_date) as last_date
        from events_window
        where event_type = 'core_feature_use'
            and feature is not null
            and event_date > $as_of::date - $adoption_days
        group by all
    )
    group by customer_id
)

select
    $as_of::date as as_of_date,
    d.customer_id,
    d.events_30d,
    d.events_prior_90d,
    d.active_days_30d,
    d.active_days_prior_90d,
    e.referrals_365d,
    e.last_event_at,
    e.last_aha_event_at,
    d.last_event_date,
    d.previous_event_date,
    c.core_features
from day_figures as d
inner join event_figures as e on e.customer_id = d.customer_id
left join core_features as c on c.customer_id = d.customer_id
