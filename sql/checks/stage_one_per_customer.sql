-- lifecycle.customer_stage_daily: exactly one stage per known customer per day. Violations of
-- days $first..$last: a customer with two rows, a row without a stage, or a customer the day's
-- features know (scoring.customer_features: every customer signed up by then) without a row.
select as_of_date, customer_id, count(*) || ' rows' as detail
from lifecycle.customer_stage_daily
where as_of_date between $first and $last
group by as_of_date, customer_id
having count(*) > 1
union all
select as_of_date, customer_id, 'no stage' as detail
from lifecycle.customer_stage_daily
where as_of_date between $first and $last
    and stage is null
union all
select f.as_of_date, f.customer_id, 'known customer without a stage row' as detail
from scoring.customer_features as f
where f.as_of_date between $first and $last
    and not exists (
        select 1 from lifecycle.customer_stage_daily as s
        where s.as_of_date = f.as_of_date and s.customer_id = f.customer_id
    )
