-- Each buyer's lifetime order-day figures as of business day $as_of, from the running order
-- state of that day (scoring.customer_order_state, written by scoring/customer_features):
-- what a daily run reads. clv_buyers_orders.sql computes the same from the order versions.
select
    customer_id,
    first_order_at::date as first_order_date,
    last_order_at::date as last_order_date,
    order_days_lifetime,
    revenue_lifetime,
    first_day_revenue
from scoring.customer_order_state
where as_of_date = $as_of
