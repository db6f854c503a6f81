insert into quality.quarantine
select
    ? as source,
    ?::date as partition_date,
    'ingestion' as stage,
    _source_file as source_file,
    _source_row as source_row,
    _reject_rule as rule,
    _reject_reason as reason,
    _original_row as original_row,
    now() as quarantined_at
from landing_typed
where _reject_reason is not null
order by _source_file, _source_row
