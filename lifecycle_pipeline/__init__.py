"""lifecycle-pipeline: daily customer-lifecycle assets on Dagster + DuckDB."""
