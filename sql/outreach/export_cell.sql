-- export_cell(value): one cell of a campaign export file (lifecycle_pipeline/outreach/exports.py).
-- NULL and '' become an empty cell (written without quotes); a cell a spreadsheet would run as a
-- formula gets a leading apostrophe (OWASP, CSV injection): it starts with = @ tab or CR, or with
-- + or - and is not a plain number or phone number (+44 20 7946 0958, -12.5; one trailing newline
-- allowed). Dates are written as YYYY-MM-DD.
create or replace temp macro export_cell(value) as (
    case
        when nullif(value::varchar, '') is null then null
        when regexp_matches(value::varchar, '^[=@\t\r]')
            or (regexp_matches(value::varchar, '^[+-]')
                and not regexp_full_match((value::varchar)[2:], '[0-9 ().\-/]*\n?'))
            then '''' || value::varchar
        else value::varchar
    end
)
