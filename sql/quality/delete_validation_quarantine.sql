delete from quality.quarantine
where source = $source
    and stage = 'validation'
    and partition_date between $first_day and $last_day
