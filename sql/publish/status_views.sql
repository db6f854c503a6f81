-- The bi schema of the BI file: what is published, from the newest manifest. Placeholders:
-- manifests (glob of manifest/*.parquet) and daily_tables (how many tables are published per
-- day; a day is complete when all of them are).
create view bi.manifest as
select manifest_id, table_name, as_of_date, publish_id, file, rows, bytes, published_at, published_through
from read_parquet({manifests})
qualify manifest_id = max(manifest_id) over ();

create view bi.published_days as
select
    as_of_date,
    count(*) as tables_published,
    count(*) = {daily_tables} as complete,
    sum(rows) as rows,
    max(publish_id) as publish_id,
    max(published_at) as published_at
from (
    select * from read_parquet({manifests})
    qualify manifest_id = max(manifest_id) over ()
)
where as_of_date is not null
group by as_of_date
order by as_of_date;

create view bi.publish_status as
select
    max(published_through) as published_through,
    count(distinct as_of_date) as days_published,
    min(as_of_date) as first_day,
    max(as_of_date) as last_day,
    max(manifest_id) as manifest_id,
    max(published_at) as last_published_at
from (
    select * from read_parquet({manifests})
    qualify manifest_id = max(manifest_id) over ()
)
