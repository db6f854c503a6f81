-- Calibration of the purchase model by frequency group, for business day $as_of (DOMAIN.md,
-- Scores: LTV; issue 15; lifecycle_pipeline/clv_calibration.py): the model fitted on the
-- summaries of the calibration end $calibration_end predicts each cohort customer's purchase days
-- in the holdout ($calibration_end, $as_of]; here they are set against what happened. Reads the
-- relation clv_calibration_customers that clv_calibration.py registers, one row per cohort
-- customer: repeat_purchases (x at the calibration end), holdout_purchases (actual purchase days in
-- the holdout, clv_calibration_days.sql) and expected_holdout (NULL where not computable).
-- Frequency groups: x = 0, 1, ..., $top_group - 1 and '$top_group+', all of them every day (a
-- group without customers has NULL means). $reason (NULL normally) says why the fit is unusable;
-- the expected columns are then NULL.
with frequency_groups as (
    select
        g as frequency_min,
        case when g = $top_group then g::varchar || '+' else g::varchar end as frequency_group
    from range(0, $top_group + 1) as t(g)
),

customers as (
    select
        least(repeat_purchases, $top_group) as frequency_min,
        repeat_purchases,
        holdout_purchases,
        expected_holdout
    from clv_calibration_customers
),

summed as (
    select
        g.frequency_min,
        g.frequency_group,
        count(c.frequency_min) as customers,
        coalesce(sum(c.repeat_purchases), 0) as calibration_purchases,
        coalesce(sum(c.holdout_purchases), 0) as actual_total,
        sum(c.expected_holdout) as expected_sum,
        count(c.expected_holdout) as expected_customers
    from frequency_groups as g
    left join customers as c
        on c.frequency_min = g.frequency_min
    group by g.frequency_min, g.frequency_group
),

explained as (
    select
        *,
        coalesce(
            $reason::varchar,
            case when expected_customers < customers then $overflow_reason::varchar end
        ) as reason
    from summed
)

select
    $as_of::date as as_of_date,
    frequency_group,
    frequency_min::integer as frequency_min,
    $calibration_end::date as calibration_end,
    $as_of::date as holdout_end,
    $model as model,
    customers,
    calibration_purchases,
    actual_total,
    case when reason is null then coalesce(expected_sum, 0) end as expected_total,
    actual_total / nullif(customers, 0) as actual_mean,
    case when reason is null then expected_sum / nullif(customers, 0) end as expected_mean,
    reason
from explained
order by frequency_min
