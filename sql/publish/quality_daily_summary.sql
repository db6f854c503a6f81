-- quality.daily_summary of the BI layer: one row per source of the contracts for landing day $day,
-- from the load record (quality.landing_loads), the quarantine (quality.quarantine) and clean.<source>.
-- The clean_rows block is filled in by lifecycle_pipeline/publish.py: one
--   select '<source>' as source, count(*) as rows_clean from clean."<source>" where _partition_date = $day
-- per source contract, joined by union all (identifiers from contracts.py, never from data).
with sources as (
    select unnest($sources::varchar[]) as source
),
loads as (
    select source, files, rows_read, rows_loaded, rows_quarantined, loaded_at
    from quality.landing_loads
    where partition_date = $day
),
quarantined as (
    select
        source,
        count(*) filter (where stage = 'validation') as rows_quarantined_validation,
        list(distinct rule order by rule) as rules
    from quality.quarantine
    where partition_date = $day
    group by source
),
clean_rows as (
    {clean_counts}
)
select
    $day::date as as_of_date,
    s.source,
    l.files,
    l.rows_read,
    l.rows_loaded,
    l.rows_quarantined as rows_quarantined_ingestion,
    coalesce(q.rows_quarantined_validation, 0) as rows_quarantined_validation,
    c.rows_clean,
    coalesce(q.rules, []::varchar[]) as quarantine_rules,
    l.loaded_at
from sources as s
left join loads as l on l.source = s.source
left join quarantined as q on q.source = s.source
left join clean_rows as c on c.source = s.source
order by s.source
