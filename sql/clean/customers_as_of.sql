-- clean.customers_as_of(as_of, as_of_end): each customer's latest record as known at the end
-- of business day `as_of` (landed in partitions <= as_of, signed up before `as_of_end`, the
-- first instant after the day). A later record (consent change, new email) replaces an
-- earlier one; ties go to the later file and row. Used by scoring and outreach, and by BI:
--   select * from clean.customers_as_of(date '2026-11-24', timestamptz '2026-11-25 00:00:00+00')
create or replace macro clean.customers_as_of(as_of, as_of_end) as table
select *
from clean.customers
where _partition_date <= as_of
    and signup_at < as_of_end
qualify row_number() over (
    partition by customer_id
    order by _partition_date desc, coalesce(updated_at, signup_at) desc, _source_file desc, _source_row desc
) = 1
