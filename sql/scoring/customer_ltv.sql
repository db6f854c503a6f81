-- Customer lifetime value as of $as_of (DOMAIN.md, Scores; article 001). Grain: one
-- row per customer known that day.
--   historical_ltv  net revenue to date (completed orders; refunds and cancellations excluded)
--   expected_ltv    average order value x purchase frequency (completed orders per year, from the
--                   trailing $rfm_window_days days) x $expected_lifetime_years x $gross_margin;
--                   0 for a customer without orders.
select
    as_of_date,
    customer_id,
    coalesce(acquisition_channel, 'unknown') as acquisition_channel,
    signup_at,
    orders_lifetime,
    revenue_lifetime as historical_ltv,
    avg_order_value,
    round(orders_365d * 365.0 / $rfm_window_days, 2) as purchase_frequency,
    round(
        coalesce(avg_order_value, 0) * (orders_365d * 365.0 / $rfm_window_days)
        * $expected_lifetime_years * $gross_margin,
        2
    )::decimal(18, 2) as expected_ltv
from scoring.customer_features
where as_of_date = $as_of
order by customer_id
