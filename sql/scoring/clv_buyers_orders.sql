-- Each buyer's lifetime order-day figures as of the end of business day $as_of, straight from
-- the order versions: the same figures scoring.customer_order_state holds (first and last
-- order day, distinct order days, revenue, the first day's revenue), for a day whose state
-- is no longer kept (the state keeps the last week; a backfill or a recomputed past day).
-- Equal to reading the state (clv_buyers_state.sql; tests/test_clv.py). Grain: one row per customer with at least
-- one completed order.
with order_days as (
    select
        customer_id,
        ordered_at::date as order_date,
        sum(amount) as day_revenue
    from clean.orders_as_of($as_of, $as_of_end)
    where status = 'completed'
    group by customer_id, order_date
)

select
    customer_id,
    min(order_date) as first_order_date,
    max(order_date) as last_order_date,
    count(*) as order_days_lifetime,
    sum(day_revenue)::decimal(38, 2) as revenue_lifetime,
    arg_min(day_revenue, order_date)::decimal(38, 2) as first_day_revenue
from order_days
group by customer_id
