-- Maps one user export onto a source contract (columns renamed, values recoded, every
-- timestamp normalised to UTC ISO-8601) and computes each row's landing day in the
-- business time zone from the contract's day columns.
select
    {mapped_columns},
    {day_expression} as _landing_day,
    row_number() over () as _export_row
from {reader}
