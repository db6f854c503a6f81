-- marketing spend of days $lo..$hi: one row per paid channel and day, scaled to $n customers
select
    ($new_day::date + r.d::integer) as spend_date,
    ch.channel,
    round(ch.base * greatest($n / 20000.0, 0.05)
          * case dayofweek($new_day::date + r.d::integer) when 6 then 1.25 when 0 then 1.15 else 1.0 end
          * exp(0.15 * bnorm(r.d, ch.k)), 2)::decimal(18, 2) as spend,
    (spend * (60 + 80 * bu(r.d, ch.k, 60)))::bigint as impressions,
    (impressions * (0.008 + 0.022 * bu(r.d, ch.k, 61)))::bigint as clicks,
    $new_day::date + r.d::integer as _partition_date
from range($lo, $hi + 1) as r(d),
    (values (1, 'paid_search', 900.0), (2, 'social', 650.0), (3, 'display', 300.0), (4, 'affiliate', 220.0),
            (5, 'email', 90.0)) as ch(k, channel, base)
