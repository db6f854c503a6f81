-- Stage transitions on $as_of: customers whose stage differs from their previous
-- computed day, counted by (from_stage, to_stage). A customer seen for the first time
-- enters from nothing: from_stage = '(new)'.
select
    as_of_date,
    coalesce(previous_stage, '(new)') as from_stage,
    stage as to_stage,
    count(*) as customers
from lifecycle.customer_stage_daily
where as_of_date = $as_of
    and previous_stage is distinct from stage
group by all
order by from_stage, to_stage
