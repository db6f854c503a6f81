-- What the events of $as_of change, as temporary tables customer_event_state_delta.sql reads.
-- An event is new on $as_of when it is visible at the end of $as_of (landed in a partition
-- <= $as_of, occurred before $as_of_end) but was not at the end of the day before
-- ($previous_end): it landed today, or its time only now falls before the day's end. Only
-- new events inside the 365-day window matter.
create or replace temp table new_events as
select
    customer_id,
    occurred_at,
    occurred_at::date as event_date,
    event_type,
    feature
from clean.events
where _partition_date = $as_of
    and occurred_at < $as_of_end
    and occurred_at >= ($as_of::date - 364)::timestamptz
union all
-- landed earlier, but only now before the day's end (a range on one column each: zone maps
-- skip the rest of the events history)
select
    customer_id,
    occurred_at,
    occurred_at::date as event_date,
    event_type,
    feature
from clean.events
where _partition_date < $as_of
    and occurred_at >= $previous_end
    and occurred_at < $as_of_end;

-- the events already known the day before, per customer and day, on the days that matter:
-- the window edges and the days of the new events (filled by event_state.py, one day at a time)
create or replace temp table known_event_days (
    customer_id varchar,
    event_date date,
    events bigint,
    referrals bigint
)
