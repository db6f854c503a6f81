-- The events of one day ($day) already visible at the end of the day before $as_of, per customer.
insert into known_event_days
select
    customer_id,
    $day::date as event_date,
    count(*) as events,
    count(*) filter (where event_type = 'referral_sent') as referrals
from clean.events
where occurred_at >= $day::date::timestamptz
    and occurred_at < ($day::date + 1)::timestamptz
    and _partition_date <= $previous_day
    and occurred_at < $previous_end
group by customer_id
