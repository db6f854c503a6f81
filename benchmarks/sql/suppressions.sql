-- suppressions landing on days $lo..$hi: ~1.5 % of customers, 1-200 days after signup, by
-- customer id, email or both
with suppressed as (
    select i, signup_t + 1 + 199 * bu(i, 70, 0) as t, bu(i, 71, 0) as how
    from bench_customers
    where bu(i, 72, 0) < 0.015
)

select
    case when how < 0.75 then bcid(i) end as customer_id,
    case when how >= 0.5 then bemail(i) end as email,
    bchoice(['unsubscribe', 'bounce', 'complaint', 'manual'], [0.70, 0.90, 0.98], bu(i, 73, 0)) as reason,
    bts(t, $e0) as suppressed_at,
    $new_day::date + greatest(bday(t), $first_t) as _partition_date
from suppressed
where t < 1
    and greatest(bday(t), $first_t) between $lo and $hi
