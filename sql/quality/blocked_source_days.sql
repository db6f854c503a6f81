-- The days $first_day..$last_day a source blocks (quality.day_status), with the reasons:
-- clean.<source> gets no rows for them.
select
    as_of_date,
    reasons
from quality.day_status
where source = $source
    and blocked
    and as_of_date between $first_day and $last_day
order by as_of_date
