-- The event state of $as_of: the day before's state (customer_event_state.sql) moved on by one
-- day. Temporary tables (event_state_changes.sql): new_events, the events that became visible
-- today; known_event_days, the events already known the day before on the window-edge days
-- and on the days of the new events. Counts move by what enters and what leaves each window:
--   $as_of - $recent_days                       leaves the recent window for the baseline
--   $as_of - ($recent_days + $baseline_days)    leaves the baseline
--   $as_of - 365                                leaves the 365-day window (referrals)
-- a new event's day counts as a new active day only if no event of that day was known. Equal,
-- column for column, to customer_event_state.sql (tests/test_customer_state.py).
with new_days as (
    select
        customer_id,
        event_date,
        count(*) as events,
        count(*) filter (where event_type = 'referral_sent') as referrals,
        max(occurred_at) as last_at,
        max(occurred_at) filter (where list_contains($aha_event_types, event_type)) as aha_at
    from new_events
    group by all
),

new_figures as (
    select
        n.customer_id,
        coalesce(sum(n.events) filter (where n.event_date > $as_of::date - $recent_days), 0) as events_recent,
        coalesce(sum(n.events) filter (
            where n.event_date <= $as_of::date - $recent_days
                and n.event_date > $as_of::date - ($recent_days + $baseline_days)
        ), 0) as events_baseline,
        count(*) filter (where k.customer_id is null and n.event_date > $as_of::date - $recent_days) as days_recent,
        count(*) filter (
            where k.customer_id is null
                and n.event_date <= $as_of::date - $recent_days
                and n.event_date > $as_of::date - ($recent_days + $baseline_days)
        ) as days_baseline,
        sum(n.referrals) as referrals,
        max(n.last_at) as last_at,
        max(n.aha_at) as aha_at,
        max_by(n.event_date, n.event_date, 2) as top_days
    from new_days as n
    left join known_event_days as k on k.customer_id = n.customer_id and k.event_date = n.event_date
    group by n.customer_id
),

edges as (
    select
        customer_id,
        coalesce(sum(events) filter (where event_date = $as_of::date - $recent_days), 0) as events_leaving_recent,
        coalesce(sum(events) filter (
            where event_date = $as_of::date - ($recent_days + $baseline_days)
        ), 0) as events_leaving_baseline,
        count(*) filter (where event_date = $as_of::date - $recent_days) as days_leaving_recent,
        count(*) filter (where event_date = $as_of::date - ($recent_days + $baseline_days)) as days_leaving_baseline,
        coalesce(sum(referrals) filter (where event_date = $as_of::date - 365), 0) as referrals_leaving
    from known_event_days
    group by customer_id
),

previous as (
    select *
    from scoring.customer_event_state
    where as_of_date = $previous_day
),

core_changed as (
    -- customers whose core-feature list changes today: a new core event, or a feature leaving the window
    select customer_id
    from new_events
    where event_type = 'core_feature_use'
        and feature is not null
    union
    select customer_id
    from previous
    where list_min(list_transform(core_features, lambda f: f.last_date)) <= $as_of::date - $adoption_days
),

core as (
    -- their core features' last days in the adoption window: the day before's, or a new event's
    select
        customer_id,
        list({'feature': feature, 'last_date': last_date} order by feature) as core_features
    from (
        select
            customer_id,
            feature,
            max(last_date) as last_date
        from (
            select
                customer_id,
                c.feature,
                c.last_date
            from (
                select customer_id, unnest(core_features) as c
                from previous
                where customer_id in (select customer_id from core_changed)
            )
            union all
            select
                customer_id,
                feature,
                event_date
            from new_events
            where event_type = 'core_feature_use'
                and feature is not null
        )
        where last_date > $as_of::date - $adoption_days
        group by all
    )
    group by customer_id
),

moved as (
    select
        coalesce(p.customer_id, n.customer_id) as customer_id,
        coalesce(p.events_30d, 0) - coalesce(e.events_leaving_recent, 0) + coalesce(n.events_recent, 0) as events_30d,
        coalesce(p.events_prior_90d, 0) + coalesce(e.events_leaving_recent, 0)
        - coalesce(e.events_leaving_baseline, 0) + coalesce(n.events_baseline, 0) as events_prior_90d,
        coalesce(p.active_days_30d, 0) - coalesce(e.days_leaving_recent, 0) + coalesce(n.days_recent, 0)
            as active_days_30d,
        coalesce(p.active_days_prior_90d, 0) + coalesce(e.days_leaving_recent, 0)
        - coalesce(e.days_leaving_baseline, 0) + coalesce(n.days_baseline, 0) as active_days_prior_90d,
        coalesce(p.referrals_365d, 0) - coalesce(e.referrals_leaving, 0) + coalesce(n.referrals, 0) as referrals_365d,
        greatest(
            case when p.last_event_at >= ($as_of::date - 364)::timestamptz then p.last_event_at end, n.last_at
        ) as last_event_at,
        greatest(
            case when p.last_aha_event_at >= ($as_of::date - 364)::timestamptz then p.last_aha_event_at end, n.aha_at
        ) as last_aha_event_at,
        list_sort(list_filter(
            list_distinct([p.last_event_date, p.previous_event_date] || coalesce(n.top_days, [])),
            lambda day: day > $as_of::date - 365
        ), 'DESC') as days,
        p.core_features as previous_core_features
    from previous as p
    full outer join new_figures as n on n.customer_id = p.customer_id
    left join edges as e on e.customer_id = coalesce(p.customer_id, n.customer_id)
)

select
    $as_of::date as as_of_date,
    m.customer_id,
    m.events_30d::bigint as events_30d,
    m.events_prior_90d::bigint as events_prior_90d,
    m.active_days_30d::bigint as active_days_30d,
    m.active_days_prior_90d::bigint as active_days_prior_90d,
    m.referrals_365d::bigint as referrals_365d,
    m.last_event_at,
    m.last_aha_event_at,
    m.days[1] as last_event_date,
    m.days[2] as previous_event_date,
    case when k.customer_id is null then m.previous_core_features else c.core_features end as core_features
from moved as m
left join core_changed as k on k.customer_id = m.customer_id
left join core as c on c.customer_id = m.customer_id
where m.last_event_at is not null
