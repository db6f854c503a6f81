-- The order state of the customers whose orders did not change on $as_of: yesterday's state
-- with the windowed figures moved on by one day; the lifetime figures (orders, order days,
-- revenue, first day's revenue, rhythm) are copied unchanged. Nothing but the window edges
-- changes for them, so only the orders placed on the three edge days are read (every
-- version of those orders is in the temporary table edge_order_versions):
--   $as_of - $rfm_window_days                      leaves the 365-day figures
--   $as_of - $recent_days                          moves from the recent window to the baseline
--   $as_of - ($recent_days + $baseline_days)       leaves the baseline
-- Equal, column for column, to customer_order_state.sql over all orders (tests/test_order_state.py).
with edge_orders as (
    select
        customer_id,
        ordered_at::date as order_date,
        amount
    from clean.orders_as_of($as_of, $as_of_end, source := 'edge_order_versions')
    where status = 'completed'
),

edges as (
    select
        customer_id,
        count(*) filter (where order_date = $as_of::date - $rfm_window_days) as left_365d,
        coalesce(sum(amount) filter (where order_date = $as_of::date - $rfm_window_days), 0) as revenue_left_365d,
        count(*) filter (where order_date = $as_of::date - $recent_days) as left_recent,
        count(*) filter (where order_date = $as_of::date - ($recent_days + $baseline_days)) as left_baseline
    from edge_orders
    group by customer_id
)

select
    $as_of::date as as_of_date,
    s.customer_id,
    s.first_order_at,
    s.last_order_at,
    s.orders_lifetime,
    s.order_days_lifetime,
    s.revenue_lifetime,
    s.first_day_revenue,
    s.favourite_category,
    s.gap_last_two_orders_days,
    s.median_order_gap_days,
    s.previous_order_date,
    s.orders_365d - coalesce(e.left_365d, 0) as orders_365d,
    (s.revenue_365d - coalesce(e.revenue_left_365d, 0))::decimal(38, 2) as revenue_365d,
    s.orders_30d - coalesce(e.left_recent, 0) as orders_30d,
    s.orders_prior_90d + coalesce(e.left_recent, 0) - coalesce(e.left_baseline, 0) as orders_prior_90d
from scoring.customer_order_state as s
left join edges as e on e.customer_id = s.customer_id
where s.as_of_date = $previous_day
    and not exists (select 1 from changed_customers as c where c.customer_id = s.customer_id)
