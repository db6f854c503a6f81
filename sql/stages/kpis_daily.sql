-- Lifecycle KPIs on $as_of (DOMAIN.md, KPIs per day; article 000). One row per day;
-- every definition is repeated in the data dictionary (docs/data_dictionary.md).
with stage_day as (
    select *
    from lifecycle.customer_stage_daily
    where as_of_date = $as_of
),

features as (
    select *
    from scoring.customer_features
    where as_of_date = $as_of
),

activity as (
    -- (customer, day) with an event or an order placed (any status) in the 60 days up to $as_of
    select distinct
        customer_id,
        occurred_at::date as active_date
    from clean.events
    where _partition_date <= $as_of
        and occurred_at < $as_of_end
        and occurred_at >= ($as_of::date - (2 * $retention_days - 1))::timestamptz
    union
    select
        customer_id,
        ordered_at::date
    from clean.orders
    where _partition_date <= $as_of
        and ordered_at < $as_of_end
        and ordered_at >= ($as_of::date - (2 * $retention_days - 1))::timestamptz
),

per_customer as (
    select
        customer_id,
        bool_or(active_date <= $as_of::date - $retention_days) as active_before,
        bool_or(active_date > $as_of::date - $retention_days) as active_recently,
        bool_or(active_date = $as_of) as active_today
    from activity
    group by customer_id
),

retention as (
    select
        count(*) filter (where active_before) as base,
        count(*) filter (where active_before and active_recently) as retained,
        count(*) filter (where active_today) as daily_active
    from per_customer
),

conversion as (
    -- signups of the $retention_days days whose conversion window ended by $as_of
    select
        count(*) as cohort,
        count(*) filter (
            where first_order_at < signup_at + to_days($conversion_window_days)
        ) as converted
    from features
    where signup_at::date <= $as_of::date - $conversion_window_days
        and signup_at::date > $as_of::date - $conversion_window_days - $retention_days
),

order_versions as (
    -- the latest known version of each order placed that day
    select
        status,
        amount
    from clean.orders_as_of($as_of, $as_of_end, placed_from := $as_of::timestamptz)
),

orders_today as (
    select
        count(*) as orders,
        coalesce(sum(amount), 0) as revenue
    from order_versions
    where status = 'completed'
)

select
    $as_of::date as as_of_date,
    (select count(*) from stage_day) as known_customers,
    (select count(*) from features where signup_at::date = $as_of) as registrations,
    (select count(*) from features where signup_at::date = $as_of and referred_by is not null) as referred_registrations,
    c.cohort as conversion_cohort,
    round(c.converted / nullif(c.cohort, 0), 4)::double as first_purchase_conversion,
    r.daily_active as daily_active_customers,
    r.base as retention_base,
    round(r.retained / nullif(r.base, 0), 4)::double as retention_30d,
    (select count(*) from features where orders_lifetime >= 1) as buyers,
    round(
        (select count(*) from features where orders_lifetime >= 2)
        / nullif((select count(*) from features where orders_lifetime >= 1), 0), 4
    )::double as repurchase_rate,
    (select orders from orders_today) as orders,
    (select revenue from orders_today)::decimal(18, 2) as revenue,
    round((select revenue / nullif(orders, 0) from orders_today), 2)::decimal(18, 2) as avg_order_value,
    (select round(avg(revenue_lifetime), 2) from features where orders_lifetime >= 1)::decimal(18, 2)
        as avg_ltv,
    (select nps from scoring.nps_daily where as_of_date = $as_of) as nps,
    -- NULL, not 0, for a business that delivers no referral data (no events, no referred_by)
    case when exists (select 1 from clean.events where _partition_date <= $as_of)
        or exists (select 1 from features where referred_by is not null)
    then round(
        (select count(*) from features where referrals_365d + referred_signups_365d > 0)
        / nullif((select count(*) from features), 0), 4
    )::double end as referral_rate
from retention as r
cross join conversion as c
