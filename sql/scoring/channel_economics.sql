-- Acquisition-channel economics as of $as_of (DOMAIN.md, Scores: CAC = spend /
-- customers acquired; keep channels with LTV/CAC > 3). Grain: one row per channel
-- (from customers' acquisition_channel or marketing spend; 'unknown' when not given).
--   new_customers, spend, cac          that day
--   new_customers_window, spend_window, cac_window   trailing $cac_window_days days
--   cohort_customers, avg_historical_ltv, avg_expected_ltv   customers the channel acquired in the
--       trailing $cohort_days days (their LTV as of this day); the expected LTV is, by $channel_ltv
--       (ltv_basis), 'formula': customer_ltv.expected_ltv, or 'predicted': the BG/NBD + Gamma-Gamma
--       customer_clv_predicted.expected_value_12m (0 without a completed order; NULL, with a note,
--       when a cohort customer has no usable prediction)
--   ltv_to_cac = avg_expected_ltv / cac_window; ltv_cac_flag: unprofitable (< $ltv_cac_low, default 1),
--       scale (> $ltv_cac_high, default 3: keep and grow the channel) or profitable in between;
--       NULL with a note when there is no CAC (no spend, or no customers acquired).
with customers as (
    select
        l.customer_id,
        l.acquisition_channel as channel,
        l.signup_at::date as signup_date,
        l.historical_ltv,
        case
            when $channel_ltv = 'formula' then l.expected_ltv
            when p.customer_id is null then 0  -- no completed order: no predicted purchases (as the formula)
            else p.expected_value_12m  -- NULL: no usable fit that day
        end as expected_ltv
    from (select * from scoring.customer_ltv where as_of_date = $as_of) as l
    left join (
        select customer_id, expected_value_12m from scoring.customer_clv_predicted where as_of_date = $as_of
    ) as p on p.customer_id = l.customer_id
),

spend_versions as (
    -- the latest landed figure for each (day, channel): a restated day replaces the earlier one
    select
        spend_date,
        channel,
        spend
    from clean.marketing_spend
    where _partition_date <= $as_of
        and spend_date <= $as_of
        and spend_date > $as_of::date - $cac_window_days
    qualify row_number() over (
        partition by spend_date, channel order by _partition_date desc, _source_file desc, _source_row desc
    ) = 1
),

spend as (
    select
        channel,
        coalesce(sum(spend) filter (where spend_date = $as_of), 0) as spend,
        sum(spend) as spend_window
    from spend_versions
    group by channel
),

acquired as (
    select
        channel,
        count(*) filter (where signup_date = $as_of) as new_customers,
        count(*) filter (where signup_date > $as_of::date - $cac_window_days) as new_customers_window,
        count(*) filter (where signup_date > $as_of::date - $cohort_days) as cohort_customers,
        avg(historical_ltv) filter (where signup_date > $as_of::date - $cohort_days) as avg_historical_ltv,
        -- one cohort customer without an LTV (a predicted value without a usable fit) leaves the average unknown
        case
            when count(*) filter (where signup_date > $as_of::date - $cohort_days and expected_ltv is null) = 0
                then avg(expected_ltv) filter (where signup_date > $as_of::date - $cohort_days)
        end as avg_expected_ltv,
        count(*) filter (where signup_date > $as_of::date - $cohort_days and expected_ltv is null) as unpredicted
    from customers
    group by channel
),

joined as (
    select
        coalesce(a.channel, s.channel) as channel,
        coalesce(a.new_customers, 0) as new_customers,
        coalesce(s.spend, 0)::decimal(18, 2) as spend,
        coalesce(a.new_customers_window, 0) as new_customers_window,
        coalesce(s.spend_window, 0)::decimal(18, 2) as spend_window,
        coalesce(a.cohort_customers, 0) as cohort_customers,
        a.avg_historical_ltv,
        a.avg_expected_ltv,
        coalesce(a.unpredicted, 0) as unpredicted
    from acquired as a
    full outer join spend as s on s.channel = a.channel
),

ratios as (
    select
        *,
        round(spend / nullif(new_customers, 0), 2)::decimal(18, 2) as cac,
        round(spend_window / nullif(new_customers_window, 0), 2)::decimal(18, 2) as cac_window
    from joined
)

select
    $as_of::date as as_of_date,
    channel,
    new_customers,
    spend,
    cac,
    new_customers_window,
    spend_window,
    cac_window,
    cohort_customers,
    round(avg_historical_ltv, 2)::decimal(18, 2) as avg_historical_ltv,
    round(avg_expected_ltv, 2)::decimal(18, 2) as avg_expected_ltv,
    round(avg_expected_ltv / nullif(cac_window, 0), 2)::double as ltv_to_cac,
    case
        when cac_window is null or cac_window = 0 or avg_expected_ltv is null then null
        when avg_expected_ltv / cac_window < $ltv_cac_low then 'unprofitable'
        when avg_expected_ltv / cac_window > $ltv_cac_high then 'scale'
        else 'profitable'
    end as ltv_cac_flag,
    case
        when spend_window = 0 then 'no spend in the CAC window: LTV/CAC undefined'
        when new_customers_window = 0 then 'spend but no customers acquired in the CAC window'
        when cohort_customers = 0 then 'no customers acquired in the cohort window'
        when unpredicted > 0
            then unpredicted || ' cohort customers have no predicted value (no usable CLV fit): LTV/CAC undefined'
    end as note,
    $channel_ltv as ltv_basis
from ratios
order by channel
