-- clean.<source> for the days $first_day..$last_day: the loaded rows minus those the
-- validation quarantined, and nothing for a day the source blocks (quality.day_status).
-- Runs inside one transaction with the delete.
insert into clean.{table}
select r.*
from raw.{table} as r
where r._partition_date between $first_day and $last_day
    and r._partition_date not in (
        select s.as_of_date
        from quality.day_status as s
        where s.source = $source
            and s.blocked
            and s.as_of_date between $first_day and $last_day
    )
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
