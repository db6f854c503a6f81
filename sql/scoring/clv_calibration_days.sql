-- The purchase days of the calibration cohort of business day $as_of (DOMAIN.md, Scores: LTV;
-- issue 15; lifecycle_pipeline/clv_calibration.py). The cohort is every buyer with a completed
-- order by the calibration end $calibration_end, as known at its end ($calibration_cutoff, the
-- first instant after it): the customers the calibration fit was made on (clv_summary.sql of that
-- day). One row per cohort customer and purchase day (a day with completed orders; several orders
-- on a day are one purchase), in days from $calibration_end:
--   first_offset  the customer's first purchase day (<= 0)
--   day_offset    the purchase day: <= 0 in the calibration period, read from the order versions
--                 known at the end of $calibration_end (what the fit saw); > 0 in the holdout
--                 ($calibration_end, $as_of], read from the versions known at the end of $as_of
--                 ($as_of_end), so a refund or a late file known by then counts, later ones do not.
-- Every holdout day is a repeat purchase (it follows the first purchase day).
with calibration_days as (
    select
        customer_id,
        ordered_at::date as order_date
    from clean.orders_as_of($calibration_end, $calibration_cutoff)
    where status = 'completed'
    group by customer_id, order_date
),

cohort as (
    select
        customer_id,
        min(order_date) as first_order_date
    from calibration_days
    group by customer_id
),

holdout_days as (
    select
        customer_id,
        ordered_at::date as order_date
    from clean.orders_as_of($as_of, $as_of_end)
    where status = 'completed'
        and ordered_at::date > $calibration_end::date
    group by customer_id, order_date
),

cohort_days as (
    select customer_id, order_date from calibration_days
    union all
    select h.customer_id, h.order_date
    from holdout_days as h
    semi join cohort as c
        on c.customer_id = h.customer_id
)

select
    d.customer_id,
    date_diff('day', $calibration_end::date, c.first_order_date) as first_offset,
    date_diff('day', $calibration_end::date, d.order_date) as day_offset
from cohort_days as d
inner join cohort as c
    on c.customer_id = d.customer_id
order by d.customer_id, day_offset
