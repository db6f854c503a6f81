-- Cumulative repeat purchases of the calibration cohort, actual against expected, per time unit up
-- to business day $as_of (DOMAIN.md, Scores: LTV; issue 15; lifecycle_pipeline/clv_calibration.py).
-- Reads the relation clv_calibration_periods that clv_calibration.py registers, one row per period
-- end: customers (cohort customers whose first purchase day is on or before it), actual_cumulative
-- (their purchase days after their first, up to the period end: calibration-period days as known at
-- the end of $calibration_end, holdout days as known at the end of $as_of) and expected_cumulative
-- (sum over those customers of the unconditional E[X(period end - first purchase day)] of the
-- calibration fit; NULL where not computable). $reason (NULL normally) says why the fit is unusable.
select
    $as_of::date as as_of_date,
    period_end,
    case when period_end <= $calibration_end::date then 'calibration' else 'holdout' end as period,
    $calibration_end::date as calibration_end,
    $model as model,
    customers,
    actual_cumulative,
    expected_cumulative,
    coalesce(
        $reason::varchar,
        case when expected_cumulative is null then $overflow_reason::varchar end
    ) as reason
from clv_calibration_periods
order by period_end
