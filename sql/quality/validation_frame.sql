-- The landing days $first_day..$last_day of a source, as validated by its Great
-- Expectations suite. The relational parts of the rules (lookups against history, the
-- business calendar) are computed here, next to the data, as boolean flags that the
-- suite then checks. `_partition_date::timestamptz` is local midnight of the business
-- time zone (the connection's TimeZone).
with first_seen as (
    select
        customer_id,
        min(_partition_date) as first_day
    from raw.customers
    where _partition_date <= $last_day
    group by customer_id
)

select
    r.*,
    {day_value} >= r._partition_date::timestamptz - to_days($late_tolerance_days)
        and {day_value} < (r._partition_date + 1)::timestamptz as _in_day_window,
    {day_value} <= $now as _not_in_future,
    {customer_known} as _customer_known,
    {refund_consistent} as _refund_consistent,
    {has_target} as _has_target
from raw.{table} as r
{customer_join}
where r._partition_date between $first_day and $last_day
