delete from {table} where _partition_date = ?::date
