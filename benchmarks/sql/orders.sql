-- orders landing on days $lo..$hi (placed in blocks $b0..$b1): each order's first version
-- (completed, or cancelled for ~3 %) on its day, and for ~5 % of completed orders a later
-- version with status refunded, 1-20 days after the sale.
with sales as (
    select
        p.i,
        p.order_id,
        p.t,
        p.t as t_update,
        case when bh(p.h, 1) < 0.03 then 'cancelled' else 'completed' end as status,
        round(exp(ln(42.0) + 0.55 * sqrt(-2.0 * ln(1.0 - bh(p.h, 2))) * cos(2 * pi() * bh(p.h, 3)))
              * c.spend_factor, 2) as amount,
        case when bh(p.h, 4) < 0.6 then c.favourite_category
             else bchoice(['electronics', 'home', 'fashion', 'beauty', 'sports', 'books', 'toys'],
                          [0.14, 0.28, 0.43, 0.57, 0.71, 0.86], bh(p.h, 5)) end as category,
        p.h
    from bench_placed($b0, $b1) as p
    join bench_customers as c using (i)
),

versions as (
    select i, order_id, t, t_update, status, amount, category
    from sales
    union all
    select i, order_id, t, t + 1 + 19 * bh(h, 6), 'refunded', amount, category
    from sales
    where status = 'completed'
        and bh(h, 7) < 0.0515
)

select
    order_id,
    bcid(i) as customer_id,
    bts(t, $e0) as ordered_at,
    amount::decimal(18, 2) as amount,
    status,
    bts(t_update, $e0) as updated_at,
    'USD' as currency,
    category,
    $new_day::date + bday(t_update) as _partition_date
from versions
where t_update < 1
    and bday(t_update) between $lo and $hi
