-- Rows read per landing day for the trailing window before $day (days with a file only).
select
    partition_date,
    files,
    rows_read
from quality.landing_loads
where source = $source
    and partition_date < $day
    and partition_date >= $day - to_days($history_days)
    and files > 0
order by partition_date
