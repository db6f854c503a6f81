-- lifecycle.stage_counts_daily: a day's stage counts sum to the customers known that day (the
-- rows of scoring.customer_features, one per customer signed up by then), and each count
-- equals the stage's rows in lifecycle.customer_stage_daily. Violations of days $first..$last.
with counted as (
    select as_of_date, sum(customers) as customers
    from lifecycle.stage_counts_daily
    where as_of_date between $first and $last
    group by as_of_date
),

known as (
    select as_of_date, count(*) as customers
    from scoring.customer_features
    where as_of_date between $first and $last
    group by as_of_date
),

by_stage as (
    select as_of_date, stage, count(*) as customers
    from lifecycle.customer_stage_daily
    where as_of_date between $first and $last
    group by as_of_date, stage
)

select
    k.as_of_date,
    null::varchar as customer_id,
    'stage counts sum to ' || coalesce(c.customers, 0) || ', known customers ' || k.customers as detail
from known as k
left join counted as c on c.as_of_date = k.as_of_date
where coalesce(c.customers, 0) <> k.customers
union all
select
    coalesce(c.as_of_date, b.as_of_date),
    null::varchar,
    'stage ' || coalesce(c.stage, b.stage) || ': counted ' || coalesce(c.customers, 0)
    || ', rows ' || coalesce(b.customers, 0)
from (
    select as_of_date, stage, customers
    from lifecycle.stage_counts_daily
    where as_of_date between $first and $last
) as c
full join by_stage as b on b.as_of_date = c.as_of_date and b.stage = c.stage
where coalesce(c.customers, 0) <> coalesce(b.customers, 0)
