-- events landing on days $lo..$hi (blocks $b0..$b1): per customer window and block, rate x days
-- events (rounded at random) at uniform instants; most of them from customers in a buying stint.
with counted as (
    select i, w, b, lo, hi, floor(event_rate * (hi - lo) + bu(i * 8 + w, b, 21))::integer as n
    from bench_window_blocks($b0, $b1)
    where event_rate > 0
),

happened as (
    select
        i, w, b, k,
        lo + bu(i * 8 + w, b * 65536 + k, 22) * (hi - lo) as t,
        hash(i * 8 + w, b * 65536 + k) as h
    from (select i, w, b, lo, hi, unnest(range(n)) as k from counted where n > 0)
),

typed as (
    select
        *,
        bchoice(['login', 'page_view', 'core_feature_use', 'feature_use', 'email_open', 'email_click', 'referral_sent'],
                [0.33, 0.63, 0.77, 0.87, 0.95, 0.985], bh(h, 1)) as event_type
    from happened
    where t < 1
        and bday(t) between $lo and $hi
)

select
    'E' || i || '-' || w || '-' || b || '-' || k as event_id,
    bcid(i) as customer_id,
    bts(t, $e0) as occurred_at,
    event_type,
    case event_type
        when 'core_feature_use' then bchoice(['search', 'checkout', 'wishlist', 'reviews'], [0.4, 0.7, 0.9], bh(h, 2))
        when 'feature_use' then bchoice(['compare', 'gift_cards', 'subscriptions', 'live_chat'], [0.25, 0.5, 0.75],
                                        bh(h, 2))
    end as feature,
    $new_day::date + bday(t) as _partition_date
from typed
