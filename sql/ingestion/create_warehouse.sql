-- Schemas of the warehouse and the quarantine table shared by every stage that can
-- reject rows. Idempotent: runs before every load.
create schema if not exists raw;
create schema if not exists quality;

create table if not exists quality.quarantine (
    source          varchar     not null,  -- landing source (orders, events, ...)
    partition_date  date        not null,  -- landing day the row came from
    stage           varchar     not null,  -- 'ingestion' (could not be loaded) or 'validation' (GX rules)
    source_file     varchar,               -- landing file path
    source_row      bigint,                -- 1-based data row within that file (blank lines not counted)
    rule            varchar     not null,  -- rule name: type_cast, csv_format, encoding, or the GX rules
    reason          varchar     not null,  -- human-readable reason
    original_row    json        not null,  -- the row as landed, all values as text ({line, text} for a malformed line)
    quarantined_at  timestamptz not null
);

create table if not exists quality.landing_loads (
    source            varchar     not null,  -- landing source
    partition_date    date        not null,  -- landing day
    files             integer     not null,  -- files found (0 = nothing arrived)
    rows_read         bigint      not null,  -- data rows in the files
    rows_loaded       bigint      not null,  -- rows in raw.<source> for the day
    rows_quarantined  bigint      not null,  -- rows rejected at load (type_cast, csv_format, encoding)
    loaded_at         timestamptz not null,
    primary key (source, partition_date)
);
