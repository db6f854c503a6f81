-- clean.<source> for the days $first_day..$last_day: the loaded rows minus those the
-- validation quarantined. Runs inside one transaction with the delete.
insert into clean.{table}
select r.*
from raw.{table} as r
where r._partition_date between $first_day and $last_day
    and not exists (
        select 1
        from quality.quarantine as q
        where q.source = $source
            and q.stage = 'validation'
            and q.partition_date = r._partition_date
            and q.source_file = r._source_file
            and q.source_row = r._source_row
    )
order by r._partition_date, r._source_file, r._source_row
