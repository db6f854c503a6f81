"""Content fingerprints of the warehouse tables and the export files: compare two runs exactly.

``lifecycle-pipeline fingerprint`` prints one line per table (rows and an order-independent
MD5 of every row) and one for the export tree. Two warehouses built from the same landing
files must print the same lines for every derived table, whatever order the days were
computed in, whether a run was killed and re-run, or a past day was restated and
propagated; the tests use it that way.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from lifecycle_pipeline.db import quote_ident

# written with run-specific values (load times, publish ids, whether a day's order state was built
# incrementally or from scratch): excluded from comparisons by default
RUN_SPECIFIC = ("quality.landing_loads", "quality.day_status", "quality.quarantine", "clean.partition_loads",
                "scoring.customer_state_days")
# the landing file's absolute path: two copies of the same landing files differ only in it; and the time
# a computation took (scoring.clv_model_fits.seconds), which no two machines or runs share
IGNORED_COLUMNS = ("_source_file", "seconds")


def table_fingerprints(
    conn: duckdb.DuckDBPyConnection,
    schemas: tuple[str, ...] | None = None,
    exclude: tuple[str, ...] = RUN_SPECIFIC,
    ignore_columns: tuple[str, ...] = IGNORED_COLUMNS,
) -> dict[str, tuple[int, str]]:
    """``{schema.table: (rows, md5)}`` for every table (not view) in ``schemas`` (default: all), each row
    hashed without ``ignore_columns``."""
    tables = conn.execute(
        "select schema_name, table_name from duckdb_tables() where not internal and not temporary order by 1, 2"
    ).fetchall()
    result = {}
    for schema, table in tables:
        name = f"{schema}.{table}"
        if (schemas is not None and schema not in schemas) or name in exclude:
            continue
        ident = f"{quote_ident(schema)}.{quote_ident(table)}"
        columns = [r[0] for r in conn.execute(f"describe {ident}").fetchall()]
        kept = ", ".join(quote_ident(c) for c in columns if c not in ignore_columns)
        rows, digest = conn.execute(
            f"select count(*), md5(coalesce(string_agg(h, '' order by h), '')) "
            f"from (select md5(t::varchar) as h from (select {kept} from {ident}) as t)"
        ).fetchall()[0]
        result[name] = (rows, digest)
    return result


def tree_fingerprint(root: Path | str) -> tuple[int, str]:
    """(files, md5 over every file's relative path and bytes) of a folder; hidden temp folders count too."""
    root = Path(root)
    digest = hashlib.md5()
    files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(hashlib.md5(path.read_bytes()).digest())
    return len(files), digest.hexdigest()
