-- What changed in the orders on $as_of, as temporary tables the order state reads
-- (customer_order_state.sql, customer_order_state_carry.sql). An order version is new on
-- $as_of when it is visible at the end of $as_of (landed in a partition <= $as_of, placed
-- and updated before $as_of_end) but was not at the end of the day before ($previous_end):
-- it landed today, or its timestamps only now fall before the day's end. Each condition is a
-- range on one column, so DuckDB's zone maps skip the rest of the order history.
create or replace temp table changed_customers as
with new_versions as (
    select order_id
    from clean.orders
    where _partition_date = $as_of
        and ordered_at < $as_of_end
        and coalesce(updated_at, ordered_at) < $as_of_end
    union all
    select order_id
    from clean.orders
    where _partition_date < $as_of
        and ordered_at >= $previous_end
        and ordered_at < $as_of_end
        and coalesce(updated_at, ordered_at) < $as_of_end
    union all
    select order_id
    from clean.orders
    where _partition_date < $as_of
        and updated_at >= $previous_end
        and updated_at < $as_of_end
        and ordered_at < $as_of_end
)

select distinct customer_id
from clean.orders
where _partition_date <= $as_of
    and order_id in (select order_id from new_versions);

-- every version of every order any changed customer ever had (an order that moved between
-- customers counts for both)
create or replace temp table changed_order_versions as
select *
from clean.orders
where _partition_date <= $as_of
    and order_id in (
        select order_id
        from clean.orders
        where _partition_date <= $as_of
            and customer_id in (select customer_id from changed_customers)
    );

-- every version of the orders that have a version placed on one of the three window-edge days
create or replace temp table edge_order_versions as
with edge_orders as (
    select order_id
    from clean.orders
    where ordered_at >= ($as_of::date - $rfm_window_days)::timestamptz
        and ordered_at < ($as_of::date - $rfm_window_days + 1)::timestamptz
    union all
    select order_id
    from clean.orders
    where ordered_at >= ($as_of::date - $recent_days)::timestamptz
        and ordered_at < ($as_of::date - $recent_days + 1)::timestamptz
    union all
    select order_id
    from clean.orders
    where ordered_at >= ($as_of::date - ($recent_days + $baseline_days))::timestamptz
        and ordered_at < ($as_of::date - ($recent_days + $baseline_days) + 1)::timestamptz
)

select *
from clean.orders
where _partition_date <= $as_of
    and order_id in (select order_id from edge_orders)
