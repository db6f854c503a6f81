-- scoring.customer_ltv: lifetime value, expected value and order value are never negative
-- (refunds reduce revenue, they cannot make it negative). Violations of days $first..$last.
select
    as_of_date,
    customer_id,
    'historical_ltv ' || coalesce(historical_ltv::varchar, 'NULL') || ', expected_ltv '
    || coalesce(expected_ltv::varchar, 'NULL') || ', avg_order_value ' || coalesce(avg_order_value::varchar, 'NULL')
    as detail
from scoring.customer_ltv
where as_of_date between $first and $last
    and (historical_ltv < 0 or expected_ltv < 0 or avg_order_value < 0)
