delete from quality.quarantine
where source = ?
    and partition_date = ?::date
    and stage = ?
