-- NPS answers landing on days $lo..$hi: a quarter of buyers answer once while active, some
-- loyal customers twice; fans (loyal, repeat) score high.
with answers as (
    select i, 1 as j, persona, first_t + 1 + bu(i, 50, 0) * greatest(least(end_t, 1.0) - first_t - 1, 0.01) as t
    from bench_customers
    where first_t is not null
        and bu(i, 51, 0) < 0.25
    union all
    select i, 2, persona, first_t + 1 + bu(i, 52, 0) * greatest(least(end_t, 1.0) - first_t - 1, 0.01)
    from bench_customers
    where persona = 'loyal'
        and bu(i, 51, 0) < 0.25
        and bu(i, 53, 0) < 0.3
),

scored as (
    select
        *,
        case when persona in ('loyal', 'repeat')
            then bchoice(range(11), [0, 0, 0, 0, 0.01, 0.03, 0.07, 0.15, 0.30, 0.60], bu(i, 54, j))
            else bchoice(range(11), [0.05, 0.09, 0.14, 0.20, 0.28, 0.38, 0.50, 0.66, 0.80, 0.91], bu(i, 54, j))
        end as score
    from answers
    where t < 1
        and bday(t) between $lo and $hi
)

select
    'N' || i || '-' || j as response_id,
    bcid(i) as customer_id,
    bts(t, $e0) as responded_at,
    score::smallint as score,
    case when score >= 9 then 'Love it' when score <= 6 then 'Too expensive' end as comment,
    $new_day::date + bday(t) as _partition_date
from scored
