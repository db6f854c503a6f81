-- support tickets landing on days $lo..$hi: ~6 % of orders (blocks $b0..$b1) raise one within
-- 10 days; it lands when resolved (about 1.5 days later), or when opened while still open.
with opened as (
    select
        i,
        order_id,
        h,
        t + 10 * bh(h, 10) as t_open,
        t + 10 * bh(h, 10) - ln(1.0 - bh(h, 11)) * 1.5 as t_resolved
    from bench_placed($b0, $b1)
    where bh(h, 1) >= 0.03
        and bh(h, 9) < 0.06
),

landed as (
    select
        *,
        t_resolved < 1 and bh(h, 12) >= 0.03 as resolved
    from opened
    where t_open < 1
)

select
    'T' || substr(order_id, 2) as ticket_id,
    bcid(i) as customer_id,
    bts(t_open, $e0) as opened_at,
    case when resolved then bts(t_resolved, $e0) end as resolved_at,
    case when resolved and bh(h, 13) >= 0.2 then bchoice([1, 2, 3, 4, 5], [0.08, 0.18, 0.36, 0.66], bh(h, 14)) end
        ::smallint as csat,
    $new_day::date + bday(case when resolved then t_resolved else t_open end) as _partition_date
from landed
where bday(case when resolved then t_resolved else t_open end) between $lo and $hi
