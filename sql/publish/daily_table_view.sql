-- A published daily table of the BI file: the rows of every day whose file the newest manifest names.
-- Placeholders (filled by lifecycle_pipeline/publish.py from code, paths quoted as literals):
-- view, columns (cast to the dictionary types), files (glob of the table's day folders),
-- manifests (glob of manifest/*.parquet), table (the published table's name), current_only
-- (restricts the manifest to its published_through day for the *_current views).
-- A day folder can hold several files (the current one and superseded ones kept for readers
-- mid-query); a row shows only when its _publish_id is the one the newest manifest names for its
-- day, so a day is seen whole (one version) or not at all. union_by_name: a day published before a
-- column was added to its table (an upgrade) shows NULL in it until the day is republished.
create view {view} as
select {columns}
from read_parquet({files}, hive_partitioning = true, hive_types = {{'as_of_date': 'DATE'}}, union_by_name = true) as d
semi join (
    select as_of_date, publish_id
    from (
        select as_of_date, publish_id, published_through
        from read_parquet({manifests})
        where table_name = {table}
        qualify manifest_id = max(manifest_id) over ()
    )
    where true{current_only}
) as m
    on d.as_of_date = m.as_of_date and d._publish_id = m.publish_id
