insert into {table} ({column_list}, _partition_date, _source_file, _source_row)
select
    {column_list},
    ?::date as _partition_date,
    _source_file,
    _source_row
from landing_typed
where _reject_reason is null
order by _source_file, _source_row
