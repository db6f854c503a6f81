-- Campaign uplift as of $as_of: contacted vs held-out customers of each campaign, for the
-- contact days whose outcome window ($window_days after the contact) has ended by $as_of,
-- pooling the last $cohort_days such contact days. An outcome counts within the window:
--   converted  a completed order placed after the contact day and known by the window's end
--              (scoring.customer_features of that day: last_order_at after the contact day)
--   improved   the stage at the window's end is later in the playbook's stage order than on
--              the contact day (temp table `outreach_stage_order`)
-- conversion_z: two-proportion z statistic (pooled), NULL when a group is empty.
with cohort as (
    select
        h.as_of_date as contact_date,
        h.customer_id,
        h.campaign,
        h.held_out
    from outreach.contact_history as h
    where h.as_of_date <= $as_of::date - $window_days
        and h.as_of_date > $as_of::date - ($window_days + $cohort_days)
),

outcomes as (
    select
        c.campaign,
        c.held_out,
        coalesce(f.last_order_at::date > c.contact_date, false) as converted,
        coalesce(after_rank.stage_rank > before_rank.stage_rank, false) as improved
    from cohort as c
    -- each daily table is read for the cohort's days only (window ends, contact days), not its whole history
    left join (
        select as_of_date, customer_id, last_order_at
        from scoring.customer_features
        where as_of_date > $as_of::date - $cohort_days and as_of_date <= $as_of
    ) as f
        on f.as_of_date = c.contact_date + $window_days and f.customer_id = c.customer_id
    left join (
        select as_of_date, customer_id, stage
        from lifecycle.customer_stage_daily
        where as_of_date > $as_of::date - ($window_days + $cohort_days) and as_of_date <= $as_of::date - $window_days
    ) as s0
        on s0.as_of_date = c.contact_date and s0.customer_id = c.customer_id
    left join (
        select as_of_date, customer_id, stage
        from lifecycle.customer_stage_daily
        where as_of_date > $as_of::date - $cohort_days and as_of_date <= $as_of
    ) as s1
        on s1.as_of_date = c.contact_date + $window_days and s1.customer_id = c.customer_id
    left join outreach_stage_order as before_rank on before_rank.stage = s0.stage
    left join outreach_stage_order as after_rank on after_rank.stage = s1.stage
),

counts as (
    select
        campaign,
        count(*) filter (where not held_out) as contacted,
        count(*) filter (where held_out) as held_out,
        count(*) filter (where not held_out and converted) as contacted_converted,
        count(*) filter (where held_out and converted) as held_out_converted,
        count(*) filter (where not held_out and improved) as contacted_improved,
        count(*) filter (where held_out and improved) as held_out_improved
    from outcomes
    group by campaign
),

rates as (
    select
        *,
        contacted_converted / nullif(contacted, 0) as contacted_conversion_rate,
        held_out_converted / nullif(held_out, 0) as held_out_conversion_rate,
        contacted_improved / nullif(contacted, 0) as contacted_improvement_rate,
        held_out_improved / nullif(held_out, 0) as held_out_improvement_rate,
        (contacted_converted + held_out_converted) / nullif(contacted + held_out, 0) as pooled_rate
    from counts
)

select
    $as_of::date as as_of_date,
    campaign,
    $as_of::date - ($window_days + $cohort_days - 1) as cohort_from,
    $as_of::date - $window_days as cohort_to,
    $window_days::integer as window_days,
    contacted,
    held_out,
    contacted_converted,
    held_out_converted,
    contacted_conversion_rate::double as contacted_conversion_rate,
    held_out_conversion_rate::double as held_out_conversion_rate,
    (contacted_conversion_rate - held_out_conversion_rate)::double as conversion_uplift,
    (
        (contacted_conversion_rate - held_out_conversion_rate)
        / nullif(sqrt(pooled_rate * (1 - pooled_rate) * (1 / nullif(contacted, 0) + 1 / nullif(held_out, 0))), 0)
    )::double as conversion_z,
    contacted_improved,
    held_out_improved,
    contacted_improvement_rate::double as contacted_improvement_rate,
    held_out_improvement_rate::double as held_out_improvement_rate,
    (contacted_improvement_rate - held_out_improvement_rate)::double as improvement_uplift
from rates
order by campaign
