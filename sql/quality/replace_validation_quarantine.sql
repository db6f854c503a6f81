-- Rows that failed critical rules, with every failed rule and reason, and the row as
-- loaded. `failures` is a small frame of (source_file, source_row, rule, reason).
insert into quality.quarantine
select
    $source as source,
    r._partition_date as partition_date,
    'validation' as stage,
    r._source_file as source_file,
    r._source_row as source_row,
    f.rule,
    f.reason,
    to_json(struct_pack({columns})) as original_row,
    now() as quarantined_at
from raw.{table} as r
inner join failures as f
    on r._source_file = f.source_file
    and r._source_row = f.source_row
where r._partition_date between $first_day and $last_day
order by r._partition_date, r._source_file, r._source_row
