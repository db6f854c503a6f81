-- Customers per stage on $as_of, every stage listed (0 when empty), with its share of
-- all known customers that day; the counts sum to the known customers.
with counted as (
    select
        stage,
        count(*) as customers
    from lifecycle.customer_stage_daily
    where as_of_date = $as_of
    group by stage
)

select
    $as_of::date as as_of_date,
    s.stage,
    s.stage_order,
    coalesce(c.customers, 0) as customers,
    round(coalesce(c.customers, 0) / nullif(sum(c.customers) over (), 0), 4)::double as share
from lifecycle_stage_names as s
left join counted as c on c.stage = s.stage
order by s.stage_order
