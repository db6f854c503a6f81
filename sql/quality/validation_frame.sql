-- The landing days $first_day..$last_day of a source, as validated by its Great
-- Expectations suite. The relational parts of the rules (lookups against history, the
-- business calendar, copies of a key within the day) are computed here, next to the
-- data, as boolean flags that the suite then checks. `_partition_date::timestamptz` is
-- local midnight of the business time zone (the connection's TimeZone).
with first_seen as (
    select
        customer_id,
        min(_partition_date) as first_day
    from raw.customers
    where _partition_date <= $last_day
    group by customer_id
),

landed as (
    select
        *,
        hash({content_columns}) as _content_hash
    from raw.{table}
    where _partition_date between $first_day and $last_day
),

-- keys landing more than once in a day: exact copies (same values in every column) keep
-- their first copy; a key with different versions is a conflict and every copy fails
repeated_keys as (
    select
        _partition_date,
        {key_columns}
    from landed
    group by all
    having count(*) > 1
),

copies as (
    select
        l._source_file,
        l._source_row,
        row_number() over exact_copies > 1 as _later_copy,
        first_value(l._source_file || ' row ' || l._source_row) over exact_copies as _first_copy,
        min(l._content_hash) over same_key <> max(l._content_hash) over same_key as _key_conflict
    from landed as l
    semi join repeated_keys as k using (_partition_date, {key_columns})
    window
        exact_copies as (partition by l._partition_date, {l_key_columns}, l._content_hash
                         order by l._source_file, l._source_row),
        same_key as (partition by l._partition_date, {l_key_columns})
)

select
    r.* exclude (_content_hash),
    {day_value} >= r._partition_date::timestamptz - to_days($late_tolerance_days)
        and {day_value} < (r._partition_date + 1)::timestamptz as _in_day_window,
    {newest_timestamp} as _newest_timestamp,
    {oldest_timestamp} as _oldest_timestamp,
    {newest_timestamp} <= $now as _not_in_future,
    {oldest_timestamp} >= $earliest_timestamp::timestamptz as _not_too_old,
    case
        when {key_missing} then null
        else not coalesce(c._key_conflict or c._later_copy, false)
    end as _key_unique,
    case
        when {key_missing} then null
        when c._key_conflict then 'the key has different versions in this day; every copy is quarantined'
        when c._later_copy then 'exact duplicate of ' || c._first_copy || ', which is kept'
    end as _key_note,
    {customer_known} as _customer_known,
    {refund_consistent} as _refund_consistent,
    {has_target} as _has_target
from landed as r
left join copies as c on c._source_file = r._source_file and c._source_row = r._source_row
{customer_join}
