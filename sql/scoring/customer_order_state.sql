-- Per-customer order state as of the end of business day $as_of, computed from the order
-- versions (the running state customer_features reads; DOMAIN.md, Scores). Grain: one row
-- per customer with at least one completed order. $order_source is clean.orders (every
-- customer, e.g. the first day or after a restated earlier day) or a temporary table holding
-- every version of the orders of the customers whose orders changed on $as_of; then only
-- those customers ($changed_only) are computed, and every other customer's state is carried
-- over from the day before (customer_order_state_carry.sql).
with completed as (
    select
        customer_id,
        ordered_at,
        ordered_at::date as order_date,
        amount,
        category
    from clean.orders_as_of($as_of, $as_of_end, source := $order_source)
    where status = 'completed'
        and (not $changed_only or customer_id in (select customer_id from changed_customers))
),

totals as (
    select
        customer_id,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at,
        count(*) as orders_lifetime,
        sum(amount) as revenue_lifetime,
        -- whole days between the last two completed orders (NULL with fewer than 2)
        date_diff('day', max_by(order_date, order_date, 2)[2], max(order_date)) as gap_last_two_orders_days,
        count(*) filter (where order_date > $as_of::date - $rfm_window_days) as orders_365d,
        coalesce(sum(amount) filter (where order_date > $as_of::date - $rfm_window_days), 0) as revenue_365d,
        count(*) filter (where order_date > $as_of::date - $recent_days) as orders_30d,
        count(*) filter (
            where order_date <= $as_of::date - $recent_days
                and order_date > $as_of::date - ($recent_days + $baseline_days)
        ) as orders_prior_90d
    from completed
    group by customer_id
),

order_days as (
    -- one row per customer and day with a completed order, with that day's revenue
    select
        customer_id,
        order_date,
        sum(amount) as day_revenue
    from completed
    group by customer_id, order_date
),

rhythm as (
    -- the customer's own purchase rhythm: median days between consecutive days with a
    -- completed order; the day before the last such day (the second-latest order day);
    -- the number of order days and the revenue of the first one (the repeat purchases and
    -- their value behind the BG/NBD summaries, lifecycle_pipeline/clv.py)
    select
        customer_id,
        count(*) as order_days_lifetime,
        arg_min(day_revenue, order_date) as first_day_revenue,
        median(date_diff('day', previous_day, order_date))::double as median_order_gap_days,
        max(previous_day) as previous_order_date
    from (
        select
            customer_id,
            order_date,
            day_revenue,
            lag(order_date) over (partition by customer_id order by order_date) as previous_day
        from order_days
    )
    group by customer_id
),

favourite_categories as (
    -- the category of most completed orders; ties: the most recently bought, then alphabetical
    select
        customer_id,
        first(category order by orders desc, last_ordered_at desc, category) as favourite_category
    from (
        select
            customer_id,
            category,
            count(*) as orders,
            max(ordered_at) as last_ordered_at
        from completed
        where category is not null
        group by customer_id, category
    )
    group by customer_id
)

select
    $as_of::date as as_of_date,
    t.customer_id,
    t.first_order_at,
    t.last_order_at,
    t.orders_lifetime,
    r.order_days_lifetime,
    t.revenue_lifetime::decimal(38, 2) as revenue_lifetime,
    r.first_day_revenue::decimal(38, 2) as first_day_revenue,
    f.favourite_category,
    t.gap_last_two_orders_days,
    r.median_order_gap_days,
    r.previous_order_date,
    t.orders_365d,
    t.revenue_365d::decimal(38, 2) as revenue_365d,
    t.orders_30d,
    t.orders_prior_90d
from totals as t
left join rhythm as r on r.customer_id = t.customer_id
left join favourite_categories as f on f.customer_id = t.customer_id
