-- BG/NBD summaries as of the end of business day $as_of (DOMAIN.md, Scores: LTV; issue 15),
-- one row per buyer, in time units of $time_unit_days days (default 7: weeks):
--   repeat_purchases  x: distinct days with a completed order, minus the first
--   t_x               time from the first to the last order day
--   age               T: time from the first order day to $as_of
--   avg_repeat_value  revenue of the order days after the first / x (NULL when x = 0)
-- A day with several orders is one purchase worth their sum. The buyers are read by
-- clv_buyers_state.sql (the day's scoring.customer_order_state, what a daily run reads) or,
-- when that day's state is no longer kept, clv_buyers_orders.sql (the order versions); both
-- give the same figures. lifecycle_pipeline/clv.py puts one of them in place of the marker below.
with buyers as (
    {buyers}
)

select
    customer_id,
    order_days_lifetime - 1 as repeat_purchases,
    date_diff('day', first_order_date, last_order_date) / $time_unit_days::double as t_x,
    date_diff('day', first_order_date, $as_of::date) / $time_unit_days::double as age,
    case
        when order_days_lifetime > 1
            then (revenue_lifetime - first_day_revenue)::double / (order_days_lifetime - 1)
    end as avg_repeat_value
from buyers
order by customer_id
