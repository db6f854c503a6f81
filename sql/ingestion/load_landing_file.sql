-- Reads one landing file (every value as text, with its 1-based data row `_source_row`),
-- casts it to the source contract and records, per row, why it cannot be loaded (NULL
-- when it can). Rows that fail a cast keep their original text so they can be
-- quarantined exactly as they arrived. {reader} reads the file named by $path.
insert into landing_typed
with landed as (
    select *
    from {reader}
),

typed as (
    select
        {typed_columns},
        _source_row,
        {reject_reason} as _reject_reason,
        landed as _landed
    from landed
)

select
    {column_list},
    $path::varchar as _source_file,
    _source_row,
    case when _reject_reason is not null then 'type_cast' end as _reject_rule,
    _reject_reason,
    case when _reject_reason is not null then to_json(_landed) end as _original_row
from typed
