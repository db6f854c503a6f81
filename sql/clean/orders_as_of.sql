-- clean.orders_as_of(as_of, as_of_end[, placed_from := ts]): the latest known version of
-- each order as known at the end of business day `as_of` (landed in partitions <= as_of,
-- placed and last updated before `as_of_end`, the first instant after the day). A refund or
-- cancellation replaces the sale; ties go to the later file and row. `placed_from` keeps
-- only orders placed at or after that instant (filtered before the ranking, so a day's KPIs
-- rank only that day's orders). `source` names the table of order versions to read (default
-- clean.orders; scoring passes a temporary table holding every version of the few orders a
-- day changes, see scoring/customer_order_state.sql). Used by scoring (customer order
-- state) and the daily KPIs, and by BI:
--   select * from clean.orders_as_of(date '2026-11-24', timestamptz '2026-11-25 00:00:00+00')
create or replace macro clean.orders_as_of(as_of, as_of_end, placed_from := null, source := 'clean.orders') as table
select *
from query_table(source)
where _partition_date <= as_of
    and ordered_at < as_of_end
    and ordered_at >= coalesce(placed_from, '-infinity'::timestamptz)
    and coalesce(updated_at, ordered_at) < as_of_end
qualify row_number() over (
    partition by order_id
    order by _partition_date desc, coalesce(updated_at, ordered_at) desc, _source_file desc, _source_row desc
) = 1
