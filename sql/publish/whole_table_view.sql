-- A published whole (not day-partitioned) table of the BI file, e.g. lifecycle.stage_history:
-- the rows of the one file the newest manifest names (placeholders as in daily_table_view.sql).
create view {view} as
select {columns}
from read_parquet({files}) as d
semi join (
    select publish_id
    from read_parquet({manifests})
    where table_name = {table} and as_of_date is null
    qualify manifest_id = max(manifest_id) over ()
) as m
    on d._publish_id = m.publish_id
